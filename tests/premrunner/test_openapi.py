"""The OpenAPI schema describes the API and validates; the browsable docs need no network."""

import re

import pytest
from django.core.management import call_command
from django.urls import URLResolver, get_resolver
from drf_spectacular.validation import validate_schema

KEY_PATHS = {
    "/v1/chat/completions": {"post"},
    "/api/v1/chat/completions": {"post"},
    "/v1/embeddings": {"post"},
    "/v1/models": {"get"},
    "/v1/models/{reference}": {"get", "delete"},
    "/api/v1/models": {"get"},
    "/api/v1/models/running": {"get"},
    "/api/v1/models/up": {"post"},
    "/api/v1/models/down": {"post"},
    "/api/chat/send": {"post"},
    "/api/chat/history": {"get", "delete"},
    "/v1/chunked-upload/start": {"post"},
    "/v1/models/upload": {"post"},
    "/api/ollama/status": {"get"},
    "/v1/traces": {"get"},
    "/v1/traces/{trace_id}": {"get"},
    "/v1/traces/stats": {"get"},
}


def routed_api_paths(patterns=None, prefix: str = "") -> set[str]:
    """Every named route under /api and /v1, spelled as OpenAPI paths."""
    paths = set()
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            paths |= routed_api_paths(pattern.url_patterns, route)
        elif pattern.name and route.startswith(("api/", "v1/")):
            paths.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
    return paths


# Anything the browser would fetch from another host: a src, an href or a CSS url(...).
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


def test_the_schema_describes_every_api_route(schema):
    assert routed_api_paths() == set(schema["paths"]) - {"/healthz"}


def test_only_the_health_check_and_the_token_check_need_no_token(schema):
    open_operations = {
        (path, method)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if not operation.get("security")
    }

    assert open_operations == {("/healthz", "get"), ("/api/auth/verify", "post")}


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


def test_the_docs_assets_are_served_by_the_running_server(premrunner_server):
    session = premrunner_server.session()
    html = session.get(f"{premrunner_server.url}/docs/").text
    assets = re.findall(r"""(?:src|href)="(/static/[^"]+)""", html)

    assert len(assets) >= 3  # the Swagger UI bundle, its preset and its stylesheet
    for asset in assets:
        response = session.get(f"{premrunner_server.url}{asset}")
        assert response.status_code == 200, asset
