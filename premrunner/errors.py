"""One error shape for every API surface: OpenAI's `{"error": {message, type, param, code}}`."""

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from ollama_bridge.errors import (
    ModelNotFound,
    OllamaBadRequest,
    OllamaError,
    OllamaUnavailable,
    OllamaUpstreamError,
)

logger = logging.getLogger(__name__)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    502: "api_error",
    503: "service_unavailable",
    507: "server_error",
}


class ApiError(Exception):
    """An error an API view raises to answer with `status` and OpenAI's error shape."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.param = param


def error_body(
    message: str, *, status: int, code: str | None = None, param: str | None = None
) -> dict:
    """The JSON body of an error answer."""
    return {
        "error": {
            "message": message,
            "type": ERROR_TYPES.get(
                status, "server_error" if status >= 500 else "invalid_request_error"
            ),
            "param": param,
            "code": code,
        }
    }


def error_response(
    message: str, *, status: int, code: str | None = None, param: str | None = None
) -> JsonResponse:
    """A JsonResponse carrying `error_body`."""
    return JsonResponse(error_body(message, status=status, code=code, param=param), status=status)


def api_error_from_exception(exc: Exception) -> ApiError | None:
    """Map an exception the API knows about onto an ApiError; None for an unexpected one."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return ApiError("The request body is too large.", status=413, code="request_too_large")
    if isinstance(exc, ModelNotFound):
        return ApiError(exc.message, status=404, code="model_not_found", param="model")
    if isinstance(exc, OllamaUnavailable):
        return ApiError(exc.message, status=503, code="ollama_unavailable")
    if isinstance(exc, OllamaBadRequest):
        return ApiError(exc.message, status=400, code="ollama_bad_request")
    if isinstance(exc, OllamaUpstreamError | OllamaError):
        return ApiError(exc.message, status=502, code="ollama_error")
    return None


def _drf_error_message(detail) -> str:
    """Flatten DRF's nested validation detail into one readable sentence."""
    if isinstance(detail, dict):
        parts = []
        for field, value in detail.items():
            text = _drf_error_message(value)
            parts.append(text if field == "non_field_errors" else f"{field}: {text}")
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(_drf_error_message(item) for item in detail)
    return str(detail)


def api_exception_handler(exc: Exception, context: dict) -> JsonResponse | None:
    """DRF's exception handler: every error leaves in OpenAI's shape."""
    api_error = api_error_from_exception(exc)
    if api_error is not None:
        return error_response(
            api_error.message, status=api_error.status, code=api_error.code, param=api_error.param
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: ApiErrorMiddleware logs it and answers a generic 500
    param = None
    if isinstance(exc, drf_exceptions.ValidationError) and isinstance(exc.detail, dict):
        param = next(iter(exc.detail), None)
        if param == "non_field_errors":
            param = None
    code = getattr(exc, "default_code", None)
    return error_response(
        _drf_error_message(getattr(exc, "detail", str(exc))),
        status=response.status_code,
        code=code,
        param=param,
    )
