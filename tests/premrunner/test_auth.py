"""One bearer-token rule guards every /api and /v1 route; a few routes are public."""

import pytest

from tests.support.server import TEST_TOKEN

pytestmark = pytest.mark.django_db

GUARDED = [
    "/api/hello",
    "/v1/models",
    "/api/v1/models",
    "/v1/anything-at-all",
    "/api/ollama/status",
]


@pytest.mark.parametrize("path", GUARDED)
def test_guarded_routes_refuse_a_missing_token_in_openai_error_shape(client, path):
    response = client.get(path)
    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "missing_api_key"


@pytest.mark.parametrize("path", GUARDED)
def test_guarded_routes_refuse_a_wrong_token(client, path):
    response = client.get(path, headers={"Authorization": "Bearer wrong-token-123"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_a_token_with_another_scheme_is_refused(client):
    response = client.get("/api/hello", headers={"Authorization": f"Basic {TEST_TOKEN}"})
    assert response.status_code == 401


def test_the_right_token_opens_the_api(client, auth_headers):
    response = client.get("/api/hello", headers=auth_headers)
    assert response.status_code == 200
    assert response.json() == {"message": "Hello from PremRunner"}


@pytest.mark.anyio
async def test_the_rule_holds_on_the_async_request_path(async_client, auth_headers):
    assert (await async_client.get("/api/hello")).status_code == 401
    assert (await async_client.get("/api/hello", headers=auth_headers)).status_code == 200


def test_verify_accepts_the_right_token_without_auth(client):
    response = client.post(
        "/api/auth/verify", {"token": TEST_TOKEN}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json() == {"success": True}


@pytest.mark.parametrize("body", ['{"token": "not-the-token"}', "{}", "not json", '{"token": 5}'])
def test_verify_refuses_anything_else_with_401_json(client, body):
    response = client.post("/api/auth/verify", body, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid token."


def test_healthz_and_the_web_page_need_no_token(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 200


def test_admin_uses_ordinary_django_users(client, admin_client):
    assert client.get("/admin/").status_code == 302  # to the login page
    assert admin_client.get("/admin/").status_code == 200
