"""Runner options (`temperature`, `num_predict`, `stop`, ...) merged and checked as Ollama does."""

from collections.abc import Mapping
from typing import Any

_INTEGER = "integer"
_FLOAT = "float32"
_BOOLEAN = "boolean"
_STRINGS = "array"

_OPTION_TYPES = {
    "num_keep": _INTEGER,
    "seed": _INTEGER,
    "num_predict": _INTEGER,
    "top_k": _INTEGER,
    "top_p": _FLOAT,
    "min_p": _FLOAT,
    "typical_p": _FLOAT,
    "repeat_last_n": _INTEGER,
    "temperature": _FLOAT,
    "repeat_penalty": _FLOAT,
    "presence_penalty": _FLOAT,
    "frequency_penalty": _FLOAT,
    "stop": _STRINGS,
    "num_ctx": _INTEGER,
    "num_batch": _INTEGER,
    "num_gpu": _INTEGER,
    "main_gpu": _INTEGER,
    "use_mmap": _BOOLEAN,
    "num_thread": _INTEGER,
    "draft_num_predict": _INTEGER,
}


class OptionError(ValueError):
    """An option of the wrong type; Ollama reports it as a 500 from the scheduler."""


def merge_options(
    model_params: Mapping[str, Any], request_options: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Model parameters overlaid by request options, each checked like `api.Options.FromMap`.

    Unknown keys are ignored (Ollama logs them); raises `OptionError` with Ollama's message.
    """
    merged: dict[str, Any] = {}
    for source in (model_params, request_options or {}):
        for key, value in source.items():
            kind = _OPTION_TYPES.get(key)
            if kind is None or value is None:
                continue
            _check(key, kind, value)
            merged[key] = int(value) if kind == _INTEGER else value
    return merged


def _check(key: str, kind: str, value: Any) -> None:
    if kind == _BOOLEAN:
        ok = isinstance(value, bool)
    elif kind in (_INTEGER, _FLOAT):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        if not isinstance(value, list):
            raise OptionError(f'option "{key}" must be of type array')
        if not all(isinstance(item, str) for item in value):
            raise OptionError(f'option "{key}" must be of an array of strings')
        ok = True
    if not ok:
        raise OptionError(f'option "{key}" must be of type {kind}')


def num_predict(options: Mapping[str, Any]) -> int | None:
    """The token cap a request sets (`None` = unlimited, as for -1 and -2)."""
    value = options.get("num_predict")
    return value if isinstance(value, int) and value >= 0 else None


def stop_sequences(options: Mapping[str, Any]) -> list[str]:
    return [stop for stop in options.get("stop") or [] if stop]
