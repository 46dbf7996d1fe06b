"""Project-level views: health, the token check, the API's 404 and the single-page app."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from premrunner.auth import token_is_valid
from premrunner.errors import error_response
from premrunner.openapi import api_operation, error_responses


@api_operation(
    "get",
    operation_id="health",
    auth=[],
    responses={200: inline_serializer("Health", {"status": serializers.CharField()})},
    tags=["server"],
)
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness of PremRunner itself (Ollama's state is /api/ollama/status)."""
    return JsonResponse({"status": "ok"})


@api_operation(
    "get",
    operation_id="hello",
    responses={
        200: inline_serializer("Hello", {"message": serializers.CharField()}),
        **error_responses(401),
    },
    tags=["server"],
)
@require_GET
def hello(request: HttpRequest) -> JsonResponse:
    """A token-protected greeting that proves the API answers."""
    return JsonResponse({"message": "Hello from PremRunner"})


@api_operation(
    "post",
    operation_id="verifyToken",
    auth=[],
    request=inline_serializer("TokenCheck", {"token": serializers.CharField()}),
    responses={
        200: inline_serializer("TokenValid", {"success": serializers.BooleanField()}),
        **error_responses(401),
    },
    tags=["server"],
)
@csrf_exempt
@require_POST
def verify_token(request: HttpRequest) -> JsonResponse:
    """Check a token the web UI was given: 200 `{"success": true}` or 401."""
    try:
        token = json.loads(request.body or b"{}").get("token")
    except (ValueError, AttributeError):
        token = None
    if isinstance(token, str) and token_is_valid(token):
        return JsonResponse({"success": True})
    return error_response("Invalid token.", status=401, code="invalid_api_key")


def api_not_found(request: HttpRequest) -> JsonResponse:
    """Unknown routes under /api and /v1 answer JSON, never Django's HTML page."""
    return error_response(
        f"Unknown API route: {request.method} {request.path}", status=404, code="not_found"
    )


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The single-page web UI."""
    return render(request, "index.html")
