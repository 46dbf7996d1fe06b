"""Reading JSON request bodies in plain (non-DRF) views with the API's error answers."""

import json
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from premrunner.errors import ApiError


def parse_json_object(request: HttpRequest) -> dict:
    """The request's JSON object body.

    Raises ApiError 413 for a body over MAX_JSON_BODY_SIZE, 400 for an empty, malformed or
    non-object body, and for what JSON allows but nothing downstream can store or send: NaN and
    Infinity, lone UTF-16 surrogates, nesting deeper than Python's recursion limit.
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
        body = json.loads(raw, parse_constant=_reject_constant)
        if _SURROGATE_ESCAPE.search(raw):
            json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise ApiError(
            "The request body holds a lone UTF-16 surrogate escape (\\uD800-\\uDFFF)."
        ) from None
    except ValueError as exc:
        raise ApiError(f"The request body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise ApiError("The request body is not valid JSON: it is nested too deeply.") from None
    if not isinstance(body, dict):
        raise ApiError("The request body must be a JSON object.")
    return body


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
"""A `\\uD800`-`\\uDFFF` escape: the body may hold a lone surrogate, which UTF-8 cannot encode."""


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _too_large() -> ApiError:
    limit_mb = settings.MAX_JSON_BODY_SIZE // (1024 * 1024)
    return ApiError(
        f"The request body is larger than the {limit_mb} MB limit.",
        status=413,
        code="request_too_large",
    )
