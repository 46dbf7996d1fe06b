"""Chunked, resumable uploads: start, chunks in any order (idempotent), state, complete, abort.

Each chunk is written straight into place (at index x chunkSize) in one pre-allocated file under
UPLOAD_TMP_DIR named by the model's id; a row per received chunk lets a client resume. The file
is refused as early as its content allows: the first chunk must look like a model (GGUF, ZIP,
tar, tar.gz); a ZIP's central directory is read as soon as the end of the file has come; a
tar's headers are checked as the chunks arrive in order. `complete` hashes the file in one pass,
moves it into UPLOADS_DIR under its final name only when whole, and queues the import.
"""

import contextlib
import errno
import hashlib
import io
import logging
import math
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from django.conf import settings

from models_app.models import Model, ModelStatus
from models_app.services import remove_owned_files, update_model
from ollama_bridge.errors import OllamaUnavailable
from premrunner.errors import ApiError
from uploads.archives import (
    Manifest,
    NotYetReceived,
    PartialFile,
    TarStreamChecker,
    inspect_zip,
)
from uploads.formats import (
    ADAPTER_CONFIG,
    MODEL_CONFIG,
    SNIFF_SIZE,
    Layout,
    NotAModel,
    adapter_base_model,
    model_architecture,
    parse_config,
    plan_layout,
    sniff,
)
from uploads.models import ChunkedUpload, ReceivedChunk
from uploads.services.inspection import (
    GGUF_HEAD_SIZE,
    check_adapter_base,
    gguf_layout,
    read_head,
    settle_unless_ollama_away,
)
from uploads.services.registration import ModelOptions, check_room, register_model
from uploads.services.storage import ARCHIVE_KINDS, discard, store_upload

logger = logging.getLogger(__name__)

COPY_BLOCK = 4 * 1024 * 1024

# Tar checkers of uploads arriving now, by model id (rebuilt from the file after a restart).
# The lock guards the dict and each checker's feeding (chunks may arrive on several threads).
_tar_checkers: dict[uuid.UUID, TarStreamChecker] = {}
_tar_checkers_lock = threading.RLock()

# One completion or abort of an upload at a time: a client retrying `complete` while the first
# call still hashes the file would otherwise move or delete the file under it.
_finishing: dict[uuid.UUID, tuple[threading.Lock, int]] = {}
_finishing_lock = threading.Lock()


@dataclass
class ChunkSource:
    """A chunk's bytes: a readable binary stream and exactly how many bytes it holds."""

    stream: BinaryIO
    length: int


def parse_model_id(value: object) -> uuid.UUID:
    """The upload's model id; anything but a UUID is refused (no paths through it)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ApiError(
            "'modelId' must be a UUID.", param="modelId", code="invalid_model_id"
        ) from None


def get_upload(*, model_id: uuid.UUID) -> ChunkedUpload:
    """The chunked upload of `model_id`; raises ApiError 404 when there is none."""
    try:
        return ChunkedUpload.objects.select_related("model").get(model_id=model_id)
    except ChunkedUpload.DoesNotExist:
        raise ApiError(
            f"No upload in progress with modelId {model_id} (finished, cancelled or expired).",
            status=404,
            code="upload_not_found",
            param="modelId",
        ) from None


def start_upload(*, file_name: str, file_size: int, options: ModelOptions) -> ChunkedUpload:
    """Register the model and reserve its whole file on disk.

    Raises ApiError 400, 409 (name taken), 413 (over MAX_UPLOAD_SIZE), 507 (disk too full).
    """
    if file_size <= 0:
        raise ApiError("'fileSize' must be a positive number of bytes.", param="fileSize")
    check_room(file_size)
    model = register_model(options=options, file_name=file_name, size=file_size)
    try:
        fd = os.open(model.temp_upload_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.posix_fallocate(fd, 0, file_size)
        finally:
            os.close(fd)
    except OSError as exc:
        remove_owned_files(model)
        model.delete()
        if exc.errno == errno.ENOSPC:
            raise ApiError(
                "Not enough free disk space for this file.",
                status=507,
                code="insufficient_storage",
            ) from None
        raise
    chunk_size = settings.UPLOAD_CHUNK_SIZE
    upload = ChunkedUpload.objects.create(
        model=model,
        file_name=file_name[:255],
        file_size=file_size,
        chunk_size=chunk_size,
        total_chunks=math.ceil(file_size / chunk_size),
    )
    logger.info(
        "Upload of %s started: %d bytes in %d chunks", model.name, file_size, upload.total_chunks
    )
    return upload


def _require_uploading(model: Model) -> None:
    if model.status != ModelStatus.UPLOADING:
        raise ApiError(
            f"The upload of '{model.name}' is finished (status: {model.status}).",
            status=409,
            code="upload_finished",
        )


# -- receiving a chunk -----------------------------------------------------------------------


def _copy_into(source: BinaryIO, fd: int, offset: int, length: int) -> int:
    """Copy `length` bytes from `source` into `fd` at `offset`, in the kernel when it can."""
    copied = 0
    try:
        source_fd, source_offset = source.fileno(), source.tell()
    except (AttributeError, OSError, io.UnsupportedOperation):
        source_fd = None
    while source_fd is not None and copied < length:
        try:
            count = os.copy_file_range(
                source_fd, fd, length - copied, source_offset + copied, offset + copied
            )
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            source.seek(source_offset + copied)
            break
        if not count:
            return copied
        copied += count
    while copied < length:
        block = source.read(min(COPY_BLOCK, length - copied))
        if not block:
            break
        os.pwrite(fd, block, offset + copied)
        copied += len(block)
    return copied


def _write_chunk(upload: ChunkedUpload, index: int, source: ChunkSource) -> bytes:
    """Write the chunk into place; returns its first bytes (for sniffing)."""
    offset = index * upload.chunk_size
    fd = os.open(upload.model.temp_upload_path, os.O_WRONLY)
    try:
        head = source.stream.read(min(SNIFF_SIZE, source.length))
        os.pwrite(fd, head, offset)
        written = len(head) + _copy_into(
            source.stream, fd, offset + len(head), source.length - len(head)
        )
    finally:
        os.close(fd)
    if written != source.length:
        raise ApiError(
            f"Chunk {index} ended early: {written} of {source.length} bytes arrived.",
            param="chunk",
        )
    return head


def receive_chunk(
    *, model_id: uuid.UUID, index: int, total_chunks: int | None, source: ChunkSource
) -> tuple[ChunkedUpload, int]:
    """Write chunk `index` into place (again, harmlessly, if it came before).

    Returns the upload and how many chunks have arrived. Raises ApiError 400 (bad index or
    size), 404, 409 (upload finished), 422 (the file cannot be a model; the upload is then
    deleted).
    """
    upload = get_upload(model_id=model_id)
    _require_uploading(upload.model)
    if total_chunks is not None and total_chunks != upload.total_chunks:
        raise ApiError(
            f"'totalChunks' is {total_chunks}, but this upload has {upload.total_chunks}.",
            param="totalChunks",
        )
    if not 0 <= index < upload.total_chunks:
        raise ApiError(
            f"'chunkIndex' must be between 0 and {upload.total_chunks - 1}.", param="chunkIndex"
        )
    expected = upload.chunk_length(index)
    if source.length != expected:
        raise ApiError(
            f"Chunk {index} must be exactly {expected} bytes; it is {source.length}.",
            param="chunk",
        )
    head = _write_chunk(upload, index, source)
    ReceivedChunk.objects.bulk_create(
        [ReceivedChunk(upload=upload, index=index)], ignore_conflicts=True
    )
    upload.save(update_fields=["updated_at"])
    received = upload.received_indexes()
    try:
        _check_early(upload, index, head, set(received))
    except NotAModel as exc:
        discard_upload(upload.model, reason=exc.message)
        raise _refused(exc) from None
    model = upload.model
    update_model(
        model,
        progress=min(1.0, len(received) * upload.chunk_size / upload.file_size),
        status_message=f"Receiving: {len(received)} of {upload.total_chunks} chunks",
        format=model.format,
        container=model.container,
    )
    return upload, len(received)


def _refused(exc: NotAModel) -> ApiError:
    return ApiError(exc.message, status=422, code="unsupported_model")


def _contiguous_end(upload: ChunkedUpload, received: set[int]) -> int:
    """How many bytes from the start of the file have all arrived."""
    first_missing = next((i for i in range(upload.total_chunks) if i not in received), None)
    if first_missing is None:
        return upload.file_size
    return first_missing * upload.chunk_size


def _check_early(upload: ChunkedUpload, index: int, head: bytes, received: set[int]) -> None:
    """Refuse as soon as the content shows the file cannot become a model."""
    model = upload.model
    if index == 0 and not upload.kind:
        upload.kind = sniff(head)
        model.container = upload.kind if upload.kind in ARCHIVE_KINDS else ""
        if upload.kind == "gguf":
            size = min(GGUF_HEAD_SIZE, _contiguous_end(upload, received))
            layout = gguf_layout(model, read_head(model.temp_upload_path, size))
            model.format = settle_unless_ollama_away(model, layout).format
            upload.manifest_checked = True
        upload.save(update_fields=["kind", "manifest_checked", "updated_at"])
    if upload.kind not in ARCHIVE_KINDS or upload.manifest_checked:
        return
    manifest = (
        _zip_manifest_so_far(upload, received)
        if upload.kind == "zip"
        else _tar_manifest_so_far(upload, received)
    )
    if manifest is not None:
        layout = plan_layout(list(manifest.members), manifest.configs)
        model.format = settle_unless_ollama_away(model, layout).format
        upload.manifest_checked = True
        upload.save(update_fields=["manifest_checked", "updated_at"])


def _zip_manifest_so_far(upload: ChunkedUpload, received: set[int]) -> Manifest | None:
    """A ZIP's manifest once its central directory (and config files) have arrived."""
    if upload.total_chunks - 1 not in received:
        return None
    with PartialFile(
        upload.model.temp_upload_path,
        size=upload.file_size,
        chunk_size=upload.chunk_size,
        received=received,
    ) as partial:
        try:
            return inspect_zip(partial, limit=settings.MAX_EXTRACTED_SIZE)
        except NotYetReceived:
            return None


def _early_config_check(model: Model) -> Callable[[str, str, Manifest], None]:
    """A TarStreamChecker callback: judge config.json / adapter_config.json as they pass."""

    def check(name: str, text: str, manifest: Manifest) -> None:
        path = PurePosixPath(name)
        if len(path.parts) > 2 or any(m.lower().endswith(".gguf") for m in manifest.members):
            return  # a GGUF in the archive is what gets imported; its configs do not matter
        config = parse_config(path.name, text)
        if path.name == MODEL_CONFIG:
            model_architecture(config)
        elif path.name == ADAPTER_CONFIG:
            with contextlib.suppress(OllamaUnavailable):  # if so, checked again at import
                check_adapter_base(
                    chosen=model.base_model, named=adapter_base_model(config), safetensors=True
                )

    return check


def _tar_checker(upload: ChunkedUpload) -> TarStreamChecker:
    with _tar_checkers_lock:
        checker = _tar_checkers.get(upload.model_id)
        if checker is None:
            checker = TarStreamChecker(
                gzip=upload.kind == "tar.gz",
                limit=settings.MAX_EXTRACTED_SIZE,
                on_config=_early_config_check(upload.model),
            )
            _tar_checkers[upload.model_id] = checker
        return checker


def _forget_tar_checker(model_id: uuid.UUID) -> None:
    with _tar_checkers_lock:
        _tar_checkers.pop(model_id, None)


def _feed(checker: TarStreamChecker, handle: BinaryIO, end: int) -> None:
    """Feed the checker the file's bytes from where it stopped up to `end`."""
    handle.seek(checker.offset)
    while checker.offset < end:
        block = handle.read(min(COPY_BLOCK, end - checker.offset))
        if not block:
            break
        checker.feed(block)


def _tar_manifest_so_far(upload: ChunkedUpload, received: set[int]) -> Manifest | None:
    """Feed a tar's checker what has arrived in order; its manifest once all has."""
    end = _contiguous_end(upload, received)
    with _tar_checkers_lock, upload.model.temp_upload_path.open("rb") as handle:
        checker = _tar_checker(upload)
        _feed(checker, handle, end)
        if end < upload.file_size:
            return None
        return checker.finish()


# -- state, complete, abort ------------------------------------------------------------------


def discard_upload(model: Model, *, reason: str = "") -> None:
    """Remove an upload and everything it stored (see storage.discard)."""
    _forget_tar_checker(model.pk)
    discard(model, reason=reason)


@contextlib.contextmanager
def _finishing_alone(model_id: uuid.UUID) -> Iterator[None]:
    """Wait for any other completion or abort of this upload, then hold it off until done."""
    with _finishing_lock:
        lock, users = _finishing.get(model_id, (threading.Lock(), 0))
        _finishing[model_id] = (lock, users + 1)
    try:
        with lock:
            yield
    finally:
        with _finishing_lock:
            lock, users = _finishing[model_id]
            if users == 1:
                del _finishing[model_id]
            else:
                _finishing[model_id] = (lock, users - 1)


def complete_upload(*, model_id: uuid.UUID) -> Model:
    """Check that every chunk is there, hash the file in one pass, move it into place, queue it.

    Completing again (a client retrying after a lost answer, even while the first call still
    runs) answers the model as it is now.
    Raises ApiError 404, 409 (chunks missing), 422 (not a model; the upload is deleted).
    """
    with _finishing_alone(model_id):
        return _complete(model_id)


def _complete(model_id: uuid.UUID) -> Model:
    done = Model.objects.filter(pk=model_id).exclude(status=ModelStatus.UPLOADING).first()
    if done is not None:
        return done
    upload = get_upload(model_id=model_id)
    model = upload.model
    _require_uploading(model)
    received = set(upload.received_indexes())
    missing = [i for i in range(upload.total_chunks) if i not in received]
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
        raise ApiError(
            f"{len(missing)} of {upload.total_chunks} chunks have not arrived: {shown}.",
            status=409,
            code="upload_incomplete",
        )
    try:
        digest, layout = _final_pass(upload)
    except NotAModel as exc:
        discard_upload(model, reason=exc.message)
        raise _refused(exc) from None
    _forget_tar_checker(model.pk)
    upload.delete()
    return store_upload(model, kind=upload.kind, layout=layout, digest=digest)


def _final_pass(upload: ChunkedUpload) -> tuple[str, Layout]:
    """One read of the whole file: its SHA-256, the rest of a tar's check; then its layout."""
    model = upload.model
    path = model.temp_upload_path
    digest = hashlib.sha256()
    checker = _tar_checker(upload) if upload.kind in ("tar", "tar.gz") else None
    checker_lock = _tar_checkers_lock if checker is not None else contextlib.nullcontext()
    with checker_lock, path.open("rb") as handle:
        position = 0
        while block := handle.read(COPY_BLOCK):
            digest.update(block)
            position += len(block)
            if checker is not None and checker.offset < position:
                checker.feed(block[checker.offset - position :])
        os.fsync(handle.fileno())
    if upload.kind == "gguf":
        layout = gguf_layout(model, read_head(path, GGUF_HEAD_SIZE))
    else:
        manifest = checker.finish() if checker is not None else _whole_zip_manifest(upload)
        layout = plan_layout(list(manifest.members), manifest.configs)
    return digest.hexdigest(), settle_unless_ollama_away(model, layout)


def _whole_zip_manifest(upload: ChunkedUpload) -> Manifest:
    with PartialFile(
        upload.model.temp_upload_path,
        size=upload.file_size,
        chunk_size=upload.chunk_size,
        received=None,
    ) as whole:
        return inspect_zip(whole, limit=settings.MAX_EXTRACTED_SIZE)


def abort_upload(*, model_id: uuid.UUID) -> None:
    """Cancel an upload in progress and remove everything it stored (409 once completed)."""
    with _finishing_alone(model_id):
        upload = get_upload(model_id=model_id)
        _require_uploading(upload.model)
        discard_upload(upload.model)
    logger.info("Upload of %s cancelled", upload.model.name)
