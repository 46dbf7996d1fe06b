"""What a model file is, told by its content: a GGUF, or an archive holding a model for Ollama.

`sniff` looks at a file's first bytes; `read_gguf_metadata` at a GGUF's header; `plan_layout`
decides from an archive's (or a folder's) list of files what Ollama's create will get: GGUF files,
a Hugging Face safetensors model, or a LoRA adapter. Every refusal is a `NotAModel` whose message
says what was expected.
"""

import json
import struct
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from models_app.models import ModelFormat

SNIFF_SIZE = 512
GGUF_MAGIC = b"GGUF"
GGUF_VERSIONS = (2, 3)

# `architectures[0]` values of config.json that Ollama converts from safetensors (convert.go).
CONVERTIBLE_ARCHITECTURES = frozenset(
    {
        "LlamaForCausalLM",
        "MllamaForConditionalGeneration",
        "Llama4ForConditionalGeneration",
        "Mistral3ForConditionalGeneration",
        "Ministral3ForCausalLM",
        "MixtralForCausalLM",
        "GemmaForCausalLM",
        "Gemma2ForCausalLM",
        "Gemma3ForCausalLM",
        "Gemma3ForConditionalGeneration",
        "Gemma3TextModel",
        "Gemma3nForConditionalGeneration",
        "Gemma4ForCausalLM",
        "Gemma4ForConditionalGeneration",
        "Phi3ForCausalLM",
        "Qwen2ForCausalLM",
        "Qwen2_5_VLForConditionalGeneration",
        "Qwen3VLForConditionalGeneration",
        "Qwen3VLMoeForConditionalGeneration",
        "Qwen3NextForCausalLM",
        "Qwen3_5ForConditionalGeneration",
        "Qwen3_5MoeForConditionalGeneration",
        "Olmo3ForCausalLM",
        "BertModel",
        "NomicBertModel",
        "NomicBertMoEModel",
        "CohereForCausalLM",
        "GptOssForCausalLM",
        "DeepseekOCRForCausalLM",
        "DeepseekV3ForCausalLM",
        "Glm4MoeLiteForCausalLM",
        "LagunaForCausalLM",
        "GlmOcrForConditionalGeneration",
        "Lfm2ForCausalLM",
        "Lfm2MoeForCausalLM",
        "Lfm2VlForConditionalGeneration",
        "NemotronHForCausalLM",
        "NemotronH_Nano_VL_V2",
        "NemotronH_Nano_Omni_Reasoning_V3",
    }
)
# Base-model architectures (GGUF `general.architecture`) for which Ollama converts a
# safetensors LoRA adapter.
ADAPTER_BASE_ARCHITECTURES = frozenset({"llama", "gemma2"})

MODEL_CONFIG = "config.json"
ADAPTER_CONFIG = "adapter_config.json"
# Small JSON files whose content decides the layout; archives are read for these only.
CONFIG_FILES = (MODEL_CONFIG, ADAPTER_CONFIG)
CONFIG_MAX_SIZE = 1024 * 1024
# Files of a Hugging Face model directory that Ollama's converter reads.
HF_SUFFIXES = (".safetensors", ".json", ".model", ".txt", ".jinja")
CHECKPOINT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt")
EXPECTED = (
    "expected a GGUF file, or a ZIP or tar(.gz) archive holding a GGUF file, a Hugging Face "
    "safetensors model (config.json, *.safetensors, tokenizer files) or a LoRA adapter "
    "(adapter_config.json and its weights)"
)


class NotAModel(Exception):
    """The file cannot become an Ollama model; `message` says why, for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def sniff(head: bytes) -> str:
    """The kind of file that starts with `head`: "gguf", "zip", "tar" or "tar.gz".

    Needs the first SNIFF_SIZE bytes (fewer for a shorter file). Raises NotAModel.
    """
    if head[:4] == GGUF_MAGIC:
        version = struct.unpack("<I", head[4:8])[0] if len(head) >= 8 else 0
        if version not in GGUF_VERSIONS:
            raise NotAModel(f"This GGUF file has version {version}; Ollama reads versions 2 and 3.")
        return "gguf"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "tar.gz"
    if head[257:262] == b"ustar":
        return "tar"
    if _looks_like_safetensors(head):
        raise NotAModel(
            "This is a bare safetensors file: Ollama also needs the model's config.json and "
            "tokenizer files. Upload the model's folder as a ZIP or tar archive."
        )
    raise NotAModel(f"This file is not a model: {EXPECTED}.")


def _looks_like_safetensors(head: bytes) -> bool:
    """A safetensors file: an 8-byte header length, then a JSON object."""
    return len(head) > 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] < 10**8


# -- GGUF header -----------------------------------------------------------------------------

_SCALARS = {
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
_STRING, _ARRAY = 8, 9


class _Truncated(Exception):
    pass


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise _Truncated
        piece = self.data[self.pos : self.pos + size]
        self.pos += size
        return piece

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        return self.take(self.unpack("<Q")).decode("utf-8", errors="replace")

    def value(self, kind: int, *, keep: bool):
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_kind, count = self.unpack("<I"), self.unpack("<Q")
            if item_kind in _SCALARS and not keep:
                self.take(struct.calcsize(_SCALARS[item_kind]) * count)
                return None
            items = [self.value(item_kind, keep=keep) for _ in range(count)]
            return items if keep else None
        raise NotAModel(f"This GGUF file has a metadata value of unknown type {kind}.")


def read_gguf_metadata(head: bytes, *, keys: frozenset[str]) -> dict:
    """The values of `keys` found in the metadata of the GGUF that starts with `head`.

    Reads as far as `head` goes: a key that lies beyond it is simply absent.
    """
    reader = _Reader(head)
    found: dict = {}
    try:
        reader.take(8)  # magic and version
        reader.unpack("<Q")  # tensor count
        for _ in range(reader.unpack("<Q")):
            key = reader.string()
            found_value = reader.value(reader.unpack("<I"), keep=key in keys)
            if key in keys:
                found[key] = found_value
                if len(found) == len(keys):
                    break
    except _Truncated:
        pass
    return found


GGUF_KEYS = frozenset({"general.architecture", "general.type"})


def gguf_is_adapter(head: bytes) -> bool:
    """True when the GGUF starting with `head` is a LoRA adapter rather than a model."""
    return read_gguf_metadata(head, keys=GGUF_KEYS).get("general.type") == "adapter"


# -- archive and folder layouts --------------------------------------------------------------


@dataclass
class Layout:
    """What to hand Ollama's create: `files` (or `adapters`) by the name Ollama sees."""

    format: str
    # Name Ollama sees (relative, slash-separated) -> member path in the archive or folder.
    files: dict[str, str] = field(default_factory=dict)
    adapters: dict[str, str] = field(default_factory=dict)
    architecture: str = ""
    # The base model an adapter names in adapter_config.json (may be empty).
    adapter_base: str = ""


def _common_root(names: list[str]) -> str:
    """The one folder every member sits in ("" when there is none), e.g. `my-model/`."""
    firsts = {PurePosixPath(name).parts[0] for name in names if "/" in name}
    if len(firsts) == 1 and all("/" in name for name in names):
        return firsts.pop() + "/"
    return ""


def _is_junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def parse_config(name: str, text: str) -> dict:
    """A config.json or adapter_config.json as a dict; raises NotAModel when it is not one."""
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise NotAModel(f"{name} in the archive is not valid JSON ({exc}).") from None
    if not isinstance(config, dict):
        raise NotAModel(f"{name} in the archive is not a JSON object.")
    return config


def model_architecture(config: dict) -> str:
    """config.json's architecture, checked against what Ollama converts; raises NotAModel."""
    architectures = config.get("architectures")
    if not isinstance(architectures, list) or not architectures:
        raise NotAModel(
            "config.json names no architecture ('architectures' is missing), so Ollama cannot "
            "convert this model."
        )
    architecture = str(architectures[0])
    if architecture not in CONVERTIBLE_ARCHITECTURES:
        raise NotAModel(
            f'Ollama cannot convert architecture "{architecture}" from safetensors. It converts: '
            + ", ".join(sorted(CONVERTIBLE_ARCHITECTURES))
            + ". Convert the model to GGUF first, or upload a GGUF file."
        )
    return architecture


def adapter_base_model(config: dict) -> str:
    """The base model adapter_config.json names (`base_model_name_or_path`), or ""."""
    base = config.get("base_model_name_or_path")
    return base.strip() if isinstance(base, str) else ""


def plan_layout(members: list[str], configs: dict[str, str]) -> Layout:
    """Decide what in an archive or folder becomes the model.

    `members` are the files' relative paths; `configs` the text of its config.json and
    adapter_config.json files by path. A GGUF wins over anything else; then an adapter; then a
    Hugging Face model. Raises NotAModel when none is there.
    """
    names = [name for name in members if not _is_junk(name)]
    root = _common_root(names)

    def key(name: str) -> str:
        return name[len(root) :]

    ggufs = [name for name in names if name.lower().endswith(".gguf")]
    if ggufs:
        return Layout(format=ModelFormat.GGUF, files={key(n): n for n in ggufs})
    by_key = {key(name): name for name in names}
    if ADAPTER_CONFIG in by_key:
        config = parse_config(ADAPTER_CONFIG, configs.get(by_key[ADAPTER_CONFIG], "{}"))
        weights = [k for k in by_key if k.endswith(".safetensors")]
        if not weights:
            raise NotAModel("The archive has adapter_config.json but no adapter weights.")
        files = {k: by_key[k] for k in [ADAPTER_CONFIG, *weights]}
        return Layout(
            format=ModelFormat.LORA, adapters=files, adapter_base=adapter_base_model(config)
        )
    if MODEL_CONFIG in by_key and any(k.endswith(".safetensors") for k in by_key):
        config = parse_config(MODEL_CONFIG, configs.get(by_key[MODEL_CONFIG], "{}"))
        files = {k: n for k, n in by_key.items() if k.lower().endswith(HF_SUFFIXES)}
        return Layout(
            format=ModelFormat.SAFETENSORS, files=files, architecture=model_architecture(config)
        )
    if any(name.lower().endswith(CHECKPOINT_SUFFIXES) for name in names):
        raise NotAModel(
            "The archive holds PyTorch checkpoint files (.bin/.pt/.pth), which Ollama does not "
            "import. Save the model as safetensors (or convert it to GGUF) and upload that."
        )
    raise NotAModel(f"The archive holds no model: {EXPECTED}.")


def config_path(name: str) -> bool:
    """True for a member whose content `plan_layout` needs (config.json, adapter_config.json)."""
    return PurePosixPath(name).name in CONFIG_FILES and not _is_junk(name)
