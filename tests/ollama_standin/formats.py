"""Values printed the way Ollama's Go code prints them: timestamps, sizes, floats, base64."""

import base64
import json
import struct
import time
from typing import Any

_NANOS_PER_SECOND = 1_000_000_000
_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_NEWLINES = frozenset(b"\r\n")


def go_time(ns: int, *, utc: bool) -> str:
    """RFC 3339 with nanoseconds as Go's `time.RFC3339Nano` prints it (trailing zeros trimmed).

    `utc=True` gives `...Z` (Ollama's `created_at`); otherwise server-local time with its
    offset (`modified_at`, `expires_at`), which is also `Z` when the local zone is UTC.
    """
    seconds, nanos = divmod(ns, _NANOS_PER_SECOND)
    moment = time.gmtime(seconds) if utc else time.localtime(seconds)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", moment)
    if nanos:
        stamp += "." + f"{nanos:09d}".rstrip("0")
    return stamp + zone_suffix(0 if utc else moment.tm_gmtoff or 0)


def zone_suffix(offset_seconds: int) -> str:
    """`Z` for UTC, else `+hh:mm` / `-hh:mm`."""
    if offset_seconds == 0:
        return "Z"
    sign = "+" if offset_seconds > 0 else "-"
    hours, minutes = divmod(abs(offset_seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def human_number(count: int) -> str:
    """Ollama's `format.HumanNumber`: `1.1B`, `751.63M`, `137M`, `33K`."""
    for scale, suffix, digits in ((1e9, "B", 1), (1e6, "M", 2)):
        if count >= scale:
            number = count / scale
            return (
                f"{number:.0f}{suffix}" if number.is_integer() else f"{number:.{digits}f}{suffix}"
            )
    if count >= 1000:
        return f"{count / 1000:.0f}K"
    return str(count)


def go_value(value: Any, *, quoted: bool) -> str:
    """A parameter value as Go's `%v` (`quoted=False`) or `%#v` (`quoted=True`) prints it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, str) and quoted:
        return go_quote(value)
    if value is None:
        return "<nil>"
    return str(value)


def go_duration(ns: int) -> str:
    """Go's `time.Duration.String` for the request log: `512ns`, `1.5µs`, `2.25ms`, `1.2s`."""
    for unit, size, digits in (("s", 1e9, 9), ("ms", 1e6, 6), ("µs", 1e3, 3)):
        if ns >= size:
            return f"{ns / size:.{digits}f}".rstrip("0").rstrip(".") + unit
    return f"{ns}ns"


def float32(value: float) -> float:
    """Round to float32 and return the shortest decimal that round-trips, as Go encodes it."""
    packed = struct.pack("<f", value)
    (single,) = struct.unpack("<f", packed)
    candidates = (float(f"{single:.{digits}g}") for digits in range(1, 10))
    return next(candidate for candidate in candidates if struct.pack("<f", candidate) == packed)


def float32_base64(values: list[float]) -> str:
    """Little-endian float32s in standard base64, as `/v1/embeddings` encodes them."""
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def base64_error_offset(text: str) -> int | None:
    """Where Go's `base64.StdEncoding` reports corrupt input in `text`, or None if it decodes.

    A port of Go's `decodeQuantum`, so the 400 reads `illegal base64 data at input byte N`
    with the same N as Ollama (newlines are skipped, padding is required).
    """
    data = text.encode()
    position = 0
    while True:
        position, offset, finished = _base64_quantum(data, position)
        if offset is not None or finished:
            return offset


def _base64_quantum(data: bytes, si: int) -> tuple[int, int | None, bool]:
    """Consume one 4-character quantum; returns (next index, error offset, reached the end)."""
    valid = 0
    while valid < 4:
        if si == len(data):
            if valid == 0:
                return si, None, True
            return si, si - valid, True
        byte = data[si]
        si += 1
        if byte in _BASE64_ALPHABET:
            valid += 1
            continue
        if byte in _NEWLINES:
            continue
        if byte != ord("=") or valid < 2:
            return si, si - 1, True
        if valid == 2:
            si = _skip_newlines(data, si)
            if si == len(data):
                return si, len(data), True
            if data[si] != ord("="):
                return si, si - 1, True
            si += 1
        si = _skip_newlines(data, si)
        return si, (si if si < len(data) else None), True
    return si, None, False


def _skip_newlines(data: bytes, si: int) -> int:
    while si < len(data) and data[si] in _NEWLINES:
        si += 1
    return si


def go_quote(text: str) -> str:
    """A string as Go's `%q` prints it in error messages: `"name"` with escapes."""
    return json.dumps(text, ensure_ascii=False)
