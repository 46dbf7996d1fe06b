"""Project-wide HTTP middleware: the bearer-token guard and JSON errors for API clients."""

import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from premrunner.auth import bearer_token, path_needs_token, token_is_valid
from premrunner.errors import api_error_from_exception, error_response

logger = logging.getLogger(__name__)


class _HybridMiddleware:
    """Base for middleware that runs natively in both the sync and the async request path."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        early = self.before(request)
        return early if early is not None else self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        early = self.before(request)
        return early if early is not None else await self.get_response(request)

    def before(self, request: HttpRequest) -> HttpResponse | None:
        """Answer the request early, or return None to let it through."""
        return None


class BearerTokenMiddleware(_HybridMiddleware):
    """Every /api/* and /v1/* route needs `Authorization: Bearer <AUTH_TOKEN>`."""

    def before(self, request: HttpRequest) -> HttpResponse | None:
        if not path_needs_token(request.path):
            return None
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            return error_response(
                "Missing bearer token: send 'Authorization: Bearer <AUTH_TOKEN>'.",
                status=401,
                code="missing_api_key",
            )
        if not token_is_valid(token):
            return error_response("Invalid bearer token.", status=401, code="invalid_api_key")
        return None


class ApiErrorMiddleware(_HybridMiddleware):
    """API clients never see an HTML page: known errors keep their status, others are 500 JSON."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not path_needs_token(request.path) and not request.path.startswith("/api/"):
            return None
        api_error = api_error_from_exception(exception)
        if api_error is not None:
            return error_response(
                api_error.message,
                status=api_error.status,
                code=api_error.code,
                param=api_error.param,
            )
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(
            "The server failed to answer this request; the details are in its log.",
            status=500,
            code="internal_error",
        )
