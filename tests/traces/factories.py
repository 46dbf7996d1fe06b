"""Plain helpers that make traces for the traces tests."""

from datetime import UTC, datetime

from django.utils import timezone

from traces.models import Trace, TraceStatus


def make_trace(**overrides) -> Trace:
    """A saved trace of a successful chat call; keyword overrides change any field."""
    fields = {
        "endpoint": "/v1/chat/completions",
        "model": "tiny-llama",
        "input": [{"role": "user", "content": "Hello"}],
        "output": "Hi there",
        "prompt_tokens": 5,
        "completion_tokens": 3,
        "total_tokens": 8,
        "duration_ms": 120,
        "status": TraceStatus.SUCCESS,
        "created_at": timezone.now(),
    } | overrides
    return Trace.objects.create(**fields)


def at(text: str) -> datetime:
    """An aware UTC datetime from ISO text such as '2025-03-01 10:30'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
