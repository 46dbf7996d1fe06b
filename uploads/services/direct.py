"""Models that arrive whole: a multipart upload streamed to disk, or a file already on the server.

A multipart body is parsed by Django's MultiPartParser with `FilePartHandler`, which writes the
file field to disk as it is parsed (hashing it in the same pass and sniffing its first bytes),
so the file is never held in memory. A server path is accepted only inside IMPORT_DIRS (after
resolving links) and is never copied or deleted.
"""

import hashlib
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http.multipartparser import MultiPartParser, MultiPartParserError

from models_app.models import Model, ModelOrigin, ModelStatus
from models_app.services import update_model
from premrunner.errors import ApiError
from uploads.formats import SNIFF_SIZE, NotAModel, sniff
from uploads.jobs import wake_worker
from uploads.services.importing import OWNER
from uploads.services.inspection import inspect_path, settle_unless_ollama_away
from uploads.services.registration import ModelOptions, options_from, register_model
from uploads.services.storage import ARCHIVE_KINDS, discard, store_upload

logger = logging.getLogger(__name__)


@dataclass
class FilePart:
    """A file field written to disk by FilePartHandler."""

    path: Path
    file_name: str
    size: int
    sha256: str
    head: bytes


class PartTooLarge(Exception):
    pass


class FilePartHandler(FileUploadHandler):
    """Writes one file field of a multipart body to `destination` as it is parsed.

    Hashes it in the same pass when `hash_it`, stops past `limit` bytes (PartTooLarge), and
    calls `check_head(first_bytes)` as soon as the first SNIFF_SIZE bytes are in (it may raise
    to refuse the file before the rest is written).
    """

    chunk_size = 1024 * 1024

    def __init__(
        self,
        *,
        field_name: str,
        destination: Path,
        limit: int,
        hash_it: bool = True,
        check_head: Callable[[bytes], object] | None = None,
    ) -> None:
        super().__init__()
        self.part: FilePart | None = None
        self.wanted_field = field_name
        self.destination = destination
        self.limit = limit
        self._digest = hashlib.sha256() if hash_it else None
        self._check_head = check_head
        self._handle: BinaryIO | None = None
        self._head = b""
        self._size = 0

    def new_file(self, field_name: str, file_name: str, *args, **kwargs) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != self.wanted_field or self._handle is not None or self.part is not None:
            return
        self._handle = self.destination.open("xb")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self._handle is None:
            return None  # another field: dropped
        self._size += len(raw_data)
        if self._size > self.limit:
            raise PartTooLarge
        if len(self._head) < SNIFF_SIZE:
            self._head += raw_data[: SNIFF_SIZE - len(self._head)]
            if len(self._head) == SNIFF_SIZE and self._check_head is not None:
                self._check_head(self._head)
        if self._digest is not None:
            self._digest.update(raw_data)
        self._handle.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> None:
        if self._handle is None:
            return None
        self._handle.flush()
        self._handle.close()
        self._handle = None
        if len(self._head) < SNIFF_SIZE and self._check_head is not None:
            self._check_head(self._head)
        self.part = FilePart(
            path=self.destination,
            file_name=self.file_name or "",
            size=self._size,
            sha256=self._digest.hexdigest() if self._digest is not None else "",
            head=self._head,
        )
        return None

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def parse_multipart(
    *, meta: dict, body: BinaryIO, handler: FilePartHandler
) -> tuple[dict, FilePart | None]:
    """(form fields, the file part) of a multipart body read from `body` in bounded pieces.

    Raises ApiError 400 for a malformed body, 413 past the handler's limit; on any failure the
    file written so far is removed.
    """
    try:
        fields, _ = MultiPartParser(meta, body, [handler], settings.DEFAULT_CHARSET).parse()
    except PartTooLarge:
        raise ApiError(
            f"The '{handler.wanted_field}' part is larger than the {handler.limit} bytes allowed.",
            status=413,
            code="file_too_large",
        ) from None
    except (MultiPartParserError, StopUpload) as exc:
        raise ApiError(f"The multipart body could not be read: {exc}.") from None
    finally:
        handler.close()
        if handler.part is None:
            handler.destination.unlink(missing_ok=True)
    return fields, handler.part


def _refused(exc: NotAModel) -> ApiError:
    return ApiError(exc.message, status=422, code="unsupported_model")


def receive_whole_upload(*, meta: dict, body: BinaryIO) -> Model:
    """A model from a multipart body: field `file`, plus `name` and the other ModelOptions.

    Raises ApiError 400, 409 (name taken), 413, 422 (not a model). Nothing stays on disk after
    a refusal.
    """
    model_id = uuid.uuid4()
    destination = Model(id=model_id).temp_upload_path
    handler = FilePartHandler(
        field_name="file",
        destination=destination,
        limit=settings.MAX_UPLOAD_SIZE,
        check_head=sniff,
    )
    try:
        fields, part = parse_multipart(meta=meta, body=body, handler=handler)
    except NotAModel as exc:
        raise _refused(exc) from None
    if part is None:
        raise ApiError("Send the model file in the multipart field 'file'.", param="file")
    try:
        options = options_from(fields)
        model = register_model(
            options=options, file_name=part.file_name, size=part.size, model_id=model_id
        )
    except ApiError:
        destination.unlink(missing_ok=True)
        raise
    try:
        kind, layout = inspect_path(model, destination)
    except NotAModel as exc:
        discard(model, reason=exc.message)
        raise _refused(exc) from None
    with destination.open("rb") as handle:
        os.fsync(handle.fileno())
    layout = settle_unless_ollama_away(model, layout)
    return store_upload(model, kind=kind, layout=layout, digest=part.sha256)


def _inside(path: Path, folders: list[Path]) -> bool:
    return any(path.is_relative_to(folder) for folder in folders)


def import_server_path(
    *, path: str, options: ModelOptions, allowed_dirs: list[Path] | None, claim: bool = False
) -> Model:
    """Register a model file (or model folder) already on this server; nothing is copied.

    `allowed_dirs` are the only folders it may come from (None: anywhere, for the operator's
    command). With `claim`, this process takes the import at once instead of queueing it.
    Raises ApiError 400, 403 (outside the allowed folders, or none set), 404, 409, 422.
    """
    candidate = Path(path)
    if not candidate.is_absolute():
        raise ApiError("'path' must be an absolute path on the server.", param="path")
    if allowed_dirs is not None and not allowed_dirs:
        raise ApiError(
            "Importing files from the server is off: set IMPORT_DIRS to the folders it may use.",
            status=403,
            code="import_disabled",
            param="path",
        )
    resolved = candidate.resolve()
    if allowed_dirs is not None and not _inside(resolved, allowed_dirs):
        raise ApiError(
            "That path is outside the folders listed in IMPORT_DIRS (links are followed).",
            status=403,
            code="path_not_allowed",
            param="path",
        )
    try:
        found = resolved.is_file() or resolved.is_dir()
    except OSError as exc:  # a name too long, a folder it may not read
        raise ApiError(f"Cannot read {path}: {exc.strerror}.", param="path") from None
    if not found:
        raise ApiError(f"No file or folder at {path}.", status=404, code="file_not_found")
    size = (
        resolved.stat().st_size
        if resolved.is_file()
        else sum(p.stat().st_size for p in resolved.rglob("*") if p.is_file())
    )
    model = register_model(
        options=options,
        file_name=resolved.name,
        size=size,
        origin=ModelOrigin.SERVER,
        file_path=str(resolved),
    )
    try:
        kind, layout = inspect_path(model, resolved)
        layout = settle_unless_ollama_away(model, layout)
    except NotAModel as exc:
        discard(model, reason=exc.message)
        raise _refused(exc) from None
    update_model(
        model,
        status=ModelStatus.IMPORTING if claim else ModelStatus.UPLOADED,
        import_owner=OWNER if claim else "",
        import_attempts=1 if claim else 0,
        format=layout.format,
        container=kind if kind in ARCHIVE_KINDS else "",
        base_model=model.base_model,
        status_message="Starting the import" if claim else "Queued for import",
    )
    if not claim:
        wake_worker()
    logger.info("Registered server path %s as %s", resolved, model.name)
    return model
