"""Models PremRunner imported into Ollama (the seed's `models` table, grown up)."""

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models


class ModelStatus(models.TextChoices):
    UPLOADING = "uploading", "Uploading"
    UPLOADED = "uploaded", "Uploaded"
    IMPORTING = "importing", "Importing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class ModelFormat(models.TextChoices):
    UNKNOWN = "unknown", "Not known yet"
    GGUF = "gguf", "GGUF"
    SAFETENSORS = "safetensors", "Hugging Face safetensors"
    LORA = "lora", "LoRA adapter"


class ModelOrigin(models.TextChoices):
    # PremRunner received the file and owns its copy (deleted with the model).
    UPLOAD = "upload", "Uploaded"
    # A file already on the server, registered by path; PremRunner never deletes it.
    SERVER = "server", "Server file"


class Container(models.TextChoices):
    NONE = "", "Plain file"
    ZIP = "zip", "ZIP"
    TAR = "tar", "tar"
    TAR_GZ = "tar.gz", "tar.gz"


class ModelQuerySet(models.QuerySet):
    def ready(self) -> "ModelQuerySet":
        return self.filter(status=ModelStatus.READY)

    def queued(self) -> "ModelQuerySet":
        """Models waiting for the import worker, oldest first."""
        return self.filter(status=ModelStatus.UPLOADED).order_by("updated_at")


class Model(models.Model):
    """One uploaded or server-side model file and its way into Ollama."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The Ollama name, canonical (`name:tag`); unique so two uploads never overwrite each other.
    name = models.CharField(max_length=200, unique=True)
    # What the person called it, or the file's name (the seed's `alias`).
    alias = models.CharField(max_length=255, blank=True)
    source_filename = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    format = models.CharField(
        max_length=20, choices=ModelFormat.choices, default=ModelFormat.UNKNOWN
    )
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=20, choices=ModelStatus.choices, default=ModelStatus.UPLOADING, db_index=True
    )
    progress = models.FloatField(default=0.0)
    status_message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    file_path = models.CharField(max_length=1000, blank=True)
    # Options passed on to Ollama's create.
    system_prompt = models.TextField(blank=True)
    template = models.TextField(blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    quantize = models.CharField(max_length=20, blank=True)
    base_model = models.CharField(max_length=200, blank=True)
    origin = models.CharField(
        max_length=10, choices=ModelOrigin.choices, default=ModelOrigin.UPLOAD
    )
    container = models.CharField(max_length=10, choices=Container.choices, blank=True)
    # Imports started for this model; a restart resumes an import only a few times.
    import_attempts = models.PositiveSmallIntegerField(default=0)
    # Which process runs the import now (`host:pid:token`), so a restart can tell a dead one.
    import_owner = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    objects = ModelQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def downloaded(self) -> bool:
        """The seed's flag: the model is in Ollama and can be called."""
        return self.status == ModelStatus.READY

    @property
    def temp_upload_path(self) -> Path:
        """Where a chunked upload is assembled before it is whole."""
        return settings.UPLOAD_TMP_DIR / f"{self.id}.part"

    @property
    def extract_dir(self) -> Path:
        """Where the files of an archive are unpacked for the import."""
        return settings.EXTRACTED_MODELS_DIR / str(self.id)

    def owned_paths(self) -> list[Path]:
        """Every file or folder PremRunner made for this model (a server file is not one)."""
        paths = [self.temp_upload_path, self.extract_dir]
        if self.file_path and self.origin == ModelOrigin.UPLOAD:
            paths.append(Path(self.file_path))
        return paths

    def event_payload(self) -> dict:
        """The `model` of a `model.progress` WebSocket event."""
        return {
            "id": str(self.id),
            "name": self.name,
            "status": self.status,
            "progress": round(self.progress, 4),
            "status_message": self.status_message,
            "error": self.error,
        }
