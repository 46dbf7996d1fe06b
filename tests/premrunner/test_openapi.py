"""The OpenAPI schema describes the API and validates; the browsable docs need no network."""

import re

import pytest
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

KEY_PATHS = {
    "/v1/traces": {"get"},
    "/v1/traces/{trace_id}": {"get"},
    "/v1/traces/stats": {"get"},
}

# Anything the browser would fetch from another host: src, href, url(...) or import.
EXTERNAL_REFERENCE = re.compile(
    r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//"""
)


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/docs/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_served_without_a_token_and_is_valid_openapi(schema):
    validate_schema(schema)  # raises on any violation of the OpenAPI 3 schema
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "PremRunner API"


def test_the_schema_lists_the_key_paths(schema):
    for path, methods in KEY_PATHS.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path


def test_the_schema_declares_the_bearer_token_and_the_error_shape(schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    operation = schema["paths"]["/v1/traces/{trace_id}"]["get"]
    assert operation["security"] == [{"bearerAuth": []}]
    error = operation["responses"]["404"]
    assert error["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Error"


def test_the_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))


@pytest.mark.parametrize("page", ["/docs/", "/docs/redoc/"])
def test_the_browsable_docs_load_nothing_from_another_host(client, page):
    response = client.get(page)

    assert response.status_code == 200
    html = response.content.decode()
    assert "/docs/openapi.json" in html
    assert "/static/drf_spectacular_sidecar/" in html
    assert not EXTERNAL_REFERENCE.search(html), EXTERNAL_REFERENCE.search(html)


def test_the_docs_assets_are_served_by_the_running_server(live_server):
    session = live_server.session()
    html = session.get(f"{live_server.url}/docs/").text
    assets = re.findall(r"""(?:src|href)="(/static/[^"]+)""", html)

    assert len(assets) >= 3  # the Swagger UI bundle, its preset and its stylesheet
    for asset in assets:
        response = session.get(f"{live_server.url}{asset}")
        assert response.status_code == 200, asset
