"""Configuration guards: bad settings stop `serve` with one line that says what to fix."""

from django.conf import settings


def auth_token_problem() -> str | None:
    """What is wrong with AUTH_TOKEN, or None when it is usable."""
    token = settings.AUTH_TOKEN
    if not token:
        return (
            "AUTH_TOKEN is not set: set AUTH_TOKEN (at least "
            f"{settings.AUTH_TOKEN_MIN_LENGTH} characters) in the environment or in .env."
        )
    if len(token) < settings.AUTH_TOKEN_MIN_LENGTH:
        return (
            f"AUTH_TOKEN is too short ({len(token)} characters): set one of at least "
            f"{settings.AUTH_TOKEN_MIN_LENGTH} characters."
        )
    return None
