"""Deciding whether a file, an archive or a server folder can become a model, and which files.

Used at every step that can refuse: the first chunk, an archive's manifest, `complete`, a whole
upload, a server path, and the import itself. Every refusal is a `NotAModel`.
"""

import logging
import re
from pathlib import Path

from django.conf import settings

from models_app.models import Model, ModelFormat
from ollama_bridge.client import get_client
from ollama_bridge.errors import ModelNotFound, OllamaUnavailable
from ollama_bridge.names import canonical_name, is_valid_name
from uploads.archives import Manifest, inspect_archive
from uploads.formats import (
    ADAPTER_BASE_ARCHITECTURES,
    CONFIG_MAX_SIZE,
    SNIFF_SIZE,
    Layout,
    NotAModel,
    config_path,
    gguf_is_adapter,
    plan_layout,
    sniff,
)

logger = logging.getLogger(__name__)

# How much of a GGUF is read for its metadata (`general.type`): the keys come first.
GGUF_HEAD_SIZE = 1024 * 1024
_SIMPLE_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.gguf$")


def read_head(path: Path, size: int = SNIFF_SIZE) -> bytes:
    """The first `size` bytes of a file."""
    with path.open("rb") as handle:
        return handle.read(size)


def check_adapter_base(*, chosen: str, named: str, safetensors: bool) -> str:
    """The canonical name of an adapter's base model, which must be in Ollama.

    `chosen` is the base picked at upload (wins), `named` the adapter's
    `base_model_name_or_path`. Ollama converts safetensors adapters only onto llama and gemma2
    bases. Raises NotAModel naming the missing base; OllamaUnavailable when Ollama is away.
    """
    base = chosen or named
    if not base:
        raise NotAModel(
            "This LoRA adapter names no base model (base_model_name_or_path is empty); choose "
            "its base model at upload (baseModel)."
        )
    missing = NotAModel(
        f"The adapter's base model '{base}' is not in Ollama. Pull or upload '{base}' first, "
        "or choose the base model at upload (baseModel)."
    )
    if not is_valid_name(base):
        raise missing
    try:
        info = get_client().show(base)
    except ModelNotFound:
        raise missing from None
    architecture = (info.get("model_info") or {}).get("general.architecture", "")
    if safetensors and architecture and architecture not in ADAPTER_BASE_ARCHITECTURES:
        raise NotAModel(
            f"Ollama converts safetensors LoRA adapters only for llama and gemma2 base models; "
            f"'{base}' is {architecture}."
        )
    return canonical_name(base)


def settle_layout(model: Model, layout: Layout) -> Layout:
    """Finish a layout with what needs Ollama: an adapter's base (stored on `model`)."""
    if layout.format == ModelFormat.LORA:
        safetensors = any(name.endswith(".safetensors") for name in layout.adapters)
        model.base_model = check_adapter_base(
            chosen=model.base_model, named=layout.adapter_base, safetensors=safetensors
        )
    return layout


def settle_unless_ollama_away(model: Model, layout: Layout) -> Layout:
    """settle_layout at upload time: when Ollama cannot be asked now, the import checks later."""
    try:
        return settle_layout(model, layout)
    except OllamaUnavailable:
        logger.info("Ollama is away; the adapter base of %s is checked at import", model.name)
        return layout


def gguf_file_key(model: Model) -> str:
    """The file name Ollama's create sees for a plain GGUF upload."""
    name = Path(model.source_filename).name
    return name if _SIMPLE_FILE_NAME.match(name) else "model.gguf"


def gguf_layout(model: Model, head: bytes) -> Layout:
    """The layout of a plain GGUF: a model, or a LoRA adapter when its metadata says so."""
    key = gguf_file_key(model)
    if gguf_is_adapter(head):
        if not model.base_model:
            raise NotAModel(
                "This GGUF file is a LoRA adapter; choose its base model at upload (baseModel)."
            )
        return Layout(format=ModelFormat.LORA, adapters={key: key})
    return Layout(format=ModelFormat.GGUF, files={key: key})


def folder_manifest(root: Path) -> Manifest:
    """The files under a folder (relative paths) and its config texts; links are refused."""
    manifest = Manifest()
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_symlink():
            raise NotAModel(f"'{name}' in the folder is a link; refused.")
        if not path.is_file():
            continue
        manifest.members[name] = path.stat().st_size
        if config_path(name) and manifest.members[name] <= CONFIG_MAX_SIZE:
            manifest.configs[name] = path.read_text(errors="replace")
    return manifest


def layout_of_manifest(manifest: Manifest) -> Layout:
    """The layout of an archive's or a folder's files (not settled yet)."""
    return plan_layout(list(manifest.members), manifest.configs)


def inspect_path(model: Model, path: Path) -> tuple[str, Layout]:
    """(kind, layout) of a whole file or folder on disk: "gguf", "zip", "tar", "tar.gz", "dir".

    The layout is not settled yet (an adapter's base is not checked). Raises NotAModel.
    """
    if path.is_dir():
        return "dir", layout_of_manifest(folder_manifest(path))
    kind = sniff(read_head(path))
    if kind == "gguf":
        return kind, gguf_layout(model, read_head(path, GGUF_HEAD_SIZE))
    manifest = inspect_archive(path, kind=kind, limit=settings.MAX_EXTRACTED_SIZE)
    return kind, layout_of_manifest(manifest)
