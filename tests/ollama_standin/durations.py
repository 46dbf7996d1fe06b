"""Go durations and Ollama's `keep_alive` values (`"5m"`, `300`, `-1`, `"0"`)."""

from typing import Any

NANOS_PER_SECOND = 1_000_000_000
FOREVER = 2**63 - 1
"""What Ollama stores for a negative keep-alive: `math.MaxInt64` nanoseconds (~292 years)."""

DEFAULT_KEEP_ALIVE = 5 * 60 * NANOS_PER_SECOND

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": NANOS_PER_SECOND,
    "m": 60 * NANOS_PER_SECOND,
    "h": 3600 * NANOS_PER_SECOND,
}
_DIGITS = frozenset("0123456789")


class DurationError(ValueError):
    """A value Go's `time.ParseDuration` or Ollama's `Duration.UnmarshalJSON` rejects."""


def parse_go_duration(text: str) -> int:
    """Nanoseconds of a Go duration string; raises `DurationError` with Go's message."""
    rest = text
    negative = rest[:1] == "-"
    if rest[:1] in ("-", "+"):
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise DurationError(f"time: invalid duration {_quote(text)}")
    total = 0
    while rest:
        amount, rest = _leading_amount(rest, text)
        unit_end = next(
            (i for i, char in enumerate(rest) if char in _DIGITS or char == "."), len(rest)
        )
        unit, rest = rest[:unit_end], rest[unit_end:]
        if not unit:
            raise DurationError(f"time: missing unit in duration {_quote(text)}")
        if unit not in _UNITS:
            raise DurationError(f"time: unknown unit {_quote(unit)} in duration {_quote(text)}")
        total += int(amount * _UNITS[unit])
        if total > FOREVER:
            raise DurationError(f"time: invalid duration {_quote(text)}")
    return -total if negative else total


def _leading_amount(rest: str, original: str) -> tuple[float, str]:
    """Split `[digits][.digits]` off the front of `rest`; at least one digit is required."""
    end = 0
    while end < len(rest) and rest[end] in _DIGITS:
        end += 1
    whole = rest[:end]
    fraction = ""
    if rest[end : end + 1] == ".":
        start = end + 1
        end = start
        while end < len(rest) and rest[end] in _DIGITS:
            end += 1
        fraction = rest[start:end]
    if not whole and not fraction:
        raise DurationError(f"time: invalid duration {_quote(original)}")
    return float(f"{whole or 0}.{fraction or 0}"), rest[end:]


def _quote(text: str) -> str:
    """Go's `time.quote`: double quotes, `\\` and `"` escaped, other bytes shown as `\\xNN`."""
    out = []
    for char in text:
        if ord(char) < 0x20 or ord(char) >= 0x80:
            out.extend(f"\\x{byte:02x}" for byte in char.encode())
        elif char in '"\\':
            out.append("\\" + char)
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def parse_keep_alive(value: Any) -> int:
    """Nanoseconds for a request's `keep_alive` (seconds or a duration string; negative = forever).

    Mirrors `api.Duration.UnmarshalJSON`; raises `DurationError` with Ollama's message.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DurationError(f"Unsupported type: '{_go_type_name(value)}'")
    if isinstance(value, str):
        duration = parse_go_duration(value)
        return FOREVER if duration < 0 else duration
    if value < 0:
        return FOREVER
    return min(int(value * NANOS_PER_SECOND), FOREVER)


def _go_type_name(value: Any) -> str:
    """`reflect.TypeOf` of a value decoded into `any`, as printed in the error."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def parse_env_keep_alive(text: str) -> int:
    """`OLLAMA_KEEP_ALIVE`: a Go duration or whole seconds; negative = forever; bad = 5m."""
    try:
        duration = parse_go_duration(text)
    except DurationError:
        try:
            duration = int(text) * NANOS_PER_SECOND
        except ValueError:
            duration = DEFAULT_KEEP_ALIVE
    return FOREVER if duration < 0 else duration
