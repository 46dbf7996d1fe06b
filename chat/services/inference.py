"""The one inference service: chat (whole or streamed), embeddings and model residency.

The OpenAI/Prem views and the web chat both call these functions, so every path runs the same
code and writes its trace the same way: exactly one trace per call, whatever happens (success,
Ollama's error, the client gone), recorded without making the client wait.
"""

import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async

from models_app.services import resolve_model_name
from ollama_bridge.client import get_async_client
from ollama_bridge.errors import OllamaError, OllamaUpstreamError
from ollama_bridge.names import same_model
from traces.models import TraceStatus
from traces.services import new_trace_id, record_trace

logger = logging.getLogger(__name__)

NANOSECONDS_PER_MS = 1_000_000


@dataclass
class InferenceCall:
    """What a trace needs to know about one call, gathered while it runs."""

    endpoint: str
    model: str
    input: Any
    request_params: dict
    stream: bool = False
    trace_id: str = field(default_factory=new_trace_id)
    started: float = field(default_factory=time.monotonic)

    def elapsed_ms(self) -> int:
        return round((time.monotonic() - self.started) * 1000)

    def record(
        self,
        *,
        status: str,
        output: str = "",
        answer: dict | None = None,
        ttft_ms: int | None = None,
        error: str = "",
    ) -> None:
        """Queue this call's trace; `answer` is Ollama's final line, with its counts and timings."""
        answer = answer or {}
        prompt_tokens = answer.get("prompt_eval_count")
        completion_tokens = answer.get("eval_count")
        total_tokens = None
        if prompt_tokens is not None or completion_tokens is not None:
            total_tokens = (prompt_tokens or 0) + (completion_tokens or 0)
        load_duration = answer.get("load_duration")
        eval_duration = answer.get("eval_duration")
        record_trace(
            trace_id=self.trace_id,
            endpoint=self.endpoint,
            model=self.model,
            input=self.input,
            output=output,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=total_tokens,
            duration_ms=self.elapsed_ms(),
            ttft_ms=ttft_ms,
            load_duration_ms=(
                round(load_duration / NANOSECONDS_PER_MS) if load_duration is not None else None
            ),
            tokens_per_second=(
                completion_tokens / (eval_duration / 1e9)
                if completion_tokens and eval_duration
                else None
            ),
            status=status,
            error=error,
            stream=self.stream,
            request_params=self.request_params,
        )


def _failure_status(exc: BaseException) -> tuple[str, str]:
    """(trace status, error text) for an exception that ended a call."""
    if isinstance(exc, OllamaError):
        return TraceStatus.ERROR, exc.message
    if isinstance(exc, Exception):
        return TraceStatus.ERROR, f"{type(exc).__name__}: {exc}"
    return TraceStatus.CANCELLED, "The client went away before the answer was complete."


# Resolved names are remembered for a moment: the lookup costs a thread hop and a database
# connection, a large part of what PremRunner adds to a call. A stale answer lasts at most
# RESOLVED_TTL seconds and at worst sends a name Ollama itself then answers for.
RESOLVED_TTL = 1.0
RESOLVED_MAX_ENTRIES = 1024
_resolved: dict[str, tuple[float, str]] = {}


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def resolve_model(requested: str | None) -> str:
    """The Ollama name for a request's `model` (see models_app.services.resolve_model_name).

    Raises what resolve_model_name raises. An id that names no uploaded model is never
    remembered, so a model is callable by id the moment its upload creates it.
    """
    if requested is not None and not isinstance(requested, str):
        return await sync_to_async(resolve_model_name)(requested)  # raises the 400
    key = (requested or "").strip()
    expires, name = _resolved.get(key, (0.0, ""))
    if expires > time.monotonic():
        return name
    name = await sync_to_async(resolve_model_name)(key or None)
    if not (name == key and _is_uuid(key)):
        if len(_resolved) >= RESOLVED_MAX_ENTRIES:
            _resolved.clear()
        _resolved[key] = (time.monotonic() + RESOLVED_TTL, name)
    return name


def reply_text(answer: dict) -> str:
    """The text of an Ollama chat answer, or its tool calls as JSON when it only called tools."""
    message = answer.get("message") or {}
    if message.get("content") or not message.get("tool_calls"):
        return message.get("content") or ""
    return json.dumps([call.get("function") for call in message["tool_calls"]])


async def complete_chat(*, call: InferenceCall, payload: dict) -> dict:
    """Ollama's whole answer to the `/api/chat` body `payload`; records the call's trace.

    Raises the ollama_bridge errors (ModelNotFound, OllamaUnavailable, ...) after tracing them.
    """
    try:
        answer = await get_async_client().chat(payload)
    except BaseException as exc:
        status, error = _failure_status(exc)
        call.record(status=status, error=error)
        raise
    call.record(status=TraceStatus.SUCCESS, output=reply_text(answer), answer=answer)
    return answer


async def open_chat_stream(*, call: InferenceCall, payload: dict) -> AsyncGenerator[dict, None]:
    """Start a streamed chat; return its native lines, the first one already received.

    Waiting for the first line here means that a failure before any output (unknown model,
    Ollama down) raises now, so the view answers it with a real status code. Closing the
    returned generator, or cancelling the task reading it, closes Ollama's stream, which stops
    generation. The trace is recorded when the stream ends, however it ends. Raises the
    ollama_bridge errors.
    """
    upstream = get_async_client().chat_stream(payload)
    try:
        first = await anext(upstream)
    except StopAsyncIteration:
        await upstream.aclose()
        exc = OllamaUpstreamError("Ollama ended the stream without an answer.")
        call.record(status=TraceStatus.ERROR, error=exc.message)
        raise exc from None
    except BaseException as exc:
        await upstream.aclose()
        status, error = _failure_status(exc)
        call.record(status=status, error=error)
        raise
    return _relay_stream(call=call, upstream=upstream, first=first)


async def _relay_stream(
    *, call: InferenceCall, upstream: AsyncGenerator[dict, None], first: dict
) -> AsyncGenerator[dict, None]:
    """Yield `first` and the rest of `upstream`, then record the trace with what was produced."""
    ttft_ms = call.elapsed_ms()
    parts: list[str] = []
    tool_calls: list[dict] = []
    final: dict | None = None
    status, error = TraceStatus.CANCELLED, "The client went away before the answer was complete."
    try:
        line: dict | None = first
        while line is not None:
            message = line.get("message") or {}
            parts.append(message.get("content") or "")
            tool_calls.extend(message.get("tool_calls") or [])
            if line.get("done"):
                final = line
            yield line
            # Read on to the end of Ollama's stream (just past the final line), so that the
            # connection finishes cleanly instead of being closed.
            line = await anext(upstream, None)
        if final is None:
            raise OllamaUpstreamError("Ollama ended the stream before the answer was complete.")
        status, error = TraceStatus.SUCCESS, ""
    except Exception as exc:
        status, error = _failure_status(exc)
        raise
    finally:
        await upstream.aclose()
        output = reply_text({"message": {"content": "".join(parts), "tool_calls": tool_calls}})
        call.record(status=status, output=output, answer=final, ttft_ms=ttft_ms, error=error)


async def embed_texts(
    *, call: InferenceCall, model: str, inputs: list[str], dimensions: int | None = None
) -> dict:
    """Ollama's `/api/embed` answer for `inputs`; records the call's trace."""
    try:
        answer = await get_async_client().embed(model, inputs, dimensions=dimensions)
    except BaseException as exc:
        status, error = _failure_status(exc)
        call.record(status=status, error=error)
        raise
    call.record(status=TraceStatus.SUCCESS, answer=answer)
    return answer


async def is_model_running(*, model: str) -> bool:
    """True when Ollama has `model` loaded in memory now (`/api/ps`)."""
    running = await get_async_client().running_models()
    return any(
        same_model(model, entry.get("model") or entry.get("name") or "") for entry in running
    )


async def load_model(*, model: str) -> None:
    """Load `model` into memory; raises ModelNotFound when Ollama has no such model."""
    await get_async_client().load_model(model)


async def unload_model(*, model: str) -> None:
    """Free `model`'s memory now (keep_alive 0); raises ModelNotFound for an unknown model."""
    await get_async_client().unload_model(model)
