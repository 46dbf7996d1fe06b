"""JSON as Go's encoding/json writes and reads it: compact output and decoder-style errors.

Ollama is a Go server, so its bodies are compact JSON with `<`, `>` and `&` escaped, integral
floats written without a fraction, and request errors worded by Go's decoder
(`invalid character 'x' looking for beginning of value`,
`json: cannot unmarshal string into Go struct field ChatRequest.messages of type []api.Message`).
"""

import json
from collections.abc import Callable, Mapping
from typing import Any

_HTML_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_LARGEST_PLAIN_FLOAT = 1e21
_LITERALS = {"n": "null", "t": "true", "f": "false"}
_HEX = frozenset("0123456789abcdefABCDEF")


class EmptyBody(Exception):
    """The request body holds no JSON value at all (Go's decoder returns `io.EOF`)."""


class DecodeError(Exception):
    """The request body is not JSON, or a field has the wrong type; the text is Go's."""


class JsonNumber(float):
    """A JSON number that is not an integer literal, remembering how it was written."""

    literal: str

    def __new__(cls, literal: str) -> "JsonNumber":
        number = super().__new__(cls, literal)
        number.literal = literal
        return number


def encode(value: Any) -> str:
    """Serialise `value` the way Go's `json.Marshal` does (compact, HTML-safe)."""
    text = json.dumps(_go_numbers(value), ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in _HTML_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text


def encode_bytes(value: Any, *, newline: bool = False) -> bytes:
    """`encode` as UTF-8 bytes; `newline` mimics `json.Encoder.Encode`, which appends `\\n`."""
    return (encode(value) + ("\n" if newline else "")).encode()


def _go_numbers(value: Any) -> Any:
    """Write integral floats as integers, as Go prints float64 values such as `1` or `4096`."""
    if isinstance(value, float) and value.is_integer() and abs(value) < _LARGEST_PLAIN_FLOAT:
        return int(value)
    if isinstance(value, dict):
        return {key: _go_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_go_numbers(item) for item in value]
    return value


def decode(raw: bytes) -> Any:
    """Decode the first JSON value of `raw` like `json.Decoder.Decode`; trailing bytes are ignored.

    Raises `EmptyBody` when there is no value and `DecodeError` with Go's wording on bad syntax.
    """
    text = raw.decode("utf-8", errors="replace").lstrip(" \t\r\n")
    if not text:
        raise EmptyBody
    decoder = json.JSONDecoder(parse_float=JsonNumber, parse_constant=_reject_constant)
    try:
        value, _ = decoder.raw_decode(text)
    except json.JSONDecodeError as error:
        raise DecodeError(_syntax_message(error, text)) from None
    except _ConstantError as error:
        char = _quote_char(str(error)[0])
        raise DecodeError(f"invalid character {char} looking for beginning of value") from None
    return value


class _ConstantError(ValueError):
    """Raised for `NaN` and `Infinity`, which Python accepts and Go rejects."""


def _reject_constant(name: str) -> Any:
    raise _ConstantError(name)


def _syntax_message(error: json.JSONDecodeError, text: str) -> str:
    """Translate a Python JSON syntax error into the message Go's scanner would give."""
    pos = error.pos
    if pos >= len(text) or error.msg.startswith("Unterminated string"):
        return "unexpected EOF"
    if error.msg == "Expecting value" and text[pos] in _LITERALS:
        return _literal_message(text, pos)
    if error.msg == "Expecting value" and text[pos] == "-":
        return _after(text, pos + 1, "in numeric literal")
    if error.msg.startswith("Invalid \\escape"):
        return _after(text, pos + 1, "in string escape code")
    if error.msg.startswith("Invalid \\u"):  # Python's "Invalid \\u<4 hex digits> escape"
        digits = text[pos + 1 : pos + 5]
        bad = next((i for i, c in enumerate(digits) if c not in _HEX), len(digits))
        return _after(text, pos + 1 + bad, "in \\u hexadecimal character escape")
    char = _quote_char(text[pos])
    messages = {
        "Expecting value": f"invalid character {char} looking for beginning of value",
        "Expecting property name enclosed in double quotes": (
            f"invalid character {char} looking for beginning of object key string"
        ),
        "Expecting ':' delimiter": f"invalid character {char} after object key",
        "Invalid control character at": f"invalid character {char} in string literal",
    }
    if error.msg == "Expecting ',' delimiter":
        where = (
            "object key:value pair" if _innermost_container(text, pos) == "{" else "array element"
        )
        return f"invalid character {char} after {where}"
    return messages.get(error.msg, error.msg)


def _after(text: str, pos: int, context: str) -> str:
    """`invalid character 'x' <context>` for the character at `pos`, or `unexpected EOF`."""
    if pos >= len(text):
        return "unexpected EOF"
    return f"invalid character {_quote_char(text[pos])} {context}"


def _literal_message(text: str, pos: int) -> str:
    """Go's error for a misspelled `null`, `true` or `false` (`in literal null (expecting 'u')`).

    Python only reports a literal when it is not complete, so a mismatch always exists.
    """
    word = _LITERALS[text[pos]]
    offset = next(i for i in range(1, len(word)) if text[pos + i : pos + i + 1] != word[i])
    if pos + offset >= len(text):
        return "unexpected EOF"
    char, expected = _quote_char(text[pos + offset]), _quote_char(word[offset])
    return f"invalid character {char} in literal {word} (expecting {expected})"


def _innermost_container(text: str, pos: int) -> str:
    """The bracket (`{` or `[`) that encloses position `pos`, ignoring brackets inside strings."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text[:pos]:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append(char)
        elif char in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _quote_char(char: str) -> str:
    """Go's `quoteChar`: `'x'`, with `'\\''`, `'"'` and escapes for control bytes."""
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    escapes = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f", "\\": "\\\\"}
    if char in escapes:
        return f"'{escapes[char]}'"
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"'\\x{ord(char):02x}'"
    if ord(char) > 0x7F:
        return f"'\\x{char.encode()[0]:02x}'"
    return f"'{char}'"


def json_kind(value: Any) -> str:
    """How Go's decoder names a JSON value in a type error (`string`, `number`, `array`...)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class TypeMismatch(Exception):
    """A field value of the wrong JSON type; carries the Go type that was expected."""

    def __init__(self, value: Any, go_type: str) -> None:
        super().__init__(go_type)
        self.value = value
        self.go_type = go_type


FieldCheck = Callable[[Any], None]
"""Validates one decoded field value: raises `TypeMismatch` or `DecodeError`."""


def expect(go_type: str, *python_types: type) -> FieldCheck:
    """A check that accepts values of `python_types` and otherwise reports `go_type`."""

    def check(value: Any) -> None:
        if isinstance(value, bool) and bool not in python_types:
            raise TypeMismatch(value, go_type)
        if not isinstance(value, python_types):
            raise TypeMismatch(value, go_type)

    return check


def _check_int(value: Any) -> None:
    """Go integers: a fraction or exponent is rejected as `number 1.5`."""
    if isinstance(value, JsonNumber):
        raise TypeMismatch(value, "int")
    expect("int", int)(value)


def expect_list(go_type: str, item: FieldCheck) -> FieldCheck:
    """A check for a JSON array whose items all pass `item`."""

    def check(value: Any) -> None:
        expect(go_type, list)(value)
        for element in value:
            if element is not None:
                item(element)

    return check


def expect_map(go_type: str, item: FieldCheck) -> FieldCheck:
    """A check for a JSON object whose values all pass `item`."""

    def check(value: Any) -> None:
        expect(go_type, dict)(value)
        for element in value.values():
            if element is not None:
                item(element)

    return check


def expect_struct(go_type: str, fields: Mapping[str, FieldCheck]) -> FieldCheck:
    """A check for a nested Go struct: a JSON object whose known fields pass their checks."""

    def check(value: Any) -> None:
        expect(go_type, dict)(value)
        for key, element in value.items():
            name = match_field(key, fields)
            if name is not None and element is not None:
                fields[name](element)

    return check


STRING = expect("string", str)
BOOL = expect("bool", bool)
INT: FieldCheck = _check_int
FLOAT32 = expect("float32", int, float)
FLOAT64 = expect("float64", int, float)
ANY: FieldCheck = lambda value: None  # noqa: E731 - a check that accepts everything
OBJECT = expect("map[string]interface {}", dict)
STRING_MAP = expect_map("map[string]string", STRING)


def match_field(key: str, fields: Mapping[str, Any]) -> str | None:
    """The struct field a JSON key sets: an exact match, else Go's case-insensitive match."""
    if key in fields:
        return key
    folded = key.casefold()
    return next((name for name in fields if name.casefold() == folded), None)


def decode_struct(value: Any, go_type: str, fields: Mapping[str, FieldCheck]) -> dict[str, Any]:
    """Validate a decoded body against a Go request struct and return its known fields.

    `go_type` is the qualified Go type (`api.ChatRequest`). Unknown keys are ignored and `null`
    leaves a field unset, as in Go. Raises `DecodeError` with Go's message.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DecodeError(
            f"json: cannot unmarshal {json_kind(value)} into Go value of type {go_type}"
        )
    struct = go_type.rpartition(".")[2]
    result: dict[str, Any] = {}
    for key, element in value.items():
        name = match_field(key, fields)
        if name is None or element is None:
            continue
        try:
            fields[name](element)
        except TypeMismatch as mismatch:
            raise DecodeError(
                f"json: cannot unmarshal {_mismatch_kind(mismatch)} into Go struct field "
                f"{struct}.{name} of type {mismatch.go_type}"
            ) from None
        result[name] = element
    return result


def _mismatch_kind(mismatch: TypeMismatch) -> str:
    """Go names a non-integer number by its literal only when an integer was expected."""
    if isinstance(mismatch.value, JsonNumber) and mismatch.go_type.startswith(("int", "uint")):
        return f"number {mismatch.value.literal}"
    return json_kind(mismatch.value)
