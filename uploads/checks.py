"""Configuration guards of the upload settings: `serve` stops with one line saying what to fix."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def upload_settings_check(app_configs, **kwargs) -> list[Error]:
    """Sizes must be positive; every IMPORT_DIRS entry must be an existing folder."""
    errors = []
    for name in ("MAX_UPLOAD_SIZE", "UPLOAD_CHUNK_SIZE", "MAX_EXTRACTED_SIZE"):
        if getattr(settings, name) <= 0:
            errors.append(Error(f"{name} must be a positive number of bytes.", id="uploads.E001"))
    if settings.UPLOAD_DISK_RESERVE < 0 or settings.UPLOAD_EXPIRY_HOURS <= 0:
        errors.append(
            Error(
                "UPLOAD_DISK_RESERVE must be 0 or more and UPLOAD_EXPIRY_HOURS more than 0.",
                id="uploads.E002",
            )
        )
    for folder in settings.IMPORT_DIRS:
        if not folder.is_dir():
            errors.append(
                Error(f"IMPORT_DIRS lists {folder}, which is not a folder.", id="uploads.E003")
            )
    return errors
