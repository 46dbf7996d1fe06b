"""Native inference endpoints: `/api/chat`, `/api/generate`, `/api/embed`, `/api/embeddings`.

Checks run in the order of Ollama's handlers, so the first error a request hits is the one
Ollama would report. `chat_inference` is shared with the OpenAI-compatible layer.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from . import wire
from .api_models import read_request
from .app import Standin
from .durations import DurationError, parse_keep_alive
from .formats import base64_error_offset, go_quote, go_time
from .generation import (
    Emission,
    GenerationFailed,
    Limits,
    Outcome,
    ReplyPlan,
    count_tokens,
    embedding,
    normalize,
    plan_reply,
    produce,
    raw_embedding,
    seed_of,
)
from .httpio import JSON_PLAIN, NDJSON, ApiError, ClientGone, Exchange, Stream
from .names import ModelRefError, parse_model_ref
from .options import OptionError, merge_options, num_predict, stop_sequences
from .scheduler import DEFAULT_NUM_CTX
from .store import StoredModel

_THINK_LEVELS = ("high", "medium", "low", "max")


def _check_think(value: Any) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, str):
        if value in _THINK_LEVELS:
            return
        raise wire.DecodeError(
            f"invalid think value: {go_quote(value)} "
            '(must be "high", "medium", "low", "max", true, or false)'
        )
    raise wire.DecodeError(
        'think must be a boolean or string ("high", "medium", "low", "max", true, or false)'
    )


def _check_keep_alive(value: Any) -> None:
    try:
        parse_keep_alive(value)
    except DurationError as error:
        raise wire.DecodeError(str(error)) from None


def _check_image(value: Any) -> None:
    wire.expect("api.ImageData", str)(value)
    offset = base64_error_offset(value)
    if offset is not None:
        raise wire.DecodeError(f"illegal base64 data at input byte {offset}")


_IMAGES = wire.expect_list("[]api.ImageData", _check_image)
_TOOL_CALL = wire.expect_struct(
    "api.ToolCall",
    {
        "id": wire.STRING,
        "function": wire.expect_struct(
            "api.ToolCallFunction",
            {"index": wire.INT, "name": wire.STRING, "arguments": wire.OBJECT},
        ),
    },
)
MESSAGE = wire.expect_struct(
    "api.Message",
    {
        "role": wire.STRING,
        "content": wire.STRING,
        "thinking": wire.STRING,
        "images": _IMAGES,
        "tool_calls": wire.expect_list("[]api.ToolCall", _TOOL_CALL),
        "tool_name": wire.STRING,
        "tool_call_id": wire.STRING,
    },
)
_INFERENCE_FIELDS = {
    "model": wire.STRING,
    "stream": wire.BOOL,
    "format": wire.ANY,
    "keep_alive": _check_keep_alive,
    "options": wire.OBJECT,
    "think": _check_think,
    "truncate": wire.BOOL,
    "shift": wire.BOOL,
    "logprobs": wire.BOOL,
    "top_logprobs": wire.INT,
}
CHAT_REQUEST = {
    **_INFERENCE_FIELDS,
    "messages": wire.expect_list("[]api.Message", MESSAGE),
    "tools": wire.expect_list("api.Tools", wire.expect("api.Tool", dict)),
}
GENERATE_REQUEST = {
    **_INFERENCE_FIELDS,
    "prompt": wire.STRING,
    "suffix": wire.STRING,
    "system": wire.STRING,
    "template": wire.STRING,
    "context": wire.expect_list("[]int", wire.INT),
    "raw": wire.BOOL,
    "images": _IMAGES,
}
EMBED_REQUEST = {
    "model": wire.STRING,
    "input": wire.ANY,
    "keep_alive": _check_keep_alive,
    "truncate": wire.BOOL,
    "dimensions": wire.INT,
    "options": wire.OBJECT,
}
EMBEDDINGS_REQUEST = {
    "model": wire.STRING,
    "prompt": wire.STRING,
    "keep_alive": _check_keep_alive,
    "options": wire.OBJECT,
}


@dataclass
class Inference:
    """A checked chat/generate request whose model is loaded, ready to produce its reply."""

    app: Standin
    echo: str
    plan: ReplyPlan
    limits: Limits
    started_ns: int
    loaded_ns: int

    def run(self, ex: Exchange, emit: Callable[[Emission | Outcome], None]) -> None:
        """Produce the reply token by token, handing each event to `emit`.

        Stops at once when the client leaves (noticed while waiting for a token or while
        writing one) and counts that as a cancelled generation. Raises `GenerationFailed`.
        """
        with self.app.stats.generating():
            try:
                for event in produce(self.plan, self.limits, ex.pause):
                    emit(event)
            except ClientGone:
                self.app.stats.count_cancelled()
                raise

    def collect(self, ex: Exchange) -> tuple[str, str, Outcome]:
        """The whole reply: (content, thinking, outcome); raises `GenerationFailed`."""
        content: list[str] = []
        thinking: list[str] = []
        outcomes: list[Outcome] = []

        def gather(event: Emission | Outcome) -> None:
            if isinstance(event, Outcome):
                outcomes.append(event)
            else:
                content.append(event.content)
                thinking.append(event.thinking)

        self.run(ex, gather)
        return "".join(content), "".join(thinking), outcomes[-1]

    def metrics(self, outcome: Outcome) -> dict[str, int]:
        """The final line's metrics, zero values omitted as Go's `omitempty` does."""
        now = time.perf_counter_ns()
        metrics = {
            "total_duration": now - self.started_ns,
            "load_duration": self.loaded_ns - self.started_ns,
            "prompt_eval_count": outcome.prompt_eval_count,
            "prompt_eval_duration": outcome.prompt_eval_duration,
            "eval_count": outcome.eval_count,
            "eval_duration": outcome.eval_duration,
        }
        return {key: value for key, value in metrics.items() if value}


def now_utc() -> str:
    return go_time(time.time_ns(), utc=True)


def _keep_alive(app: Standin, request: dict[str, Any]) -> int:
    value = request.get("keep_alive")
    return app.settings.keep_alive_ns if value is None else parse_keep_alive(value)


def _check_top_logprobs(request: dict[str, Any]) -> None:
    if not 0 <= request.get("top_logprobs", 0) <= 20:
        raise ApiError(400, "top_logprobs must be between 0 and 20")


def _lookup(app: Standin, request: dict[str, Any], *, required: ApiError) -> StoredModel:
    """Resolve the request's model as chat/generate do; `required` is the empty-name error."""
    raw = request.get("model", "")
    try:
        ref = parse_model_ref(raw)
    except ModelRefError as error:
        if error.kind == "required":
            raise required from None
        raise ApiError(400, str(error)) from None
    model = None if ref.source == "cloud" else app.store.get(ref.name)
    if model is None:
        raise ApiError(404, f"model '{raw}' not found")
    return model


def _thinking(model: StoredModel, request: dict[str, Any]) -> bool:
    """Whether to think: on by default for thinking models, a 400 for the others."""
    think = request.get("think")
    enabled = think is True or think in _THINK_LEVELS
    if "thinking" in model.capabilities:
        return think is None or enabled
    if enabled:
        raise ApiError(400, f"{go_quote(request.get('model', ''))} does not support thinking")
    return False


def _check_format(output_format: Any) -> Any:
    """`"json"`, a schema object, or None; anything else fails as llama-server's request does."""
    if output_format in (None, ""):
        return None
    if output_format == "json" or isinstance(output_format, dict):
        return output_format
    raw = wire.encode(output_format)
    raise ApiError(
        500, f'invalid format: {go_quote(raw)}; expected "json" or a valid JSON Schema object'
    )


def _options(model: StoredModel, request: dict[str, Any]) -> dict[str, Any]:
    try:
        return merge_options(model.params, request.get("options"))
    except OptionError as error:
        raise ApiError(500, str(error)) from None


def _limits(app: Standin, options: dict[str, Any]) -> Limits:
    knobs = app.knobs
    return Limits(
        num_predict=num_predict(options),
        stop=stop_sequences(options),
        token_delay=knobs.token_delay,
        fail_after=knobs.fail_after,
        crash_after=knobs.crash_after,
    )


@contextmanager
def _loaded(
    app: Standin, model: StoredModel, options: dict[str, Any], keep_alive: int
) -> Iterator[int]:
    """Hold the model loaded for the block; yields the time the load finished."""
    num_ctx = options.get("num_ctx") or DEFAULT_NUM_CTX
    app.scheduler.acquire(model, keep_alive_ns=keep_alive, num_ctx=num_ctx)
    try:
        yield time.perf_counter_ns()
    finally:
        app.scheduler.release(model, keep_alive_ns=keep_alive)


def _final_object(echo: str, done_reason: str, body: dict[str, Any]) -> dict[str, Any]:
    """A `done:true` object around the endpoint's payload (`message` or `response`)."""
    return {
        "model": echo,
        "created_at": now_utc(),
        **body,
        "done": True,
        "done_reason": done_reason,
    }


def _chat_messages(model: StoredModel, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation the model sees: baked-in messages and system prompt first."""
    conversation = list(model.messages) + messages
    if messages and messages[0].get("role", "").lower() != "system" and model.system:
        conversation.insert(0, {"role": "system", "content": model.system})
    return conversation


@contextmanager
def chat_inference(app: Standin, request: dict[str, Any]) -> Iterator[Inference | dict[str, Any]]:
    """Check a chat request and hold its model loaded.

    Yields either a single response object (load/unload requests) or an `Inference`. Raises
    `ApiError` with the status and text Ollama uses for every check that fails.
    """
    started = time.perf_counter_ns()
    _check_top_logprobs(request)
    model = _lookup(app, request, required=ApiError(400, "model is required"))
    echo = request.get("model", "")
    messages = request.get("messages") or []
    keep_alive = _keep_alive(app, request)
    if not messages and keep_alive == 0:
        app.scheduler.expire(model)
        yield _final_object(echo, "unload", {"message": {"role": "assistant", "content": ""}})
        return
    think = _thinking(model, request)
    if "completion" not in model.capabilities:
        raise ApiError(400, f"{go_quote(echo)} does not support chat")
    tools = request.get("tools") or []
    if tools and "tools" not in model.capabilities:
        raise ApiError(400, f"{model.name} does not support tools")
    options = _options(model, request)
    with _loaded(app, model, options, keep_alive) as loaded:
        if not messages:
            yield _final_object(echo, "load", {"message": {"role": "assistant", "content": ""}})
            return
        output_format = _check_format(request.get("format"))
        conversation = _chat_messages(model, messages)
        plan = plan_reply(
            seed=seed_of("chat", conversation, output_format, tools),
            prompt_tokens=sum(count_tokens(m.get("content") or "") + 1 for m in conversation),
            response_tokens=app.knobs.response_tokens,
            think=think,
            output_format=output_format,
            tools=tools,
            last_role=str(conversation[-1].get("role", "")).lower(),
        )
        yield Inference(app, echo, plan, _limits(app, options), started, loaded)


@contextmanager
def generate_inference(
    app: Standin, request: dict[str, Any]
) -> Iterator[Inference | dict[str, Any]]:
    """`chat_inference` for `/api/generate`: a prompt instead of messages."""
    started = time.perf_counter_ns()
    _check_top_logprobs(request)
    echo = request.get("model", "")
    model = _lookup(app, request, required=ApiError(404, f"model '{echo}' not found"))
    prompt = request.get("prompt", "")
    keep_alive = _keep_alive(app, request)
    if not prompt and keep_alive == 0:
        app.scheduler.expire(model)
        yield _final_object(echo, "unload", {"response": ""})
        return
    if request.get("raw") and (
        request.get("template") or request.get("system") or request.get("context")
    ):
        raise ApiError(400, "raw mode does not support template, system, or context")
    think = _thinking(model, request)
    if "completion" not in model.capabilities:
        raise ApiError(400, f"{go_quote(echo)} does not support generate")
    if request.get("suffix") and "insert" not in model.capabilities:
        raise ApiError(400, f"{model.name} does not support insert")
    options = _options(model, request)
    with _loaded(app, model, options, keep_alive) as loaded:
        if not prompt:
            yield _final_object(echo, "load", {"response": ""})
            return
        output_format = _check_format(request.get("format"))
        system = request.get("system") or model.system
        plan = plan_reply(
            seed=seed_of("generate", system, prompt, request.get("suffix", ""), output_format),
            prompt_tokens=count_tokens(system) + bool(system) + count_tokens(prompt) + 1,
            response_tokens=app.knobs.response_tokens,
            think=think,
            output_format=output_format,
            tools=[],
            last_role="user",
        )
        yield Inference(app, echo, plan, _limits(app, options), started, loaded)


LineBuilder = Callable[[Emission], dict[str, Any]]
FinalBuilder = Callable[[Outcome, str, str], dict[str, Any]]
"""Builds the `done:true` object from the outcome, the whole content and the whole thinking."""


def chat(ex: Exchange, app: Standin) -> None:
    """`POST /api/chat`."""
    request = read_request(ex, "api.ChatRequest", CHAT_REQUEST)
    with chat_inference(app, request) as prepared:
        if isinstance(prepared, dict):
            ex.json(200, prepared)
            return
        line = _line(prepared, lambda e: {"message": _message(e.content, e.thinking, [])})
        _respond(ex, prepared, request.get("stream", True), line, partial(chat_final, prepared))


def generate(ex: Exchange, app: Standin) -> None:
    """`POST /api/generate`."""
    request = read_request(ex, "api.GenerateRequest", GENERATE_REQUEST)
    with generate_inference(app, request) as prepared:
        if isinstance(prepared, dict):
            ex.json(200, prepared)
            return
        line = _line(prepared, lambda e: _generate_body(e.content, e.thinking))
        final = partial(_generate_final, prepared, raw=bool(request.get("raw")))
        _respond(ex, prepared, request.get("stream", True), line, final)


def _line(inference: Inference, body: Callable[[Emission], dict[str, Any]]) -> LineBuilder:
    """A `done:false` line builder around the endpoint's payload (`message` or `response`)."""

    def line(emission: Emission) -> dict[str, Any]:
        return {"model": inference.echo, "created_at": now_utc(), **body(emission), "done": False}

    return line


def _message(content: str, thinking: str, tool_calls: list[dict[str, Any]]) -> dict[str, Any]:
    """An assistant `api.Message` with Go's field order and omitted empty fields."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if thinking:
        message["thinking"] = thinking
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message


def chat_final(
    inference: Inference, outcome: Outcome, content: str = "", thinking: str = ""
) -> dict[str, Any]:
    """The `done:true` chat object: the last streamed line, or the whole non-streamed reply."""
    message = _message(content, thinking, outcome.tool_calls)
    body = _final_object(inference.echo, outcome.done_reason, {"message": message})
    return {**body, **inference.metrics(outcome)}


def _generate_body(response: str, thinking: str) -> dict[str, Any]:
    body: dict[str, Any] = {"response": response}
    if thinking:
        body["thinking"] = thinking
    return body


def _generate_final(
    inference: Inference, outcome: Outcome, response: str = "", thinking: str = "", *, raw: bool
) -> dict[str, Any]:
    """The `done:true` generate object; `context` (fake token ids) unless in raw mode."""
    body = _final_object(inference.echo, outcome.done_reason, _generate_body(response, thinking))
    if not raw:
        count = outcome.prompt_eval_count + outcome.eval_count
        body["context"] = [(index * 7919 + 17) % 32000 for index in range(count)]
    return {**body, **inference.metrics(outcome)}


def _respond(
    ex: Exchange, inference: Inference, stream: bool, line: LineBuilder, final: FinalBuilder
) -> None:
    """Stream NDJSON (Ollama's `streamResponse`) or send one aggregated object."""
    if not stream:
        try:
            content, thinking, outcome = inference.collect(ex)
        except GenerationFailed as failure:
            ex.error(500, str(failure))
            return
        ex.json(200, final(outcome, content, thinking))
        return
    out: list[Stream] = []

    def emit(event: Emission | Outcome) -> None:
        if not out:
            out.append(ex.stream(NDJSON))
        out[0].line(line(event) if isinstance(event, Emission) else final(event, "", ""))

    try:
        inference.run(ex, emit)
    except GenerationFailed as failure:
        if not out:
            ex.error(500, str(failure), content_type=JSON_PLAIN)
            return
        out[0].line({"error": str(failure)})
    out[0].finish()


def _embed_inputs(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise ApiError(400, "invalid input type")


def embed(ex: Exchange, app: Standin) -> None:
    """`POST /api/embed`: unit-length vectors, one per input."""
    started = time.perf_counter_ns()
    request = read_request(ex, "api.EmbedRequest", EMBED_REQUEST)
    ex.json(200, embed_response(app, request, started))


def embed_response(app: Standin, request: dict[str, Any], started: int) -> dict[str, Any]:
    """The `EmbedResponse` for a decoded request; raises `ApiError` as Ollama does."""
    echo = request.get("model", "")
    try:
        ref = parse_model_ref(echo)
    except ModelRefError as error:
        if error.kind == "required":
            raise ApiError(404, f"model '{echo}' not found") from None
        raise ApiError(400, str(error)) from None
    inputs = _embed_inputs(request.get("input"))
    model = None if ref.source == "cloud" else app.store.get(ref.name)
    if model is None:
        raise ApiError(404, f"model {go_quote(echo)} not found, try pulling it first")
    options = _options(model, request)
    with _loaded(app, model, options, _keep_alive(app, request)) as loaded:
        if not inputs:
            return {"model": echo, "embeddings": []}
        context = _embedding_context(model, options)
        truncate = request.get("truncate", True)
        vectors, tokens = [], 0
        for text in inputs:
            count = count_tokens(text) + 1
            if count > context and not truncate:
                raise ApiError(400, "the input length exceeds the context length")
            tokens += min(count, context)
            vectors.append(_dimensioned(embedding(text), request.get("dimensions", 0)))
        return {
            "model": echo,
            "embeddings": vectors,
            "total_duration": time.perf_counter_ns() - started,
            "load_duration": loaded - started,
            "prompt_eval_count": tokens,
        }


def _embedding_context(model: StoredModel, options: dict[str, Any]) -> int:
    trained = model.metadata_length("context_length")
    requested = options.get("num_ctx") or DEFAULT_NUM_CTX
    return min(requested, trained) if trained else requested


def _dimensioned(vector: list[float], dimensions: int) -> list[float]:
    if 0 < dimensions < len(vector):
        return normalize(vector[:dimensions])
    return vector


def embeddings(ex: Exchange, app: Standin) -> None:
    """`POST /api/embeddings` (legacy): one raw, un-normalised vector."""
    request = read_request(ex, "api.EmbeddingRequest", EMBEDDINGS_REQUEST)
    echo = request.get("model", "")
    try:
        ref = parse_model_ref(echo)
    except ModelRefError as error:
        raise ApiError(400, str(error)) from None
    model = None if ref.source == "cloud" else app.store.get(ref.name)
    if model is None:
        raise ApiError(404, f"model {go_quote(echo)} not found, try pulling it first")
    options = _options(model, request)
    with _loaded(app, model, options, _keep_alive(app, request)):
        prompt = request.get("prompt", "")
        ex.json(200, {"embedding": raw_embedding(prompt) if prompt else []})
