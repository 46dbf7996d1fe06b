"""`POST /api/create`: derive a model from another, or import GGUF / safetensors files.

Follows Ollama's `CreateHandler` and `createModel`: the same checks, the same order of progress
lines (`parsing GGUF`, `converting model`, `using existing layer ...`, `creating new layer ...`,
`writing manifest`, `success`) and the same error texts and statuses. Conversion is simulated:
a safetensors directory becomes a small metadata-only GGUF.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from . import gguf, wire
from .formats import human_number
from .httpio import ApiError
from .names import ModelName, ModelRefError, parse_model_ref, parse_pull_ref
from .pull import pull_events
from .store import (
    ADAPTER,
    LICENSE,
    MESSAGES,
    MODEL,
    PARAMS,
    PROJECTOR,
    SYSTEM,
    TEMPLATE,
    InvalidDigest,
    Layer,
    ModelStore,
)

_ARCHITECTURES = {
    "LlamaForCausalLM": "llama",
    "MllamaForConditionalGeneration": "mllama",
    "Llama4ForConditionalGeneration": "llama4",
    "Mistral3ForConditionalGeneration": "mistral3",
    "Ministral3ForCausalLM": "mistral3",
    "MixtralForCausalLM": "llama",
    "GemmaForCausalLM": "gemma",
    "Gemma2ForCausalLM": "gemma2",
    "Gemma3ForCausalLM": "gemma3",
    "Gemma3ForConditionalGeneration": "gemma3",
    "Gemma3TextModel": "gemma-embedding",
    "Gemma3nForConditionalGeneration": "gemma3n",
    "Gemma4ForCausalLM": "gemma4",
    "Gemma4ForConditionalGeneration": "gemma4",
    "Phi3ForCausalLM": "phi3",
    "Qwen2ForCausalLM": "qwen2",
    "Qwen2_5_VLForConditionalGeneration": "qwen25vl",
    "Qwen3VLForConditionalGeneration": "qwen3vl",
    "Qwen3VLMoeForConditionalGeneration": "qwen3vlmoe",
    "Olmo3ForCausalLM": "olmo3",
    "BertModel": "bert",
    "NomicBertModel": "nomic-bert",
    "NomicBertMoEModel": "nomic-bert-moe",
    "CohereForCausalLM": "command-r",
    "GptOssForCausalLM": "gptoss",
    "DeepseekOCRForCausalLM": "deepseekocr",
    "DeepseekV3ForCausalLM": "deepseek2",
    "Glm4MoeLiteForCausalLM": "glm4moelite",
    "LagunaForCausalLM": "laguna",
    "GlmOcrForConditionalGeneration": "glmocr",
    "Lfm2ForCausalLM": "lfm2",
    "Lfm2MoeForCausalLM": "lfm2moe",
    "Lfm2VlForConditionalGeneration": "lfm2",
    "Qwen3NextForCausalLM": "qwen3next",
    "Qwen3_5ForConditionalGeneration": "qwen35",
    "Qwen3_5MoeForConditionalGeneration": "qwen35moe",
    "NemotronH_Nano_VL_V2": "nemotron_h_omni",
    "NemotronH_Nano_Omni_Reasoning_V3": "nemotron_h_omni",
    "NemotronHForCausalLM": "nemotron_h",
}
"""`config.json` `architectures[0]` values Ollama's converter accepts, and the GGUF family."""

_CONFIG_ORDER = (
    "model_format",
    "model_family",
    "model_families",
    "model_type",
    "file_type",
    "renderer",
    "parser",
    "requires",
    "capabilities",
    "architecture",
    "os",
)
"""The field order of Ollama's `ConfigV2` JSON."""

_EMBEDDING_FAMILIES = {"bert", "nomic-bert", "nomic-bert-moe", "gemma-embedding"}
_ADAPTER_BASES = {"llama", "gemma2"}
_QUANTIZE_TO = {"F32": "F32", "F16": "F16", "Q8_0": "Q8_0", "Q4_K_S": "Q4_K_S", "Q4_K_M": "Q4_K_M"}
_QUANTIZE_TO |= {"Q4_K": "Q4_K_M", "BF16": "BF16"}
_QUANTIZABLE = {"F16", "BF16", "F32"}
_BLOCK_KEYWORDS = re.compile(r"^-?\s*(if|range|with|block|define)\b")
_END_KEYWORD = re.compile(r"^-?\s*end\s*-?$")


@dataclass
class _Draft:
    """The model being assembled: its layers and `ConfigV2` fields."""

    layers: list[Layer] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    capabilities: list[str] = field(default_factory=list)


def check_request(store: ModelStore, request: dict[str, Any]) -> ModelName:
    """The checks Ollama makes before streaming anything; returns the (canonical) name.

    Raises `ApiError` 400 with Ollama's texts.
    """
    for files in (request.get("files") or {}, request.get("draft_files") or {}):
        for path, digest in files.items():
            if not valid_path(path):
                raise ApiError(400, "file path must be relative")
            if digest == "":
                raise ApiError(400, "invalid digest format")
    if request.get("draft_quantize") and not request.get("draft_files"):
        raise ApiError(400, "--draft-quantize requires a DRAFT model")
    if any(digest == "" for digest in (request.get("adapters") or {}).values()):
        raise ApiError(400, "invalid digest format")
    name = ModelName.parse(request.get("model") or request.get("name") or "")
    if not name.is_valid():
        raise ApiError(400, "invalid model name")
    return store.canonical(name)


def valid_path(path: str) -> bool:
    """Go's `io/fs.ValidPath`: a relative slash path without empty, `.` or `..` elements."""
    if path == ".":
        return True
    return all(element not in ("", ".", "..") for element in path.split("/"))


def create_events(
    store: ModelStore, request: dict[str, Any], name: ModelName, *, prune: bool
) -> Iterator[dict[str, Any]]:
    """Build the model and write its manifest, yielding Ollama's progress objects.

    Raises `ApiError` (with the status Ollama attaches, 500 when it attaches none).
    """
    old = store.get_exact(name)
    draft = _Draft(config=_base_config(request))
    if request.get("from"):
        yield from _from_model(store, request["from"], draft)
    elif request.get("files") is not None:
        layers = yield from _from_files(store, request["files"], draft, adapter=False)
        draft.layers += layers
        draft.capabilities = _imported_capabilities(store, name, layers)
    else:
        raise ApiError(400, "neither 'from' or 'files' was specified")
    if request.get("adapters") is not None:
        draft.layers += yield from _from_files(store, request["adapters"], draft, adapter=True)
    yield from _quantize(
        store, draft, (request.get("quantize") or request.get("quantization") or "")
    )
    _describe(store, draft)
    _apply_text_layers(store, draft, request)
    draft.config["capabilities"] = draft.capabilities
    config = {key: draft.config[key] for key in _CONFIG_ORDER if key in draft.config}
    config_layer = store.put_config(config)
    for layer in draft.layers:
        yield {"status": layer.status}
    yield {"status": "writing manifest"}
    with store.lock:
        store.write_manifest(name, config_layer, draft.layers)
        if prune and old is not None:
            store.remove_unused(old.layers + [old.config_layer])
    yield {"status": "success"}


def _base_config(request: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "model_format": "",
        "model_family": "",
        "model_families": None,
        "model_type": "",
        "file_type": "",
        "architecture": "amd64",
        "os": "linux",
    }
    for key in ("renderer", "parser", "requires"):
        if request.get(key):
            config[key] = request[key]
    return config


def _from_model(store: ModelStore, source: str, draft: _Draft) -> Iterator[dict[str, Any]]:
    """Reuse every layer of an existing model, pulling it from the catalogue if needed."""
    try:
        ref = parse_model_ref(source)
        if ref.source == "cloud":
            ref = parse_pull_ref(source)
    except ModelRefError:
        raise ApiError(400, "invalid model name") from None
    base = store.get(ref.name)
    if base is None:
        yield from pull_events(store, ref.name)
        base = store.get(ref.name)
        assert base is not None, "a successful pull leaves the model in the store"
    shown = base.name.short
    draft.layers = [
        replace(layer, source=shown, status=f"using existing layer {layer.digest}")
        for layer in base.layers
    ]
    for key in ("renderer", "parser", "requires", "model_format"):
        if base.config.get(key) and not draft.config.get(key):
            draft.config[key] = base.config[key]
    draft.capabilities = list(base.capabilities)


def _from_files(
    store: ModelStore, files: dict[str, str], draft: _Draft, *, adapter: bool
) -> Iterator[dict[str, Any]]:
    """Import GGUF or safetensors files (a generator whose return value is the new layers)."""
    kind = _detect_type(store, files)
    if kind == "safetensors":
        if adapter:
            return (yield from _convert_adapter(store, files, draft))
        return (yield from _convert_model(store, files))
    if kind != "gguf":
        raise ApiError(400, "unknown type")
    if adapter and len(files) > 1:
        raise ApiError(400, "only one adapter is currently supported")
    layers = []
    for path in sorted(files):
        yield {"status": "parsing GGUF"}
        layers.append(_gguf_layer(store, path, files[path], adapter=adapter))
    return layers


def _detect_type(store: ModelStore, files: dict[str, str]) -> str:
    """`safetensors` or `gguf` by file name, else by the GGUF magic of each blob; `""` if none."""
    if any(path.endswith(".safetensors") for path in files):
        return "safetensors"
    if any(path.endswith(".gguf") for path in files):
        return "gguf"
    for path in sorted(files):
        try:
            with store.blob_path(files[path]).open("rb") as blob:
                if blob.read(4) == gguf.MAGIC:
                    return "gguf"
        except (InvalidDigest, OSError):
            return ""
    return ""


def _gguf_layer(store: ModelStore, path: str, digest: str, *, adapter: bool) -> Layer:
    blob = _blob(store, digest, status=400 if adapter else 500)
    with blob.open("rb") as stream:
        if stream.read(4) != gguf.MAGIC:
            raise ApiError(400, "supplied file was not in GGUF format")
    kind = store.metadata(digest).get("general.type")
    media_type = MODEL
    if kind == "adapter":
        media_type = ADAPTER
    elif kind in ("projector", "mmproj"):
        media_type = PROJECTOR
    return store.existing_layer(digest, media_type, path)


def _blob(store: ModelStore, digest: str, *, status: int) -> Any:
    try:
        path = store.blob_path(digest)
    except InvalidDigest as error:
        raise ApiError(status, str(error)) from None
    if not path.is_file():
        raise ApiError(status, f"open {path}: no such file or directory")
    return path


def _read_json_file(store: ModelStore, files: dict[str, str], name: str, status: int) -> Any:
    """A JSON file of an uploaded directory, with Go's error text if it is missing."""
    if name not in files:
        raise ApiError(status, f"open {name}: no such file or directory")
    text = _blob(store, files[name], status=status).read_text(encoding="utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ApiError(status, f"parse {name}: {error.msg}") from None


def _check_paths(store: ModelStore, files: dict[str, str], status: int) -> int:
    """Every file must have a relative path and an uploaded blob; returns their total size."""
    total = 0
    for path, digest in files.items():
        if not valid_path(path):
            raise ApiError(status, f"file path must be relative: {path}")
        total += _blob(store, digest, status=status).stat().st_size
    return total


def _convert_model(store: ModelStore, files: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Simulated safetensors conversion: checks `config.json`, writes an F16 GGUF layer."""
    total = _check_paths(store, files, 500)
    yield {"status": "converting model"}
    config = _read_json_file(store, files, "config.json", 500)
    architectures = config.get("architectures") if isinstance(config, dict) else None
    if not architectures:
        raise ApiError(500, "unknown architecture")
    family = _ARCHITECTURES.get(architectures[0])
    if family is None:
        raise ApiError(500, f'unsupported architecture "{architectures[0]}"')
    metadata: dict[str, Any] = {
        "general.architecture": family,
        "general.parameter_count": max(1, total // 2),
        "general.file_type": gguf.file_type_code("F16"),
        f"{family}.context_length": int(config.get("max_position_embeddings") or 4096),
        f"{family}.embedding_length": int(config.get("hidden_size") or 0),
        f"{family}.block_count": int(config.get("num_hidden_layers") or 0),
    }
    if family in _EMBEDDING_FAMILIES:
        metadata[f"{family}.pooling_type"] = 1
    return [store.put_layer(gguf.build(metadata), MODEL)]


def _convert_adapter(
    store: ModelStore, files: dict[str, str], draft: _Draft
) -> Iterator[dict[str, Any]]:
    """Simulated PEFT adapter conversion; only llama and gemma2 bases are supported."""
    _check_paths(store, files, 400)
    base = next((layer for layer in draft.layers if layer.media_type == MODEL), None)
    if base is None:
        raise ApiError(400, "no base model was found")
    yield {"status": "converting adapter"}
    _read_json_file(store, files, "adapter_config.json", 400)
    architecture = store.metadata(base.digest).get("general.architecture", "")
    if not architecture:
        raise ApiError(400, "architecture not set for the base model")
    if architecture not in _ADAPTER_BASES:
        raise ApiError(400, "unsupported architecture")
    metadata = {
        "general.architecture": architecture,
        "general.type": "adapter",
        "adapter.type": "lora",
    }
    return [store.put_layer(gguf.build(metadata), ADAPTER)]


def _quantize(store: ModelStore, draft: _Draft, requested: str) -> Iterator[dict[str, Any]]:
    """Re-write the model layer at another quantization, with Ollama's checks and progress."""
    wanted_name = requested.upper()
    if not wanted_name:
        return
    for index, layer in enumerate(draft.layers):
        if layer.media_type != MODEL:
            continue
        want = _QUANTIZE_TO.get(wanted_name)
        if want is None:
            supported = "F32, F16, Q4_K_S, Q4_K_M, Q8_0"
            raise ApiError(
                500,
                f"unsupported quantization type {wanted_name} - supported types are {supported}",
            )
        metadata = dict(store.metadata(layer.digest))
        current = gguf.file_type_name(metadata)
        if current not in _QUANTIZABLE:
            raise ApiError(500, "quantization is only supported for F16, BF16 and F32 models")
        if current == want:
            continue
        status = f"quantizing {current} model to {wanted_name}"
        for share in (0.5, 1.0):
            yield _quantize_progress(status, layer.size, share)
        yield {"status": "verifying conversion"}
        metadata["general.file_type"] = gguf.file_type_code(want)
        new_layer = store.put_layer(gguf.build(metadata), MODEL)
        draft.layers[index] = replace(new_layer, source=layer.source)


def _quantize_progress(status: str, total: int, share: float) -> dict[str, Any]:
    return {
        "status": status,
        "digest": "0000000000000000000",
        "total": total,
        "completed": int(total * share),
    }


def _describe(store: ModelStore, draft: _Draft) -> None:
    """Fill the config's format/family/size/quantization from the model layers' GGUF headers."""
    config = draft.config
    for layer in draft.layers:
        if layer.media_type != MODEL:
            continue
        metadata = store.metadata(layer.digest)
        architecture = str(metadata.get("general.architecture", ""))
        config["model_format"] = config["model_format"] or "gguf"
        config["model_family"] = config["model_family"] or architecture
        config["model_type"] = config["model_type"] or human_number(
            int(metadata.get("general.parameter_count") or 0)
        )
        config["file_type"] = config["file_type"] or gguf.file_type_name(metadata)
        config["model_families"] = (config["model_families"] or []) + [architecture]


def _imported_capabilities(store: ModelStore, name: ModelName, layers: list[Layer]) -> list[str]:
    """Imported models complete text and call tools; embedding models only embed."""
    metadata = next(
        (store.metadata(layer.digest) for layer in layers if layer.media_type == MODEL), {}
    )
    architecture = metadata.get("general.architecture", "")
    if "embed" in name.model.lower() or f"{architecture}.pooling_type" in metadata:
        return ["embedding"]
    capabilities = ["completion", "tools"]
    if any(layer.media_type == PROJECTOR for layer in layers):
        capabilities.append("vision")
    return capabilities


def _apply_text_layers(store: ModelStore, draft: _Draft, request: dict[str, Any]) -> None:
    """Template, system, license, parameters and messages, in `createModel`'s order."""
    if request.get("template"):
        check_template(request["template"])
        _replace_layer(draft, store.put_layer(request["template"].encode(), TEMPLATE))
    if request.get("system"):
        _replace_layer(draft, store.put_layer(request["system"].encode(), SYSTEM))
    for text in _licenses(request.get("license")):
        draft.layers.append(store.put_layer(text.encode(), LICENSE))
    parameters = _merged_parameters(store, draft, request.get("parameters") or {})
    if parameters:
        data = wire.encode_bytes(dict(sorted(parameters.items())), newline=True)
        _replace_layer(draft, store.put_layer(data, PARAMS))
    if request.get("messages"):
        messages = [_stored_message(message) for message in request["messages"]]
        _replace_layer(draft, store.put_layer(wire.encode_bytes(messages, newline=True), MESSAGES))


def _replace_layer(draft: _Draft, layer: Layer) -> None:
    draft.layers = [old for old in draft.layers if old.media_type != layer.media_type] + [layer]


def _licenses(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    if isinstance(value, list):
        kind = wire.json_kind(next(item for item in value if not isinstance(item, str)))
        target = "string"
    else:
        kind, target = wire.json_kind(value), "[]string"
    raise ApiError(500, f"json: cannot unmarshal {kind} into Go value of type {target}")


def _merged_parameters(
    store: ModelStore, draft: _Draft, requested: dict[str, Any]
) -> dict[str, Any]:
    """Request parameters over the base model's (request wins), as `setParameters` does."""
    merged = dict(requested)
    for layer in draft.layers:
        if layer.media_type == PARAMS:
            for key, value in json.loads(store.read_text(layer.digest)).items():
                merged.setdefault(key, value)
    return merged


def _stored_message(message: dict[str, Any]) -> dict[str, Any]:
    """A message as Go encodes `api.Message` (role lower-cased, empty fields omitted)."""
    stored: dict[str, Any] = {
        "role": str(message.get("role", "")).lower(),
        "content": message.get("content") or "",
    }
    for key in ("thinking", "images", "tool_calls", "tool_name", "tool_call_id"):
        if message.get(key):
            stored[key] = message[key]
    return stored


def check_template(template: str) -> None:
    """Reject templates Go's `text/template` cannot parse (unbalanced actions and blocks).

    Raises `ApiError` 400 `template error: template: :<line>: <reason>`.
    """
    depth = 0
    position = 0
    while (start := template.find("{{", position)) >= 0:
        end = template.find("}}", start + 2)
        line = template.count("\n", 0, start) + 1
        if end < 0:
            raise ApiError(400, f"template error: template: :{line}: unclosed action")
        action = template[start + 2 : end].strip()
        position = end + 2
        if action.startswith("/*") or action.startswith("- /*"):
            continue
        if _BLOCK_KEYWORDS.match(action):
            depth += 1
        elif _END_KEYWORD.match(action):
            if depth == 0:
                raise ApiError(400, f"template error: template: :{line}: unexpected {{{{end}}}}")
            depth -= 1
    if depth:
        line = template.count("\n") + 1
        raise ApiError(400, f"template error: template: :{line}: unexpected EOF")
