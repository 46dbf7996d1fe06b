"""Just enough GGUF: write small metadata-only model files and read a file's key/value header."""

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .formats import float32

MAGIC = b"GGUF"
_VERSION = 3

_UINT32, _FLOAT32, _BOOL, _STRING, _ARRAY, _UINT64, _INT64 = 4, 6, 7, 8, 9, 10, 11
_SCALARS: dict[int, str] = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_MAX_HEADER_ITEMS = 1 << 20

FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    32: "BF16",
}
"""`general.file_type` values (llama.cpp's `llama_ftype`) and their names."""

TENSOR_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    6: "Q5_0",
    7: "Q5_1",
    8: "Q8_0",
    9: "Q8_1",
    10: "Q2_K",
    11: "Q3_K",
    12: "Q4_K",
    13: "Q5_K",
    14: "Q6_K",
    15: "Q8_K",
    30: "BF16",
}
"""ggml tensor type codes and the names `/api/show` prints."""


class GGUFError(ValueError):
    """The file is not a readable GGUF header."""


def file_type_name(kv: dict[str, Any]) -> str:
    """Ollama's `KV.FileType().String()`: the quantization name, or `unknown`."""
    value = kv.get("general.file_type")
    if isinstance(value, int) and value > 0:
        return FILE_TYPES.get(value, "unknown")
    return "unknown"


def file_type_code(name: str) -> int:
    """The `general.file_type` value of a quantization name such as `Q4_K_M`."""
    return next(code for code, known in FILE_TYPES.items() if known == name)


def build(metadata: dict[str, Any]) -> bytes:
    """A GGUF v3 file with the given key/values and no tensors."""
    parts = [MAGIC, struct.pack("<IQQ", _VERSION, 0, len(metadata))]
    for key, value in metadata.items():
        parts.append(_string(key))
        parts.append(_value(value))
    return b"".join(parts)


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def _value(value: Any) -> bytes:
    if isinstance(value, bool):
        return struct.pack("<I?", _BOOL, value)
    if isinstance(value, int):
        if 0 <= value < 2**32:
            return struct.pack("<II", _UINT32, value)
        if value >= 0:
            return struct.pack("<IQ", _UINT64, value)
        return struct.pack("<Iq", _INT64, value)
    if isinstance(value, float):
        return struct.pack("<If", _FLOAT32, value)
    if isinstance(value, str):
        return struct.pack("<I", _STRING) + _string(value)
    if isinstance(value, list):
        return _array(value)
    raise TypeError(f"cannot store {type(value).__name__} in GGUF metadata")


def _array(items: list[Any]) -> bytes:
    if all(isinstance(item, str) for item in items):
        body = b"".join(_string(item) for item in items)
        return struct.pack("<IIQ", _ARRAY, _STRING, len(items)) + body
    if all(isinstance(item, int) and not isinstance(item, bool) for item in items):
        body = struct.pack(f"<{len(items)}i", *items)
        return struct.pack("<IIQ", _ARRAY, 5, len(items)) + body
    body = struct.pack(f"<{len(items)}f", *items)
    return struct.pack("<IIQ", _ARRAY, _FLOAT32, len(items)) + body


@dataclass(frozen=True)
class Header:
    """A GGUF file's key/values and tensor descriptions (`{name, type, shape}`)."""

    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: list[dict[str, Any]] = field(default_factory=list)


def read_header(path: Path) -> Header:
    """The header of a GGUF file; raises `GGUFError` if it cannot be read."""
    try:
        with path.open("rb") as stream:
            return _read_header(stream)
    except (OSError, struct.error, UnicodeDecodeError, MemoryError) as error:
        raise GGUFError(str(error)) from None


def _read_header(stream: BinaryIO) -> Header:
    if stream.read(4) != MAGIC:
        raise GGUFError("not a GGUF file")
    version, tensor_count, kv_count = struct.unpack("<IQQ", _exactly(stream, 20))
    if version < 2 or max(tensor_count, kv_count) > _MAX_HEADER_ITEMS:
        raise GGUFError(f"unsupported GGUF header (version {version})")
    metadata: dict[str, Any] = {}
    for _ in range(kv_count):
        key = _read_string(stream)
        (kind,) = struct.unpack("<I", _exactly(stream, 4))
        metadata[key] = _read_value(stream, kind)
    tensors = [_read_tensor(stream) for _ in range(tensor_count)]
    if tensors:  # Ollama counts parameters from the tensors (metadata-only files keep theirs)
        metadata["general.parameter_count"] = sum(math.prod(t["shape"]) for t in tensors)
    return Header(metadata, tensors)


def _read_tensor(stream: BinaryIO) -> dict[str, Any]:
    name = _read_string(stream)
    (dimensions,) = struct.unpack("<I", _exactly(stream, 4))
    shape = list(struct.unpack(f"<{dimensions}Q", _exactly(stream, 8 * dimensions)))
    kind, _offset = struct.unpack("<IQ", _exactly(stream, 12))
    return {"name": name, "type": TENSOR_TYPES.get(kind, str(kind)), "shape": shape}


def _read_value(stream: BinaryIO, kind: int) -> Any:
    reader = _READERS.get(kind)
    if reader is None:
        raise GGUFError(f"unknown GGUF value type {kind}")
    return reader(stream)


def _scalar_reader(fmt: str) -> Callable[[BinaryIO], Any]:
    size = struct.calcsize(fmt)
    if fmt == "<f":
        return lambda stream: float32(struct.unpack(fmt, _exactly(stream, size))[0])
    return lambda stream: struct.unpack(fmt, _exactly(stream, size))[0]


def _read_string(stream: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", _exactly(stream, 8))
    return _exactly(stream, length).decode()


def _read_array(stream: BinaryIO) -> list[Any]:
    kind, length = struct.unpack("<IQ", _exactly(stream, 12))
    if length > _MAX_HEADER_ITEMS * 4:
        raise GGUFError(f"GGUF array of {length} items is too long")
    return [_read_value(stream, kind) for _ in range(length)]


_READERS: dict[int, Callable[[BinaryIO], Any]] = {
    **{kind: _scalar_reader(fmt) for kind, fmt in _SCALARS.items()},
    _STRING: _read_string,
    _ARRAY: _read_array,
}


def _exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise GGUFError("unexpected EOF")
    return data
