"""The OpenAI-compatible layer: `/v1/chat/completions`, `/v1/embeddings`, `/v1/models`.

Like Ollama's middleware, each request is translated into the native request, run through the
native code path, and the result re-encoded in OpenAI's shapes (errors included).
"""

import random
import time
from collections.abc import Iterator
from typing import Any

from . import wire
from .api_inference import Inference, chat_inference, embed_response, generate_inference
from .api_models import find_shown_model
from .app import Standin
from .formats import base64_error_offset, float32_base64, go_quote
from .generation import Emission, GenerationFailed, Outcome
from .httpio import JSON, JSON_PLAIN, ApiError, Exchange, Stream
from .names import ModelName

_TOOL_CALL = wire.expect_struct(
    "openai.ToolCall",
    {
        "id": wire.STRING,
        "index": wire.INT,
        "type": wire.STRING,
        "function": wire.expect_struct(
            "openai.ToolCallFunction", {"name": wire.STRING, "arguments": wire.STRING}
        ),
    },
)
_MESSAGE = wire.expect_struct(
    "openai.Message",
    {
        "role": wire.STRING,
        "content": wire.ANY,
        "reasoning": wire.STRING,
        "tool_calls": wire.expect_list("[]openai.ToolCall", _TOOL_CALL),
        "name": wire.STRING,
        "tool_call_id": wire.STRING,
    },
)
CHAT_COMPLETION_REQUEST = {
    "model": wire.STRING,
    "messages": wire.expect_list("[]openai.Message", _MESSAGE),
    "stream": wire.BOOL,
    "stream_options": wire.expect_struct("openai.StreamOptions", {"include_usage": wire.BOOL}),
    "max_tokens": wire.INT,
    "seed": wire.INT,
    "stop": wire.ANY,
    "temperature": wire.FLOAT64,
    "frequency_penalty": wire.FLOAT64,
    "presence_penalty": wire.FLOAT64,
    "top_p": wire.FLOAT64,
    "response_format": wire.expect_struct(
        "openai.ResponseFormat",
        {
            "type": wire.STRING,
            "json_schema": wire.expect_struct("openai.JsonSchema", {"schema": wire.ANY}),
        },
    ),
    "tools": wire.expect_list("[]api.Tool", wire.expect("api.Tool", dict)),
    "reasoning": wire.expect_struct("openai.Reasoning", {"effort": wire.STRING}),
    "reasoning_effort": wire.STRING,
    "logprobs": wire.BOOL,
    "top_logprobs": wire.INT,
}
COMPLETION_REQUEST = {
    "model": wire.STRING,
    "prompt": wire.STRING,
    "frequency_penalty": wire.FLOAT32,
    "max_tokens": wire.INT,
    "presence_penalty": wire.FLOAT32,
    "seed": wire.INT,
    "stop": wire.ANY,
    "stream": wire.BOOL,
    "stream_options": wire.expect_struct("openai.StreamOptions", {"include_usage": wire.BOOL}),
    "temperature": wire.FLOAT32,
    "top_p": wire.FLOAT32,
    "suffix": wire.STRING,
    "logprobs": wire.INT,
}
EMBED_REQUEST = {
    "input": wire.ANY,
    "model": wire.STRING,
    "dimensions": wire.INT,
    "encoding_format": wire.STRING,
}
_REASONING = {
    "none": False,
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "max": "max",
    "xhigh": "max",
    "ultra": "max",
}
_IMAGE_PREFIXES = tuple(f"data:image/{kind};base64," for kind in ("jpeg", "jpg", "png", "webp")) + (
    "data:;base64,",
)
_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error"}


def error_body(status: int, message: str) -> dict[str, Any]:
    """OpenAI's error object, as Ollama's `openai.NewError` builds it."""
    error_type = _ERROR_TYPES.get(status, "api_error")
    return {"error": {"message": message, "type": error_type, "param": None, "code": None}}


def _send_error(ex: Exchange, error: ApiError, *, from_native: bool) -> None:
    """Middleware errors are gin JSON; native errors pass through the writer's encoder."""
    body = error_body(error.status, error.message)
    if from_native:
        ex.json(error.status, body, content_type=JSON_PLAIN, newline=True)
    else:
        ex.json(error.status, body, content_type=JSON)


def _read(ex: Exchange, go_type: str, fields: dict[str, wire.FieldCheck]) -> dict[str, Any]:
    """Decode like gin's `ShouldBindJSON` (an empty body is `EOF` here); raises `ApiError`."""
    try:
        return wire.decode_struct(wire.decode(ex.read_body()), go_type, fields)
    except wire.EmptyBody:
        raise ApiError(400, "EOF") from None
    except wire.DecodeError as error:
        raise ApiError(400, str(error)) from None


def chat_completions(ex: Exchange, app: Standin) -> None:
    """`POST /v1/chat/completions`."""
    try:
        request = _read(ex, "openai.ChatCompletionRequest", CHAT_COMPLETION_REQUEST)
        if not request.get("messages"):
            raise ApiError(400, "[] is too short - 'messages'")
        native = native_chat_request(request)
    except ApiError as error:
        _send_error(ex, error, from_native=False)
        return
    completion_id = f"chatcmpl-{random.randrange(999)}"
    try:
        with chat_inference(app, native) as prepared:
            assert isinstance(prepared, Inference), "OpenAI chat always has messages"
            if request.get("stream"):
                include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
                _stream_completion(ex, prepared, completion_id, include_usage)
            else:
                _send_completion(ex, prepared, completion_id)
    except ApiError as error:
        _send_error(ex, error, from_native=True)


def native_chat_request(request: dict[str, Any]) -> dict[str, Any]:
    """Ollama's `FromChatRequest`: the native `/api/chat` body for an OpenAI request."""
    native: dict[str, Any] = {
        "model": request.get("model", ""),
        "messages": _native_messages(request["messages"]),
        "options": _native_options(request),
        "stream": bool(request.get("stream")),
    }
    response_format = request.get("response_format") or {}
    format_type = str(response_format.get("type", "")).strip().lower()
    if format_type == "json_object":
        native["format"] = "json"
    elif format_type == "json_schema" and response_format.get("json_schema"):
        native["format"] = response_format["json_schema"].get("schema")
    for key in ("tools", "logprobs", "top_logprobs"):
        if request.get(key):
            native[key] = request[key]
    effort = (request.get("reasoning") or {}).get("effort") or request.get("reasoning_effort")
    if effort:
        if effort not in _REASONING:
            raise ApiError(
                400,
                f"invalid reasoning value: {go_quote(effort)} (must be "
                '"minimal", "low", "medium", "high", "xhigh", "ultra", "max", or "none")',
            )
        native["think"] = _REASONING[effort]
    return native


def _native_options(request: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    stop = request.get("stop")
    if isinstance(stop, str):
        options["stop"] = [stop]
    elif isinstance(stop, list):
        options["stop"] = [item for item in stop if isinstance(item, str)]
    if request.get("max_tokens") is not None:
        options["num_predict"] = request["max_tokens"]
    options["temperature"] = request.get("temperature", 1.0)
    for key in ("seed", "frequency_penalty", "presence_penalty"):
        if request.get(key) is not None:
            options[key] = request[key]
    options["top_p"] = request.get("top_p", 1.0)
    return options


def _native_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI messages as native ones; each content part becomes a message of its own."""
    native: list[dict[str, Any]] = []
    for message in messages:
        role = str(message.get("role", "")).lower()
        tool_name = ""
        if role == "tool":
            tool_name = message.get("name") or _tool_name(messages, message.get("tool_call_id"))
        content = message.get("content")
        calls = _native_tool_calls(message.get("tool_calls") or [])
        extra = {
            "thinking": message.get("reasoning", ""),
            "tool_calls": calls,
            "tool_name": tool_name,
            "tool_call_id": message.get("tool_call_id", ""),
        }
        if isinstance(content, str):
            native.append(_compact({"role": role, "content": content, **extra}))
        elif isinstance(content, list):
            native += [_compact({"role": role, **part}) for part in _content_parts(content)]
            if native and calls:
                native[-1].update(_compact(extra))
        elif message.get("tool_calls") is not None:
            native.append(_compact({"role": role, "content": "", **extra, "tool_name": ""}))
        else:
            raise ApiError(400, f"invalid message content type: {_go_type(content)}")
    return native


def _compact(message: dict[str, Any]) -> dict[str, Any]:
    """Drop empty fields (Go's `omitempty`), keeping `content`, which is always sent."""
    return {key: value for key, value in message.items() if value or key == "content"}


def _content_parts(parts: list[Any]) -> Iterator[dict[str, Any]]:
    """Each content part becomes its own message: text → content, image → images."""
    for part in parts:
        if not isinstance(part, dict):
            raise ApiError(400, "invalid message format")
        if part.get("type") == "text":
            if not isinstance(part.get("text"), str):
                raise ApiError(400, "invalid message format")
            yield {"content": part["text"]}
        elif part.get("type") == "image_url":
            yield {"content": "", "images": [_image_data(part.get("image_url"))]}
        else:
            raise ApiError(400, "invalid message format")


def _image_data(image_url: Any) -> str:
    url = image_url.get("url") if isinstance(image_url, dict) else image_url
    if not isinstance(url, str):
        raise ApiError(400, "invalid message format")
    if url.startswith(("http://", "https://")):
        raise ApiError(
            400, "image URLs are not currently supported, please use base64 encoded data instead"
        )
    prefix = next((prefix for prefix in _IMAGE_PREFIXES if url.startswith(prefix)), None)
    if prefix is None or base64_error_offset(url[len(prefix) :]) is not None:
        raise ApiError(400, "invalid image input")
    return url[len(prefix) :]


def _native_tool_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    native = []
    for call in calls:
        function = call.get("function") or {}
        try:
            arguments = wire.decode(str(function.get("arguments", "")).encode())
        except (wire.EmptyBody, wire.DecodeError):
            raise ApiError(400, "invalid tool call arguments") from None
        if not isinstance(arguments, dict):
            raise ApiError(400, "invalid tool call arguments")
        native.append(
            _compact(
                {
                    "id": call.get("id", ""),
                    "function": {
                        "index": 0,
                        "name": function.get("name", ""),
                        "arguments": arguments,
                    },
                }
            )
        )
    return native


def _tool_name(messages: list[dict[str, Any]], call_id: str | None) -> str:
    """The function name of the (last) assistant tool call with this id."""
    for message in reversed(messages):
        for call in message.get("tool_calls") or []:
            if call_id and call.get("id") == call_id:
                return (call.get("function") or {}).get("name", "")
    return ""


def _go_type(value: Any) -> str:
    """Go's `%T` of a decoded JSON value."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "float64"
    return "map[string]interface {}"


def _openai_tool_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": call.get("id", ""),
            "index": call["function"].get("index", 0),
            "type": "function",
            "function": {
                "name": call["function"].get("name", ""),
                "arguments": wire.encode(call["function"].get("arguments") or {}),
            },
        }
        for call in calls
    ]


_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


def _usage(outcome: Outcome) -> dict[str, int]:
    return {
        "prompt_tokens": outcome.prompt_eval_count,
        "completion_tokens": outcome.eval_count,
        "total_tokens": outcome.prompt_eval_count + outcome.eval_count,
    }


def _send_completion(ex: Exchange, inference: Inference, completion_id: str) -> None:
    """Non-streaming: one `chat.completion` object (`ToChatCompletion`)."""
    created = int(time.time())
    try:
        content, thinking, outcome = inference.collect(ex)
    except GenerationFailed as failure:
        raise ApiError(500, str(failure)) from None
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if thinking:
        message["reasoning"] = thinking
    if outcome.tool_calls:
        message["tool_calls"] = _openai_tool_calls(outcome.tool_calls)
    reason = outcome.done_reason
    if reason == "stop" and outcome.tool_calls:
        reason = "tool_calls"
    completion = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": inference.echo,
        "system_fingerprint": "fp_ollama",
        "choices": [{"index": 0, "message": message, "finish_reason": reason or None}],
        "usage": _usage(outcome),
    }
    ex.json(200, completion, content_type=JSON_PLAIN, newline=True)


def _stream_completion(
    ex: Exchange, inference: Inference, completion_id: str, include_usage: bool
) -> None:
    """Streaming: the reply as `chat.completion.chunk` server-sent events."""
    chunks = _ChunkStream(ex, inference, completion_id, include_usage)
    try:
        inference.run(ex, chunks.emit)
    except GenerationFailed as failure:
        chunks.fail(failure)
    chunks.close()


class _ChunkStream:
    """Writes a native reply as OpenAI `chat.completion.chunk` server-sent events.

    Mirrors Ollama's `ChatWriter`: the role only on the first chunk, the empty native final line
    dropped, a separate finish chunk with an empty delta, an optional usage chunk, `[DONE]`.
    """

    def __init__(
        self, ex: Exchange, inference: Inference, completion_id: str, include_usage: bool
    ) -> None:
        self._ex = ex
        self._echo = inference.echo
        self._id = completion_id
        self._include_usage = include_usage
        self._created = int(time.time())
        self._out: Stream | None = None
        self._role_sent = False

    def emit(self, event: Emission | Outcome) -> None:
        """Write one native event: a token as a delta, the outcome as the closing chunks."""
        if self._out is None:
            self._out = self._ex.stream("text/event-stream")
        if isinstance(event, Emission):
            self._delta(event.content, reasoning=event.thinking)
            return
        calls = _openai_tool_calls(event.tool_calls)
        if calls or not self._role_sent:
            self._delta("", tool_calls=calls)
        reason = event.done_reason or "stop"
        reason = "tool_calls" if reason == "stop" and calls else reason
        self._send([{"index": 0, "delta": {}, "finish_reason": reason}])
        if self._include_usage:
            self._send([], usage=_usage(event))
        self._out.write(b"data: [DONE]\n\n")

    def fail(self, failure: GenerationFailed) -> None:
        """Before any output: a real error status. After: an empty chunk, then the end."""
        if self._out is None:
            raise ApiError(500, str(failure))
        self._delta("")

    def close(self) -> None:
        if self._out is not None:
            self._out.finish()

    def _delta(self, content: str, **fields: Any) -> None:
        delta: dict[str, Any] = {} if self._role_sent else {"role": "assistant"}
        self._role_sent = True
        delta["content"] = content
        delta.update({key: value for key, value in fields.items() if value})
        self._send([{"index": 0, "delta": delta, "finish_reason": None}])

    def _send(self, choices: list[dict[str, Any]], **extra: Any) -> None:
        assert self._out is not None, "emit() opens the stream first"
        chunk = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._echo,
            "system_fingerprint": "fp_ollama",
            "choices": choices,
            **extra,
        }
        self._out.write(b"data: " + wire.encode_bytes(chunk) + b"\n\n")


def completions(ex: Exchange, app: Standin) -> None:
    """`POST /v1/completions` (legacy): a prompt in, `text_completion` objects out."""
    try:
        request = _read(ex, "openai.CompletionRequest", COMPLETION_REQUEST)
        native = native_generate_request(request)
    except ApiError as error:
        _send_error(ex, error, from_native=False)
        return
    writer = _CompletionWriter(
        ex,
        native["model"],
        stream=native["stream"],
        include_usage=bool((request.get("stream_options") or {}).get("include_usage")),
    )
    try:
        with generate_inference(app, native) as prepared:
            if isinstance(prepared, dict):  # an empty prompt only loads the model
                writer.write_all("", Outcome(prepared["done_reason"], 0, 0, 0, 0))
            elif native["stream"]:
                writer.stream(prepared)
            else:
                content, _, outcome = prepared.collect(ex)
                writer.write_all(content, outcome)
    except GenerationFailed as failure:
        _send_error(ex, ApiError(500, str(failure)), from_native=True)
    except ApiError as error:
        _send_error(ex, error, from_native=True)


def native_generate_request(request: dict[str, Any]) -> dict[str, Any]:
    """Ollama's `FromCompleteRequest`: the native `/api/generate` body."""
    options: dict[str, Any] = {}
    stop = request.get("stop")
    if isinstance(stop, str):
        options["stop"] = [stop]
    elif isinstance(stop, list):
        for item in stop:
            if not isinstance(item, str):
                raise ApiError(400, f"invalid type for 'stop' field: {_go_type(item)}")
        options["stop"] = stop
    if request.get("max_tokens") is not None:
        options["num_predict"] = request["max_tokens"]
    options["temperature"] = request.get("temperature", 1.0)
    if request.get("seed") is not None:
        options["seed"] = request["seed"]
    options["frequency_penalty"] = request.get("frequency_penalty", 0.0)
    options["presence_penalty"] = request.get("presence_penalty", 0.0)
    options["top_p"] = request.get("top_p") or 1.0
    native = {
        "model": request.get("model", ""),
        "prompt": request.get("prompt", ""),
        "options": options,
        "stream": bool(request.get("stream")),
    }
    if request.get("suffix"):
        native["suffix"] = request["suffix"]
    return native


class _CompletionWriter:
    """Ollama's `CompleteWriter`: one `text_completion` object, or chunks and `[DONE]`.

    Every chunk carries `finish_reason` (null until the last); with `include_usage` every chunk
    also carries an all-zero `usage`, and a final chunk with `choices: []` the real one.
    """

    def __init__(self, ex: Exchange, echo: str, *, stream: bool, include_usage: bool) -> None:
        self._ex = ex
        self._echo = echo
        self._streaming = stream
        self._include_usage = include_usage
        self._id = f"cmpl-{random.randrange(999)}"
        self._out: Stream | None = None

    def write_all(self, text: str, outcome: Outcome) -> None:
        """The whole completion at once (as one chunk plus `[DONE]` when streaming)."""
        if self._streaming:
            self._emit(outcome)
            self._close()
            return
        body = {
            "id": self._id,
            "object": "text_completion",
            "created": int(time.time()),
            "model": self._echo,
            "system_fingerprint": "fp_ollama",
            "choices": [{"text": text, "index": 0, "finish_reason": outcome.done_reason or None}],
            "usage": _usage(outcome),
        }
        self._ex.json(200, body, content_type=JSON_PLAIN, newline=True)

    def stream(self, inference: Inference) -> None:
        """Stream the reply; a failure after the first chunk ends it with an empty chunk."""
        try:
            inference.run(self._ex, self._emit)
        except GenerationFailed:
            if self._out is None:
                raise
            self._chunk("", None)
        self._close()

    def _emit(self, event: Emission | Outcome) -> None:
        if self._out is None:
            self._out = self._ex.stream("text/event-stream")
        if isinstance(event, Emission):
            self._chunk(event.content, None)
            return
        self._chunk("", event.done_reason or None)
        if self._include_usage:
            self._send([], usage=_usage(event))
        self._out.write(b"data: [DONE]\n\n")

    def _chunk(self, text: str, reason: str | None) -> None:
        usage = {"usage": dict.fromkeys(_USAGE_KEYS, 0)} if self._include_usage else {}
        self._send([{"text": text, "index": 0, "finish_reason": reason}], **usage)

    def _close(self) -> None:
        if self._out is not None:
            self._out.finish()

    def _send(self, choices: list[dict[str, Any]], **extra: Any) -> None:
        assert self._out is not None, "_emit() opens the stream first"
        chunk = {
            "id": self._id,
            "object": "text_completion",
            "created": int(time.time()),
            "choices": choices,
            "model": self._echo,
            "system_fingerprint": "fp_ollama",
            **extra,
        }
        self._out.write(b"data: " + wire.encode_bytes(chunk) + b"\n\n")


def embeddings(ex: Exchange, app: Standin) -> None:
    """`POST /v1/embeddings`; `encoding_format` `float` (default) or `base64`."""
    try:
        request = _read(ex, "openai.EmbedRequest", EMBED_REQUEST)
        native = native_embed_request(request)
    except ApiError as error:
        _send_error(ex, error, from_native=False)
        return
    try:
        result = embed_response(app, native, time.perf_counter_ns())
    except ApiError as error:
        _send_error(ex, error, from_native=True)
        return
    as_base64 = request.get("encoding_format", "").lower() == "base64"
    data = [
        {
            "object": "embedding",
            "embedding": float32_base64(vector) if as_base64 else vector,
            "index": index,
        }
        for index, vector in enumerate(result["embeddings"])
    ]
    tokens = result.get("prompt_eval_count", 0)
    body = {
        "object": "list",
        "data": data or None,
        "model": native["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    ex.json(200, body, content_type=JSON_PLAIN, newline=True)


def native_embed_request(request: dict[str, Any]) -> dict[str, Any]:
    """The checks of Ollama's `EmbeddingsMiddleware` and the native `/api/embed` body."""
    encoding = request.get("encoding_format", "")
    if encoding and encoding.lower() not in ("float", "base64"):
        raise ApiError(
            400,
            f"Invalid value for 'encoding_format' = {encoding}. "
            "Supported values: ['float', 'base64'].",
        )
    inputs = request.get("input")
    if inputs == "":
        inputs = [""]
    if inputs is None or inputs == []:
        raise ApiError(400, "invalid input")
    native = {"model": request.get("model", ""), "input": inputs}
    if request.get("dimensions"):
        native["dimensions"] = request["dimensions"]
    return native


def models(ex: Exchange, app: Standin) -> None:
    """`GET /v1/models`: `data` is `null` (not `[]`) when there are no models."""
    data = [
        {
            "id": model.name.short,
            "object": "model",
            "created": model.modified_ns // 1_000_000_000,
            "owned_by": model.name.namespace,
        }
        for model in app.store.models()
    ]
    ex.json(200, {"object": "list", "data": data or None}, content_type=JSON_PLAIN, newline=True)


def model(ex: Exchange, app: Standin) -> None:
    """`GET /v1/models/:model`: the id echoes the request; unknown → 404 OpenAI error."""
    requested = ex.params["model"]
    try:
        found = find_shown_model(app, requested)
    except ApiError as error:
        _send_error(ex, error, from_native=True)
        return
    body = {
        "id": requested,
        "object": "model",
        "created": found.modified_ns // 1_000_000_000,
        "owned_by": ModelName.parse(requested).namespace,
    }
    ex.json(200, body, content_type=JSON_PLAIN, newline=True)
