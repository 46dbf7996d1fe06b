"""Django's own middleware, in the forms that add no thread hops to API calls.

On the async path API calls skip the browser-page middleware (session, user, messages, CSRF) and
run the header-only ones inline; browser pages keep all of it.
"""

import pytest
from django.test import AsyncClient

pytestmark = [pytest.mark.django_db, pytest.mark.anyio]


async def test_api_answers_keep_the_security_headers(async_client, auth_headers):
    response = await async_client.get("/api/hello", headers=auth_headers)
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert not response.cookies


async def test_the_admin_login_page_still_gets_its_csrf_cookie(async_client):
    response = await async_client.get("/admin/login/")
    assert response.status_code == 200
    assert "csrftoken" in response.cookies
    assert response["X-Frame-Options"] == "DENY"


async def test_the_admin_still_refuses_a_post_without_its_csrf_token():
    client = AsyncClient(enforce_csrf_checks=True)
    response = await client.post("/admin/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403
