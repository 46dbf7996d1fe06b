"""The on-disk model store, laid out as Ollama lays it out under `OLLAMA_MODELS`.

`blobs/sha256-<hex>` holds content-addressed files; `manifests/<host>/<namespace>/<model>/<tag>`
holds Docker-v2 manifests whose config blob is Ollama's `ConfigV2` JSON. Lookups are
case-insensitive per name part, as in Ollama's `getExistingName`.
"""

import hashlib
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from . import gguf, wire
from .names import ModelName

DIGEST_PATTERN = re.compile(r"^sha256[:-][0-9a-fA-F]{64}$")
MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_MEDIA_TYPE = "application/vnd.docker.container.image.v1+json"
MODEL = "application/vnd.ollama.image.model"
ADAPTER = "application/vnd.ollama.image.adapter"
PROJECTOR = "application/vnd.ollama.image.projector"
TEMPLATE = "application/vnd.ollama.image.template"
SYSTEM = "application/vnd.ollama.image.system"
PARAMS = "application/vnd.ollama.image.params"
MESSAGES = "application/vnd.ollama.image.messages"
LICENSE = "application/vnd.ollama.image.license"

DEFAULT_TEMPLATE = "{{ .Prompt }}"
_UNREFERENCED_BLOB_AGE = 3600


class InvalidDigest(ValueError):
    """A digest that is not `sha256:<64 hex>` or `sha256-<64 hex>`."""

    def __init__(self) -> None:
        super().__init__("invalid digest format")


@dataclass(frozen=True)
class Layer:
    """One manifest entry. `status` is the create progress text and is not stored."""

    media_type: str
    digest: str
    size: int
    source: str = ""
    status: str = field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        """The manifest entry (`mediaType`, `digest`, `size`, optional `from`)."""
        entry: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.source:
            entry["from"] = self.source
        return entry

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> "Layer":
        """A layer from a manifest entry."""
        return cls(
            media_type=entry.get("mediaType", ""),
            digest=entry.get("digest", ""),
            size=int(entry.get("size", 0)),
            source=entry.get("from", ""),
        )


@dataclass
class StoredModel:
    """A model as found in the store: its manifest, config and the text layers it carries."""

    name: ModelName
    manifest_digest: str
    modified_ns: int
    config: dict[str, Any]
    config_layer: Layer
    layers: list[Layer]
    store: "ModelStore"

    @property
    def size(self) -> int:
        """Bytes of every layer plus the config blob, as `/api/tags` reports."""
        return sum(layer.size for layer in self.layers) + self.config_layer.size

    def layer(self, media_type: str) -> Layer | None:
        return next((layer for layer in self.layers if layer.media_type == media_type), None)

    def _text(self, media_type: str) -> str:
        layer = self.layer(media_type)
        return self.store.read_text(layer.digest) if layer else ""

    @cached_property
    def template(self) -> str:
        return self._text(TEMPLATE) or DEFAULT_TEMPLATE

    @cached_property
    def system(self) -> str:
        return self._text(SYSTEM)

    @cached_property
    def params(self) -> dict[str, Any]:
        text = self._text(PARAMS)
        return json.loads(text) if text else {}

    @cached_property
    def messages(self) -> list[dict[str, Any]]:
        text = self._text(MESSAGES)
        return json.loads(text) if text else []

    @cached_property
    def licenses(self) -> list[str]:
        return [
            self.store.read_text(layer.digest)
            for layer in self.layers
            if layer.media_type == LICENSE
        ]

    @cached_property
    def header(self) -> gguf.Header:
        """The GGUF header of the model layer (empty when there is none or it is unreadable)."""
        layer = self.layer(MODEL)
        return self.store.header(layer.digest) if layer else gguf.Header()

    @property
    def metadata(self) -> dict[str, Any]:
        return self.header.metadata

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture") or self.config.get("model_family", ""))

    def metadata_length(self, suffix: str) -> int:
        """`<arch>.context_length` or `<arch>.embedding_length` from the GGUF header, or 0."""
        value = self.metadata.get(f"{self.architecture}.{suffix}", 0)
        return value if isinstance(value, int) else 0

    @cached_property
    def capabilities(self) -> list[str]:
        """The config's capability list, else what the GGUF header implies."""
        listed = list(self.config.get("capabilities") or [])
        if listed:
            return listed
        if f"{self.architecture}.pooling_type" in self.metadata:
            return ["embedding"]
        return ["completion"]

    def details(self, *, lengths: bool, parent: str = "") -> dict[str, Any]:
        """`api.ModelDetails`; `lengths` adds context/embedding length (tags and show)."""
        details: dict[str, Any] = {
            "parent_model": parent,
            "format": self.config.get("model_format", ""),
            "family": self.config.get("model_family", ""),
            "families": self.config.get("model_families"),
            "parameter_size": self.config.get("model_type", ""),
            "quantization_level": self.config.get("file_type", ""),
        }
        if lengths:
            for key in ("context_length", "embedding_length"):
                value = self.metadata_length(key)
                if value:
                    details[key] = value
        return details


class ModelStore:
    """Blobs and manifests under one directory; safe to use from many request threads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.manifests = root / "manifests"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.manifests.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._headers: dict[str, gguf.Header] = {}

    # Blobs

    def blob_path(self, digest: str) -> Path:
        """The file of a digest (`sha256:` or `sha256-` form); raises `InvalidDigest`."""
        if not DIGEST_PATTERN.match(digest):
            raise InvalidDigest
        return self.blobs / digest.replace(":", "-")

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def read_text(self, digest: str) -> str:
        return self.blob_path(digest).read_text(encoding="utf-8", errors="replace")

    def put_stream(self, chunks: Iterable[bytes]) -> tuple[str, int, bool]:
        """Store a stream under its sha256, hashing while writing a temporary file.

        Returns the `sha256:<hex>` digest, the size and whether the blob is new.
        """
        digest = hashlib.sha256()
        size = 0
        with tempfile.NamedTemporaryFile(dir=self.blobs, prefix="sha256-", delete=False) as temp:
            try:
                for chunk in chunks:
                    digest.update(chunk)
                    temp.write(chunk)
                    size += len(chunk)
            except BaseException:
                temp.close()
                os.unlink(temp.name)
                raise
        name = f"sha256:{digest.hexdigest()}"
        target = self.blob_path(name)
        created = not target.exists()
        if created:
            os.chmod(temp.name, 0o644)
            os.replace(temp.name, target)
        else:
            os.unlink(temp.name)
            os.utime(target)
        return name, size, created

    def put_layer(self, data: bytes, media_type: str) -> Layer:
        """Ollama's `NewLayer`: store bytes and say whether the layer is new or reused."""
        digest, size, created = self.put_stream([data])
        verb = "creating new layer" if created else "using existing layer"
        return Layer(media_type, digest, size, status=f"{verb} {digest}")

    def existing_layer(self, digest: str, media_type: str, source: str) -> Layer:
        """Ollama's `NewLayerFromLayer` for a blob already on disk; raises `FileNotFoundError`."""
        path = self.blob_path(digest)
        size = path.stat().st_size
        os.utime(path)
        return Layer(media_type, digest, size, source, status=f"using existing layer {digest}")

    def header(self, digest: str) -> gguf.Header:
        """The GGUF header of a blob, read once and cached (empty if it is not readable)."""
        if digest not in self._headers:
            try:
                self._headers[digest] = gguf.read_header(self.blob_path(digest))
            except (gguf.GGUFError, InvalidDigest):
                self._headers[digest] = gguf.Header()
        return self._headers[digest]

    def metadata(self, digest: str) -> dict[str, Any]:
        """The GGUF key/values of a blob (`{}` if it is not readable)."""
        return self.header(digest).metadata

    # Manifests

    def names(self) -> list[ModelName]:
        """Every valid model name that has a manifest, in a stable order."""
        found = []
        for path in sorted(self.manifests.glob("*/*/*/*")):
            if path.is_file():
                name = ModelName(*path.relative_to(self.manifests).parts)
                if name.is_valid():
                    found.append(name)
        return found

    def canonical(self, name: ModelName) -> ModelName:
        """Ollama's `getExistingName`: each part takes the spelling of an existing manifest."""
        parts = list(name.parts)
        settled = [False] * 4
        for existing in self.names():
            for index, part in enumerate(existing.parts):
                if not settled[index] and part.casefold() == parts[index].casefold():
                    parts[index] = part
                    settled[index] = True
        return ModelName(*parts)

    def _manifest_path(self, name: ModelName) -> Path:
        return self.manifests.joinpath(*name.parts)

    def get(self, name: ModelName) -> StoredModel | None:
        """The model a (case-insensitive) name refers to, or None."""
        return self.get_exact(self.canonical(name))

    def get_exact(self, name: ModelName) -> StoredModel | None:
        """The model whose manifest path is exactly `name` (already canonical), or None."""
        path = self._manifest_path(name)
        try:
            raw = path.read_bytes()
            modified_ns = path.stat().st_mtime_ns
        except (FileNotFoundError, NotADirectoryError):
            return None
        manifest = json.loads(raw)
        config_layer = Layer.from_json(manifest.get("config") or {})
        config = json.loads(self.read_text(config_layer.digest)) if config_layer.digest else {}
        return StoredModel(
            name=name,
            manifest_digest=hashlib.sha256(raw).hexdigest(),
            modified_ns=modified_ns,
            config=config,
            config_layer=config_layer,
            layers=[Layer.from_json(entry) for entry in manifest.get("layers") or []],
            store=self,
        )

    def models(self) -> list[StoredModel]:
        """Every model, newest manifest first (the order of `/api/tags`)."""
        found = [model for name in self.names() if (model := self.get_exact(name))]
        return sorted(found, key=lambda model: model.modified_ns, reverse=True)

    def write_manifest(self, name: ModelName, config: Layer, layers: list[Layer]) -> None:
        """Write a manifest atomically (temporary file, then rename)."""
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": config.to_json(),
            "layers": [layer.to_json() for layer in layers],
        }
        path = self._manifest_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{threading.get_ident()}.partial")
        temp.write_bytes(wire.encode_bytes(manifest, newline=True))
        os.replace(temp, path)

    def put_config(self, config: dict[str, Any]) -> Layer:
        """Store a `ConfigV2` blob and return its layer."""
        return self.put_layer(wire.encode_bytes(config, newline=True), CONFIG_MEDIA_TYPE)

    def remove(self, model: StoredModel) -> None:
        """Delete a manifest, the directories it leaves empty, and its now-unused blobs."""
        with self.lock:
            self._manifest_path(model.name).unlink(missing_ok=True)
            self._prune_empty_directories(self._manifest_path(model.name).parent)
            self.remove_unused(model.layers + [model.config_layer])

    def _prune_empty_directories(self, directory: Path) -> None:
        while directory != self.manifests and directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()
            directory = directory.parent

    def referenced_digests(self) -> set[str]:
        """Every digest some manifest uses, config blobs included."""
        digests = set()
        for name in self.names():
            model = self.get_exact(name)
            if model:
                digests.update(layer.digest for layer in model.layers + [model.config_layer])
        return digests

    def remove_unused(self, layers: Iterable[Layer]) -> None:
        """Delete the blobs of `layers` that no manifest references any more."""
        with self.lock:
            in_use = self.referenced_digests()
            for layer in layers:
                if layer.digest and layer.digest not in in_use:
                    try:
                        self.blob_path(layer.digest).unlink(missing_ok=True)
                    except InvalidDigest:
                        continue

    def copy(self, source: StoredModel, destination: ModelName) -> None:
        """Write the source manifest under another name (`/api/copy`)."""
        with self.lock:
            self.write_manifest(destination, source.config_layer, source.layers)

    def prune_blobs(self) -> int:
        """Remove blobs no manifest references that are older than an hour, as at Ollama's start."""
        cutoff = time.time() - _UNREFERENCED_BLOB_AGE
        in_use = {digest.replace(":", "-") for digest in self.referenced_digests()}
        removed = 0
        for path in self.blobs.glob("sha256-*"):
            if path.name not in in_use and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
