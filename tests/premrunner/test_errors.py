"""API clients never see an HTML page: 404, 405 and 500 answer in OpenAI's error shape."""

import logging

import pytest
from django.urls import path

from premrunner.urls import urlpatterns as project_urlpatterns

pytestmark = pytest.mark.django_db


def explode(request):
    raise RuntimeError("secret internal detail")


# The project's routes plus one that fails, to see what a server error looks like to a client.
urlpatterns = [path("api/explode", explode), *project_urlpatterns]


@pytest.mark.parametrize("path", ["/v1/no-such-thing", "/api/no/such/thing", "/api/v1/nope"])
def test_unknown_api_routes_answer_404_json(client, auth_headers, path):
    response = client.get(path, headers=auth_headers)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_a_wrong_method_is_not_an_html_page(client, auth_headers):
    response = client.get("/api/auth/verify", headers=auth_headers)
    assert response.status_code == 405
    assert b"<html" not in response.content.lower()


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("get", "/v1/chat/completions", "POST"),  # a plain view under require_POST
        ("put", "/api/v1/models/up", "POST"),
        ("post", "/api/chat/history", "GET, DELETE"),
    ],
)
def test_a_wrong_method_on_a_plain_view_is_a_json_405(client, auth_headers, method, path, allowed):
    response = getattr(client, method)(path, headers=auth_headers)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    error = response.json()["error"]
    assert error["code"] == "method_not_allowed"
    assert allowed in error["message"]


@pytest.mark.urls(__name__)
def test_a_server_error_is_500_json_with_details_only_in_the_log(client, auth_headers, caplog):
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/explode", headers=auth_headers)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret internal detail" not in response.content.decode()
    assert "secret internal detail" in caplog.text


@pytest.mark.parametrize(
    "path",
    [
        "/v1/chat/completions",  # a plain async view
        "/v1/chunked-upload/start",  # a DRF view
    ],
)
def test_malformed_json_is_a_400_in_openai_error_shape(client, auth_headers, path):
    response = client.post(path, "{not json", content_type="application/json", headers=auth_headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "JSON" in error["message"]


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/chunked-upload/start"])
def test_json_nested_too_deeply_is_a_400(client, auth_headers, path):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post(path, body, content_type="application/json", headers=auth_headers)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('{"messages": [], "temperature": NaN}', "NaN"),
        ('{"messages": [], "temperature": -Infinity}', "Infinity"),
        ('{"messages": [{"role": "user", "content": "x\\ud800"}]}', "surrogate"),
    ],
)
def test_json_that_cannot_be_stored_or_forwarded_is_a_400(client, auth_headers, body, words):
    response = client.post(
        "/v1/chat/completions", body, content_type="application/json", headers=auth_headers
    )
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]


def test_escaped_surrogate_pairs_are_ordinary_text(client, auth_headers):
    response = client.post(
        "/v1/chat/completions",
        '{"model": 5, "messages": [{"role": "user", "content": "\\ud83d\\ude00"}]}',
        content_type="application/json",
        headers=auth_headers,
    )
    assert response.json()["error"]["param"] == "model"
