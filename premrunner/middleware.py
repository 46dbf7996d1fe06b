"""Project-wide HTTP middleware: the bearer-token guard, JSON errors for API clients, and Django's
own middleware in forms that add no thread hops to API calls."""

import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as message_middleware
from django.contrib.sessions import middleware as session_middleware
from django.http import HttpRequest, HttpResponse
from django.middleware import clickjacking, common, csrf, security

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
        return early if early is not None else self.after(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        early = self.before(request)
        if early is not None:
            return early
        return self.after(request, await self.get_response(request))

    def before(self, request: HttpRequest) -> HttpResponse | None:
        """Answer the request early, or return None to let it through."""
        return None

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """The response to send instead of the view's (by default, the view's own)."""
        return response


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


def _is_api(request: HttpRequest) -> bool:
    return path_needs_token(request.path) or request.path.startswith("/api/")


class ApiErrorMiddleware(_HybridMiddleware):
    """API clients never see an HTML page: known errors keep their status, others are 500 JSON."""

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Django's `require_POST` & co. answer a wrong method with an empty 405: say it in JSON."""
        if response.status_code != 405 or not _is_api(request) or response.content:
            return response
        answer = error_response(
            f"Method {request.method} is not allowed here; use {response['Allow']}.",
            status=405,
            code="method_not_allowed",
        )
        answer["Allow"] = response["Allow"]
        return answer

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _is_api(request):
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


# -- Django's own middleware, without thread hops on API calls ---------------------------------
#
# Under ASGI, Django's MiddlewareMixin runs every hook through sync_to_async: two thread hops per
# middleware per request, most of what an API call costs on a small machine. Hooks that only
# read and write headers run inline; the ones that serve browser pages (session, user, messages,
# CSRF cookie) are skipped on API paths, which authenticate with the bearer token alone.


class _InlineHooks:
    """Runs a header-only middleware's hooks on the event loop (they do no I/O)."""

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        response = self.process_request(request) if hasattr(self, "process_request") else None
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class _BrowserOnly:
    """Skips a browser-page middleware on token-guarded API paths."""

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if path_needs_token(request.path):
            return await self.get_response(request)
        return await super().__acall__(request)


class SecurityMiddleware(_InlineHooks, security.SecurityMiddleware):
    pass


class CommonMiddleware(_InlineHooks, common.CommonMiddleware):
    pass


class XFrameOptionsMiddleware(_InlineHooks, clickjacking.XFrameOptionsMiddleware):
    pass


class SessionMiddleware(_BrowserOnly, session_middleware.SessionMiddleware):
    pass


class AuthenticationMiddleware(_BrowserOnly, auth_middleware.AuthenticationMiddleware):
    pass


class MessageMiddleware(_BrowserOnly, message_middleware.MessageMiddleware):
    pass


class CsrfViewMiddleware(_BrowserOnly, csrf.CsrfViewMiddleware):
    async def process_view(
        self, request: HttpRequest, callback, callback_args, callback_kwargs
    ) -> HttpResponse | None:
        """The CSRF check, for browser pages only: a bearer token is not a cookie to forge."""
        if path_needs_token(request.path):
            return None
        return await sync_to_async(super().process_view)(
            request, callback, callback_args, callback_kwargs
        )
