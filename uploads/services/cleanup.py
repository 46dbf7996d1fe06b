"""Cleaning up: expired temporary uploads, files no model owns, failed models, old traces."""

import logging
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from models_app.models import Model, ModelStatus
from models_app.services import remove_owned_files
from uploads.models import ChunkedUpload
from uploads.services.chunked import discard_upload

logger = logging.getLogger(__name__)

# A file younger than this may belong to an upload or import happening now: never an orphan.
ORPHAN_GRACE = timedelta(hours=1)


@dataclass
class CleanupReport:
    """What a cleanup removed (or, in a dry run, would remove)."""

    expired_uploads: list[str] = field(default_factory=list)
    orphan_files: list[Path] = field(default_factory=list)
    failed_models: list[str] = field(default_factory=list)
    old_traces: int = 0


def expire_abandoned_uploads(*, now: datetime | None = None, dry_run: bool = False) -> list[str]:
    """Remove uploads idle for UPLOAD_EXPIRY_HOURS; returns their model names.

    Those are chunked uploads no chunk came to, and models left `uploading` by a whole upload
    or a server import that a crash cut short.
    """
    now = now or timezone.now()
    abandoned = [
        upload.model for upload in ChunkedUpload.objects.abandoned(now=now).select_related("model")
    ]
    abandoned += Model.objects.filter(
        status=ModelStatus.UPLOADING,
        chunked_upload__isnull=True,
        updated_at__lt=now - timedelta(hours=settings.UPLOAD_EXPIRY_HOURS),
    )
    if not dry_run:
        for model in abandoned:
            discard_upload(model)
            logger.info("Expired the abandoned upload of %s", model.name)
    return [model.name for model in abandoned]


def find_orphan_files(*, now: datetime | None = None) -> list[Path]:
    """Files and folders under the upload folders that no model owns (older than the grace)."""
    owned = set()
    for model in Model.objects.all():
        owned.update(path.resolve() for path in model.owned_paths())
    cutoff = ((now or timezone.now()) - ORPHAN_GRACE).timestamp()
    orphans = []
    for folder in (settings.UPLOADS_DIR, settings.UPLOAD_TMP_DIR, settings.EXTRACTED_MODELS_DIR):
        for path in sorted(folder.iterdir()):
            if path.resolve() not in owned and path.lstat().st_mtime < cutoff:
                orphans.append(path)
    return orphans


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def delete_failed_models(*, dry_run: bool = False) -> list[str]:
    """Remove failed models (never in Ollama) with their files; returns their names."""
    failed = list(Model.objects.filter(status=ModelStatus.FAILED))
    if not dry_run:
        for model in failed:
            remove_owned_files(model)
            model.delete()
    return [model.name for model in failed]


def delete_old_traces(*, days: int, now: datetime | None = None, dry_run: bool = False) -> int:
    """Remove traces older than `days` days; returns how many."""
    from traces.models import Trace  # the traces app is optional to this one

    old = Trace.objects.filter(created_at__lt=(now or timezone.now()) - timedelta(days=days))
    if dry_run:
        return old.count()
    return old.delete()[0]


def run_cleanup(*, dry_run: bool, trace_days: int | None) -> CleanupReport:
    """All of the above (traces only when `trace_days` is given)."""
    started = time.monotonic()
    report = CleanupReport(
        expired_uploads=expire_abandoned_uploads(dry_run=dry_run),
        failed_models=delete_failed_models(dry_run=dry_run),
    )
    report.orphan_files = find_orphan_files()
    if not dry_run:
        for path in report.orphan_files:
            _remove(path)
    if trace_days is not None:
        report.old_traces = delete_old_traces(days=trace_days, dry_run=dry_run)
    logger.info(
        "Cleanup%s in %.1fs: %d expired uploads, %d orphan files, %d failed models, %d traces",
        " (dry run)" if dry_run else "",
        time.monotonic() - started,
        len(report.expired_uploads),
        len(report.orphan_files),
        len(report.failed_models),
        report.old_traces,
    )
    return report
