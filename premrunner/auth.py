"""The one bearer-token rule, shared by HTTP middleware, DRF views and WebSockets."""

import hmac
from urllib.parse import parse_qs

from django.conf import settings

# Routes under these prefixes need the token.
PROTECTED_PREFIXES = ("/api/", "/v1/")
# Routes under those prefixes that answer without it.
PUBLIC_PATHS = frozenset({"/api/auth/verify"})


def token_is_valid(token: str | None) -> bool:
    """True when `token` equals AUTH_TOKEN, compared in constant time."""
    expected = settings.AUTH_TOKEN
    if not token or not expected:
        return False
    return hmac.compare_digest(token.encode(), expected.encode())


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def path_needs_token(path: str) -> bool:
    """True for every API path except the few that are public."""
    return path.startswith(PROTECTED_PREFIXES) and path.rstrip("/") not in PUBLIC_PATHS


def websocket_token(scope: dict) -> str | None:
    """The token a WebSocket client offers: an Authorization header, or `?token=` for browsers."""
    headers = dict(scope.get("headers") or [])
    from_header = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
    if from_header:
        return from_header
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return (query.get("token") or [None])[0]
