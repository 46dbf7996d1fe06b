"""Reading JSON request bodies in plain (non-DRF) views with the API's error answers."""

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from premrunner.errors import ApiError


def parse_json_object(request: HttpRequest) -> dict:
    """The request's JSON object body.

    Raises ApiError 413 for a body over MAX_JSON_BODY_SIZE, 400 for an empty, malformed or
    non-object body.
    """
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > settings.MAX_JSON_BODY_SIZE:
        raise _too_large()
    try:
        raw = request.body
    except RequestDataTooBig:
        raise _too_large() from None
    if not raw.strip():
        raise ApiError("The request body is empty; send a JSON object.")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(body, dict):
        raise ApiError("The request body must be a JSON object.")
    return body


def _too_large() -> ApiError:
    limit_mb = settings.MAX_JSON_BODY_SIZE // (1024 * 1024)
    return ApiError(
        f"The request body is larger than the {limit_mb} MB limit.",
        status=413,
        code="request_too_large",
    )
