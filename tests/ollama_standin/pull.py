"""`ollama pull` from the built-in catalogue, with Ollama's progress lines."""

import hashlib
from collections.abc import Iterator
from typing import Any

from . import catalogue, wire
from .httpio import ApiError
from .names import ModelName
from .store import CONFIG_MEDIA_TYPE, Layer, ModelStore

NOT_FOUND = "pull model manifest: file does not exist"


def pull_events(store: ModelStore, name: ModelName) -> Iterator[dict[str, Any]]:
    """Pull `name` into the store, yielding progress objects; ends with `success`.

    Raises `ApiError` (500, `pull model manifest: file does not exist`) after the first line when
    the catalogue does not have the model.
    """
    yield {"status": "pulling manifest"}
    entry = catalogue.find(name)
    if entry is None:
        raise ApiError(500, NOT_FOUND)
    config = wire.encode_bytes(entry.config(), newline=True)
    contents = entry.layers() + [(CONFIG_MEDIA_TYPE, config)]
    layers: list[Layer] = []
    for media_type, data in contents:
        digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
        yield from _download(store, digest, len(data))
        layers.append(store.put_layer(data, media_type))
    yield {"status": "verifying sha256 digest"}
    yield {"status": "writing manifest"}
    with store.lock:
        store.write_manifest(name, layers[-1], layers[:-1])
    yield {"status": "success"}


def _download(store: ModelStore, digest: str, size: int) -> Iterator[dict[str, Any]]:
    """Progress lines for one blob: one complete line if it is already on disk."""
    status = {"status": f"pulling {digest.removeprefix('sha256:')[:12]}", "digest": digest}
    if store.has_blob(digest):
        yield {**status, "total": size, "completed": size}
        return
    yield {**status, "total": size}
    yield {**status, "total": size, "completed": size // 2}
    yield {**status, "total": size, "completed": size}


def check_preload(names: tuple[str, ...]) -> None:
    """Raise `ValueError` naming the first `STANDIN_PRELOAD` entry the catalogue lacks."""
    for text in names:
        if catalogue.find(ModelName.parse(text)) is None:
            known = ", ".join(catalogue.CATALOGUE)
            raise ValueError(f"STANDIN_PRELOAD: {text!r} is not in the catalogue ({known})")


def preload(store: ModelStore, names: tuple[str, ...]) -> None:
    """Pull each catalogue model named in `STANDIN_PRELOAD`, as if `ollama pull` had run."""
    for text in names:
        for _ in pull_events(store, store.canonical(ModelName.parse(text))):
            continue
