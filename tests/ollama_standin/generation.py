"""Deterministic "model output": text, thinking, JSON, tool calls and embeddings from a hash.

The same request always yields the same reply. A reply is planned first (`plan_reply`) and then
produced token by token (`produce`), which is where the test knobs act: a delay before each
token, an injected failure or a process crash after N tokens, and stopping when the client leaves.
"""

import hashlib
import json
import math
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .formats import float32

WORDS = (
    "the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "bright",
    "stars", "shine", "above", "quiet", "hills", "river", "flows", "gently", "past", "old",
    "stone", "bridges", "and", "green", "meadows", "where", "children", "play", "under",
    "warm", "summer", "skies", "every", "morning", "birds", "sing", "soft", "songs", "near",
    "tall", "trees", "wind", "carries", "stories", "from", "distant", "lands", "across",
    "calm", "blue", "seas", "people", "gather", "share", "bread", "laugh", "together", "small",
    "lights", "glow", "in", "windows", "evening",
)  # fmt: skip
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_PIECE = re.compile(r"\s*(?:[\w.+-]+|[^\w\s])")
EMBEDDING_DIMENSIONS = 16


class GenerationFailed(Exception):
    """The failure `STANDIN_FAIL_AFTER` injects after N tokens."""


@dataclass(frozen=True)
class ReplyPlan:
    """What a request will produce, decided up front from a hash of the prompt."""

    prompt_tokens: int
    prompt_eval_ns: int
    thinking: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tool_call_tokens(self) -> int:
        """What emitting the tool calls costs against `num_predict`."""
        return sum(len(_PIECE.findall(json.dumps(call["function"]))) for call in self.tool_calls)


@dataclass
class Emission:
    """One generated token, as one streamed line carries it."""

    content: str = ""
    thinking: str = ""


@dataclass
class Outcome:
    """How generation ended, with the counts and timings of the final line."""

    done_reason: str
    prompt_eval_count: int
    prompt_eval_duration: int
    eval_count: int
    eval_duration: int
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Limits:
    """Per-request caps and the knobs that shape production."""

    num_predict: int | None
    stop: Sequence[str]
    token_delay: float
    fail_after: int | None
    crash_after: int | None


def seed_of(*parts: Any) -> bytes:
    """A stable hash of anything JSON-serialisable."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).digest()


def _number(seed: bytes, label: str) -> int:
    return int.from_bytes(hashlib.sha256(seed + label.encode()).digest()[:8], "big")


def sentence(seed: bytes, count: int) -> list[str]:
    """`count` word tokens (`The`, ` quick`, ...), the last one ending the sentence."""
    tokens = [WORDS[_number(seed, f"word{index}") % len(WORDS)] for index in range(count)]
    if not tokens:
        return []
    tokens[0] = tokens[0].capitalize()
    tokens[-1] += "."
    return [tokens[0]] + [" " + token for token in tokens[1:]]


def count_tokens(text: str) -> int:
    """The stand-in's tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def plan_reply(
    *,
    seed: bytes,
    prompt_tokens: int,
    response_tokens: int,
    think: bool,
    output_format: Any,
    tools: Sequence[dict[str, Any]],
    last_role: str,
) -> ReplyPlan:
    """Decide the reply: optional thinking, then a tool call, JSON, or plain words.

    The time this takes is reported as the prompt evaluation time.
    """
    started = time.perf_counter_ns()
    thinking = sentence(seed + b"think", max(1, response_tokens // 2)) if think else []
    content: list[str] = []
    calls: list[dict[str, Any]] = []
    if tools and last_role == "user":
        calls = [tool_call(seed, tools[0])]
    elif output_format is not None:
        text = json.dumps(json_value(output_format, seed, response_tokens), ensure_ascii=False)
        content = _PIECE.findall(text)
    else:
        content = sentence(seed, response_tokens)
    elapsed = max(1, time.perf_counter_ns() - started)
    return ReplyPlan(prompt_tokens, elapsed, thinking, content, calls)


def tool_call(seed: bytes, tool: dict[str, Any]) -> dict[str, Any]:
    """A call to `tool` with arguments built from its parameter schema (native shape)."""
    function = tool.get("function") or {}
    parameters = function.get("parameters") or {}
    properties = parameters.get("properties") or {}
    wanted = parameters.get("required") or list(properties)
    arguments = {
        name: schema_value(properties.get(name) or {}, seed + name.encode(), all_properties=False)
        for name in wanted
    }
    call_id = "".join(
        _ID_ALPHABET[_number(seed, f"id{index}") % len(_ID_ALPHABET)] for index in range(8)
    )
    return {
        "id": f"call_{call_id}",
        "function": {"index": 0, "name": function.get("name", ""), "arguments": arguments},
    }


def json_value(output_format: Any, seed: bytes, response_tokens: int) -> Any:
    """Content for `format`: an object for `"json"`, else a value valid for the schema."""
    if output_format == "json":
        return {"response": "".join(sentence(seed, response_tokens))}
    return schema_value(output_format, seed, all_properties=True)


def schema_value(schema: Any, seed: bytes, *, all_properties: bool) -> Any:
    """A deterministic value that validates against a (simple) JSON schema."""
    if not isinstance(schema, dict):
        return _word(seed)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        choices = schema.get(combinator)
        if isinstance(choices, list) and choices:
            return schema_value(choices[0], seed, all_properties=all_properties)
    return _VALUE_BUILDERS.get(_schema_type(schema), _string_value)(schema, seed, all_properties)


def _schema_type(schema: dict[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((kind for kind in declared if kind != "null"), "null")
    if isinstance(declared, str):
        return declared
    if "properties" in schema:
        return "object"
    return "array" if "items" in schema else "string"


def _object_value(schema: dict[str, Any], seed: bytes, all_properties: bool) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = schema.get("required") or []
    names = list(properties) + [name for name in required if name not in properties]
    if not all_properties:
        names = required or list(properties)
    return {
        name: schema_value(properties.get(name) or {}, seed + name.encode(), all_properties=True)
        for name in names
    }


def _array_value(schema: dict[str, Any], seed: bytes, all_properties: bool) -> list[Any]:
    low = int(schema.get("minItems", 0))
    high = int(schema.get("maxItems", max(low, 2)))
    items = schema.get("items") or {}
    return [
        schema_value(items, seed + bytes([index]), all_properties=True)
        for index in range(min(max(low, 2), high))
    ]


def _string_value(schema: dict[str, Any], seed: bytes, all_properties: bool) -> str:
    word = _word(seed)
    fixed = {
        "date-time": "2026-01-01T00:00:00Z",
        "date": "2026-01-01",
        "time": "12:00:00",
        "email": f"{word}@example.com",
        "uri": f"https://example.com/{word}",
        "uuid": "00000000-0000-4000-8000-000000000000",
    }
    text = fixed.get(schema.get("format", ""), word)
    text = text.ljust(int(schema.get("minLength", 0)), "x")
    return text[: int(schema["maxLength"])] if "maxLength" in schema else text


def _integer_value(schema: dict[str, Any], seed: bytes, all_properties: bool) -> int:
    low = math.ceil(_bound(schema, "minimum", "exclusiveMinimum", 1, 0))
    high = math.floor(_bound(schema, "maximum", "exclusiveMaximum", -1, low + 100))
    low, high = min(low, high), max(low, high)
    return low + _number(seed, "int") % (high - low + 1)


def _bound(
    schema: dict[str, Any], inclusive: str, exclusive: str, step: int, default: int
) -> float:
    """An inclusive integer bound from `minimum`/`exclusiveMinimum` (or the maximum pair)."""
    if isinstance(schema.get(inclusive), int | float):
        return schema[inclusive]
    value = schema.get(exclusive)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value + step
    return default


def _number_value(schema: dict[str, Any], seed: bytes, all_properties: bool) -> float:
    whole = _integer_value(schema, seed, all_properties)
    upper = schema.get("maximum", schema.get("exclusiveMaximum"))
    return whole + 0.5 if upper is None or whole + 0.5 < upper else float(whole)


def _boolean_value(schema: dict[str, Any], seed: bytes, all_properties: bool) -> bool:
    return _number(seed, "bool") % 2 == 0


_VALUE_BUILDERS: dict[str, Callable[[dict[str, Any], bytes, bool], Any]] = {
    "object": _object_value,
    "array": _array_value,
    "string": _string_value,
    "integer": _integer_value,
    "number": _number_value,
    "boolean": _boolean_value,
    "null": lambda schema, seed, all_properties: None,
}


def _word(seed: bytes) -> str:
    return WORDS[_number(seed, "value") % len(WORDS)]


def produce(
    plan: ReplyPlan, limits: Limits, pause: Callable[[float], None]
) -> Iterator[Emission | Outcome]:
    """Yield the plan's tokens one by one, then the `Outcome`.

    `pause(seconds)` waits before each token and raises if the client has gone, which stops
    generation at once. Raises `GenerationFailed` after `fail_after` tokens and ends the
    process (status 2) after `crash_after` tokens.
    """
    started = time.perf_counter_ns()
    produced = 0
    content = ""
    done_reason = "stop"
    queue = [Emission(thinking=token) for token in plan.thinking]
    queue += [Emission(content=token) for token in plan.content]
    for emission in queue:
        if not _fits(limits, produced + 1):
            done_reason = "length"
            break
        _before_token(produced, limits, pause)
        produced += 1
        if emission.content:
            cut = _stop_cut(content, emission.content, limits.stop)
            if cut is not None:
                if cut:
                    yield Emission(content=cut)
                break
            content += emission.content
        yield emission
    tool_calls: list[dict[str, Any]] = []
    if plan.tool_calls and done_reason == "stop":
        if _fits(limits, produced + plan.tool_call_tokens):
            _before_token(produced, limits, pause)
            produced += plan.tool_call_tokens
            tool_calls = plan.tool_calls
        else:
            done_reason = "length"
    yield Outcome(
        done_reason=done_reason,
        prompt_eval_count=plan.prompt_tokens,
        prompt_eval_duration=plan.prompt_eval_ns,
        eval_count=produced,
        eval_duration=max(1, time.perf_counter_ns() - started),
        tool_calls=tool_calls,
    )


def _fits(limits: Limits, tokens: int) -> bool:
    """Whether `tokens` tokens in all stay within `num_predict`."""
    return limits.num_predict is None or tokens <= limits.num_predict


def _before_token(produced: int, limits: Limits, pause: Callable[[float], None]) -> None:
    if limits.crash_after is not None and produced >= limits.crash_after:
        os._exit(2)
    if limits.fail_after is not None and produced >= limits.fail_after:
        raise GenerationFailed(
            "an error was encountered while running the model: "
            f"injected failure after {produced} tokens (STANDIN_FAIL_AFTER)"
        )
    pause(limits.token_delay)


def _stop_cut(previous: str, token: str, stops: Sequence[str]) -> str | None:
    """If a stop sequence appears once `token` is added, the part of `token` before it."""
    combined = previous + token
    positions = [combined.find(stop) for stop in stops if stop in combined]
    if not positions:
        return None
    return combined[: min(positions)][len(previous) :]


def embedding(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A unit-length float32 vector derived from the text (`/api/embed`)."""
    return normalize(raw_embedding(text, dimensions))


def raw_embedding(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """The un-normalised vector (`/api/embeddings` returns it as is)."""
    seed = hashlib.sha256(text.encode()).digest()
    return [
        float32((_number(seed, f"dim{index}") % 20001 - 10000) / 10000)
        for index in range(dimensions)
    ]


def normalize(vector: list[float]) -> list[float]:
    """Scale to unit L2 norm and round to float32, as Ollama's `normalize`."""
    norm = math.sqrt(sum(value * value for value in vector)) or 1e-12
    return [float32(value / norm) for value in vector]
