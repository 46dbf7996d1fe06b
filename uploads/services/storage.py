"""Where uploaded files end up: moved into UPLOADS_DIR only when whole, or removed entirely."""

import logging
import os
from pathlib import Path

from django.conf import settings

from models_app.models import Model, ModelStatus
from models_app.services import publish_progress, remove_owned_files, update_model
from uploads.formats import Layout
from uploads.jobs import wake_worker

logger = logging.getLogger(__name__)

ARCHIVE_KINDS = ("zip", "tar", "tar.gz")
SUFFIXES = {"gguf": ".gguf", "zip": ".zip", "tar": ".tar", "tar.gz": ".tar.gz"}


def fsync_directory(path: Path) -> None:
    """Make a rename inside `path` survive a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def store_upload(model: Model, *, kind: str, layout: Layout, digest: str) -> Model:
    """Move the whole, checked (and synced) temporary file into UPLOADS_DIR; queue the import."""
    final_path = settings.UPLOADS_DIR / f"{model.pk}{SUFFIXES[kind]}"
    os.replace(model.temp_upload_path, final_path)
    fsync_directory(settings.UPLOADS_DIR)
    update_model(
        model,
        status=ModelStatus.UPLOADED,
        file_path=str(final_path),
        size=final_path.stat().st_size,
        sha256=digest,
        format=layout.format,
        container=kind if kind in ARCHIVE_KINDS else "",
        base_model=model.base_model,
        progress=0.0,
        status_message="Queued for import",
    )
    logger.info("Stored upload of %s (sha256 %s)", model.name, digest)
    wake_worker()
    return model


def discard(model: Model, *, reason: str = "") -> None:
    """Remove a model that will not be, and every file it stored; announce a refusal's reason."""
    if reason:
        model.status, model.error, model.status_message = ModelStatus.FAILED, reason, "Refused"
        publish_progress(model)
        logger.info("Refused %s: %s", model.name, reason)
    remove_owned_files(model)
    model.delete()
