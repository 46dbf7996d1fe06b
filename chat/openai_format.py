"""OpenAI's chat and embedding wire format, translated to and from Ollama's native API.

Plain functions over dicts, with no I/O: requests are validated and turned into Ollama bodies,
Ollama's answers are turned into OpenAI's objects. An invalid request raises ApiError (400)
naming the offending field, in the words OpenAI's own API would use.
"""

import base64
import json
import struct
import time
import uuid
from typing import Any

from premrunner.errors import ApiError

SYSTEM_FINGERPRINT = "fp_premrunner"
# OpenAI's "developer" role is its newer name for "system".
ROLE_ALIASES = {"developer": "system"}
ROLES = frozenset({"system", "user", "assistant", "tool"})
ENCODING_FORMATS = ("float", "base64")


# -- validation helpers ----------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _invalid(message: str, param: str) -> ApiError:
    return ApiError(message, status=400, code="invalid_request_error", param=param)


def _number(body: dict, field: str) -> float | None:
    value = body.get(field)
    if value is None:
        return None
    if not _is_number(value):
        raise _invalid(f"'{field}' must be a number.", field)
    return value


def _integer(body: dict, field: str, *, minimum: int | None = None) -> int | None:
    value = body.get(field)
    if value is None:
        return None
    if not _is_int(value):
        raise _invalid(f"'{field}' must be an integer.", field)
    if minimum is not None and value < minimum:
        raise _invalid(f"'{field}' must be at least {minimum}.", field)
    return value


def _boolean(body: dict, field: str) -> bool:
    value = body.get(field)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _invalid(f"'{field}' must be true or false.", field)
    return value


# -- chat request ----------------------------------------------------------------------------


def wants_stream(body: dict) -> bool:
    """True when a chat request asks for Server-Sent Events (`stream: true`)."""
    return _boolean(body, "stream")


def wants_usage_chunk(body: dict) -> bool:
    """True when a streamed request asks for the final usage chunk (`stream_options`)."""
    options = body.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise _invalid("'stream_options' must be an object.", "stream_options")
    return _boolean(options, "include_usage")


def _image_data(part: dict, param: str) -> str:
    """The base64 payload of an `image_url` part (a data URL or bare base64)."""
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise _invalid("An image_url part needs 'image_url.url'.", param)
    if url.startswith(("http://", "https://")):
        raise _invalid(
            "Image URLs are not supported; send the image as base64 data "
            "('data:image/png;base64,...').",
            param,
        )
    if url.startswith("data:"):
        header, _, url = url.partition(",")
        if not header.endswith(";base64"):
            raise _invalid("Image data URLs must be base64-encoded.", param)
    try:
        base64.b64decode(url, validate=True)
    except ValueError:
        raise _invalid("The image is not valid base64 data.", param) from None
    return url


def _content_parts(parts: list, param: str) -> tuple[str, list[str]]:
    """The text and the base64 images of a content given as a list of parts."""
    texts: list[str] = []
    images: list[str] = []
    for index, part in enumerate(parts):
        where = f"{param}[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url":
            images.append(_image_data(part, where))
        else:
            raise _invalid(
                "Each content part must be {'type': 'text', 'text': ...} or "
                "{'type': 'image_url', 'image_url': {'url': ...}}.",
                where,
            )
    return "\n".join(texts), images


def _tool_calls_to_ollama(tool_calls: Any, param: str) -> list[dict]:
    """OpenAI tool calls (arguments as a JSON string) as Ollama's (arguments as an object)."""
    if not isinstance(tool_calls, list):
        raise _invalid("'tool_calls' must be a list.", param)
    converted = []
    for index, call in enumerate(tool_calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise _invalid("Each tool call needs 'function.name'.", f"{param}[{index}]")
        arguments = function.get("arguments") or "{}"
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                raise _invalid(
                    "Tool call arguments must be a JSON object encoded as a string.",
                    f"{param}[{index}].function.arguments",
                ) from None
        if not isinstance(arguments, dict):
            raise _invalid(
                "Tool call arguments must be a JSON object.",
                f"{param}[{index}].function.arguments",
            )
        native: dict[str, Any] = {
            "function": {"index": index, "name": function["name"], "arguments": arguments}
        }
        if isinstance(call.get("id"), str):
            native["id"] = call["id"]
        converted.append(native)
    return converted


def messages_to_ollama(messages: Any) -> list[dict]:
    """OpenAI chat messages as Ollama messages.

    Content parts are joined into one message (texts by newlines, images into `images`);
    tool-call arguments are decoded; a tool result's `name` (or, when absent, the name of the
    assistant tool call it answers) becomes `tool_name`. Raises ApiError for a malformed list.
    """
    if not isinstance(messages, list):
        raise _invalid("'messages' must be a list of message objects.", "messages")
    if not messages:
        raise _invalid("'messages' must contain at least one message.", "messages")
    tool_names: dict[str, str] = {}
    converted = []
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        if not isinstance(message, dict):
            raise _invalid("Each message must be an object with 'role' and 'content'.", param)
        role = message.get("role")
        role = ROLE_ALIASES.get(role, role)
        if role not in ROLES:
            raise _invalid(
                f"Invalid role {message.get('role')!r}: use system, user, assistant or tool.",
                f"{param}.role",
            )
        native: dict[str, Any] = {"role": role, "content": ""}
        content = message.get("content")
        if isinstance(content, str):
            native["content"] = content
        elif isinstance(content, list):
            native["content"], images = _content_parts(content, f"{param}.content")
            if images:
                native["images"] = images
        elif content is not None or not (role == "assistant" and message.get("tool_calls")):
            raise _invalid(
                "'content' must be a string or a list of content parts.", f"{param}.content"
            )
        if role == "assistant" and message.get("tool_calls"):
            native["tool_calls"] = _tool_calls_to_ollama(
                message["tool_calls"], f"{param}.tool_calls"
            )
            for call in native["tool_calls"]:
                if "id" in call:
                    tool_names[call["id"]] = call["function"]["name"]
        if role == "tool":
            call_id = message.get("tool_call_id")
            if isinstance(call_id, str):
                native["tool_call_id"] = call_id
            name = message.get("name")
            name = name if isinstance(name, str) else tool_names.get(call_id)
            if name:
                native["tool_name"] = name
        converted.append(native)
    return converted


def _tools_for(body: dict) -> list[dict] | None:
    """The request's tools as Ollama takes them, narrowed by `tool_choice`."""
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list) or not all(
        isinstance(tool, dict)
        and isinstance(tool.get("function"), dict)
        and isinstance(tool["function"].get("name"), str)
        for tool in tools
    ):
        raise _invalid(
            "'tools' must be a list of {'type': 'function', 'function': {'name', ...}}.", "tools"
        )
    choice = body.get("tool_choice")
    if choice == "none":
        return None
    if isinstance(choice, dict):
        # Ollama cannot force a call; offering only the chosen function is the closest match.
        wanted = (choice.get("function") or {}).get("name")
        tools = [tool for tool in tools if tool["function"]["name"] == wanted]
        if not tools:
            raise _invalid(
                f"tool_choice names a function not in 'tools': {wanted!r}.", "tool_choice"
            )
    elif choice not in (None, "auto", "required"):
        raise _invalid(
            "'tool_choice' must be 'none', 'auto', 'required' or an object.", "tool_choice"
        )
    return [{"type": tool.get("type", "function"), "function": tool["function"]} for tool in tools]


def _response_format(body: dict) -> str | dict | None:
    """Ollama's `format` for OpenAI's `response_format`."""
    response_format = body.get("response_format")
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise _invalid(
                "response_format json_schema needs 'json_schema.schema' (a JSON schema object).",
                "response_format",
            )
        return schema
    raise _invalid(
        "'response_format.type' must be 'text', 'json_object' or 'json_schema'.", "response_format"
    )


def _stop(body: dict) -> list[str] | None:
    stop = body.get("stop")
    if stop is None:
        return None
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and all(isinstance(item, str) for item in stop):
        return stop
    raise _invalid("'stop' must be a string or a list of strings.", "stop")


def _think(body: dict) -> bool | str | None:
    """Ollama's `think` for OpenAI's `reasoning_effort` (as Ollama's own /v1 maps it)."""
    effort = body.get("reasoning_effort")
    if effort is None:
        return None
    mapping = {"none": False, "minimal": "low", "low": "low", "medium": "medium", "high": "high"}
    if effort not in mapping:
        raise _invalid(
            "'reasoning_effort' must be none, minimal, low, medium or high.", "reasoning_effort"
        )
    return mapping[effort]


def sampling_options(body: dict) -> dict:
    """Ollama `options` from a request's sampling fields; absent fields keep the model's defaults.

    `max_completion_tokens` (OpenAI's current name) wins over the older `max_tokens`; both
    become `num_predict`.
    """
    options: dict[str, Any] = {}
    for field in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        value = _number(body, field)
        if value is not None:
            options[field] = value
    max_tokens = _integer(body, "max_tokens", minimum=1)
    max_completion_tokens = _integer(body, "max_completion_tokens", minimum=1)
    num_predict = max_completion_tokens if max_completion_tokens is not None else max_tokens
    if num_predict is not None:
        options["num_predict"] = num_predict
    seed = _integer(body, "seed")
    if seed is not None:
        options["seed"] = seed
    stop = _stop(body)
    if stop:
        options["stop"] = stop
    return options


def chat_request_to_ollama(body: dict, *, model: str) -> dict:
    """The Ollama `/api/chat` body for an OpenAI chat-completion request (stream not set).

    `model` is the Ollama name already resolved from the request. Unknown fields are ignored;
    `n` other than 1 is refused, since Ollama produces one choice. Raises ApiError (400).
    """
    n = _integer(body, "n")
    if n is not None and n != 1:
        raise _invalid("Only one choice is supported: 'n' must be 1.", "n")
    payload: dict[str, Any] = {"model": model, "messages": messages_to_ollama(body.get("messages"))}
    options = sampling_options(body)
    if options:
        payload["options"] = options
    tools = _tools_for(body)
    if tools:
        payload["tools"] = tools
    response_format = _response_format(body)
    if response_format is not None:
        payload["format"] = response_format
    think = _think(body)
    if think is not None:
        payload["think"] = think
    return payload


def request_params(body: dict) -> dict:
    """The request's parameters worth keeping in a trace: everything but the messages/input."""
    return {key: value for key, value in body.items() if key not in ("messages", "input")}


# -- chat response ---------------------------------------------------------------------------


def new_completion_id() -> str:
    """An OpenAI-style completion id (`chatcmpl-…`)."""
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def usage_from(answer: dict) -> dict:
    """OpenAI `usage` from Ollama's counts on a final line (absent counts are zero)."""
    prompt = answer.get("prompt_eval_count") or 0
    completion = answer.get("eval_count") or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def finish_reason(done_reason: str | None, *, tool_calls: bool) -> str:
    """OpenAI's finish_reason: `length` when cut short, `tool_calls` when tools were called."""
    if done_reason == "length":
        return "length"
    return "tool_calls" if tool_calls else "stop"


def tool_calls_to_openai(tool_calls: list[dict], *, first_index: int = 0) -> list[dict]:
    """Ollama tool calls as OpenAI's: arguments as a JSON string, each with an id and index."""
    converted = []
    for offset, call in enumerate(tool_calls):
        function = call.get("function") or {}
        converted.append(
            {
                "index": first_index + offset,
                "id": call.get("id") or f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {
                    "name": function.get("name", ""),
                    "arguments": json.dumps(function.get("arguments") or {}),
                },
            }
        )
    return converted


def chat_completion(answer: dict, *, completion_id: str, model: str, created: int) -> dict:
    """The `chat.completion` object for Ollama's non-streamed `/api/chat` answer."""
    native = answer.get("message") or {}
    tool_calls = native.get("tool_calls") or []
    message: dict[str, Any] = {
        "role": "assistant",
        "content": native.get("content") or ("" if not tool_calls else None),
        "refusal": None,
    }
    if native.get("thinking"):
        message["reasoning"] = native["thinking"]
    if tool_calls:
        message["tool_calls"] = tool_calls_to_openai(tool_calls)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason(
                    answer.get("done_reason"), tool_calls=bool(tool_calls)
                ),
            }
        ],
        "usage": usage_from(answer),
    }


class ChunkEncoder:
    """Turns the native lines of one streamed answer into `chat.completion.chunk` objects.

    One chunk per line as it arrives; the role rides on the first chunk; tool calls get
    indexes that run across the whole stream; the final line yields a finish chunk with an
    empty delta, then a usage chunk (`choices: []`) when asked for.
    """

    def __init__(self, *, completion_id: str, model: str, include_usage: bool) -> None:
        self.completion_id = completion_id
        self.model = model
        self.include_usage = include_usage
        self.created = int(time.time())
        self._sent_role = False
        self._tool_calls = 0

    def _chunk(self, choices: list[dict], **extra: Any) -> dict:
        return {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": choices,
            **extra,
        }

    def _delta_chunk(self, native: dict) -> dict:
        delta: dict[str, Any] = {}
        if not self._sent_role:
            delta["role"] = "assistant"
            self._sent_role = True
        delta["content"] = native.get("content") or ""
        if native.get("thinking"):
            delta["reasoning"] = native["thinking"]
        if native.get("tool_calls"):
            delta["tool_calls"] = tool_calls_to_openai(
                native["tool_calls"], first_index=self._tool_calls
            )
            self._tool_calls += len(native["tool_calls"])
        return self._chunk([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}])

    def chunks(self, line: dict) -> list[dict]:
        """The chunks for one native line (one, or two to three for the final line)."""
        native = line.get("message") or {}
        if not line.get("done"):
            return [self._delta_chunk(native)]
        chunks = []
        carries = native.get("content") or native.get("thinking") or native.get("tool_calls")
        if carries or not self._sent_role:
            chunks.append(self._delta_chunk(native))
        reason = finish_reason(line.get("done_reason"), tool_calls=self._tool_calls > 0)
        chunks.append(
            self._chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": reason}])
        )
        if self.include_usage:
            chunks.append(self._chunk([], usage=usage_from(line)))
        return chunks


# -- embeddings ------------------------------------------------------------------------------


def embedding_inputs(body: dict) -> list[str]:
    """The texts of an embeddings request (`input`: a string or a list of strings)."""
    value = body.get("input")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return value
    raise _invalid("'input' must be a string or a non-empty list of strings.", "input")


def embedding_options(body: dict) -> tuple[int | None, str]:
    """(dimensions, encoding_format) of an embeddings request."""
    dimensions = _integer(body, "dimensions", minimum=1)
    encoding_format = body.get("encoding_format") or "float"
    if encoding_format not in ENCODING_FORMATS:
        raise _invalid(
            f"Invalid value for 'encoding_format' = {encoding_format}. "
            f"Supported values: ['float', 'base64'].",
            "encoding_format",
        )
    return dimensions, encoding_format


def _encode_vector(vector: list[float], encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


def embeddings_response(answer: dict, *, model: str, encoding_format: str) -> dict:
    """OpenAI's embeddings list for Ollama's `/api/embed` answer."""
    tokens = answer.get("prompt_eval_count") or 0
    return {
        "object": "list",
        "data": [
            {
                "object": "embedding",
                "index": index,
                "embedding": _encode_vector(vector, encoding_format),
            }
            for index, vector in enumerate(answer.get("embeddings") or [])
        ],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
