"""Bookkeeping of chunked uploads: which chunks of which file have arrived."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models

from models_app.models import Model


class ChunkedUploadQuerySet(models.QuerySet):
    def abandoned(self, *, now: datetime) -> "ChunkedUploadQuerySet":
        """Uploads nobody has sent a chunk to for UPLOAD_EXPIRY_HOURS."""
        return self.filter(updated_at__lt=now - timedelta(hours=settings.UPLOAD_EXPIRY_HOURS))


class ChunkedUpload(models.Model):
    """A file arriving in chunks; it lives until `complete` (or until it expires)."""

    model = models.OneToOneField(
        Model, on_delete=models.CASCADE, primary_key=True, related_name="chunked_upload"
    )
    file_name = models.CharField(max_length=255)
    file_size = models.BigIntegerField()
    chunk_size = models.BigIntegerField()
    total_chunks = models.PositiveIntegerField()
    # What the first chunk showed ("gguf", "zip", "tar", "tar.gz"); empty until it arrives.
    kind = models.CharField(max_length=10, blank=True)
    # True once the archive's list of members was read and found acceptable.
    manifest_checked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Moves with every chunk: abandoned uploads expire this long after their last chunk.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = ChunkedUploadQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.file_name} ({self.total_chunks} chunks)"

    @property
    def expires_at(self) -> datetime:
        return self.updated_at + timedelta(hours=settings.UPLOAD_EXPIRY_HOURS)

    def chunk_length(self, index: int) -> int:
        """The exact size chunk `index` must have (the last one holds the rest)."""
        if index < self.total_chunks - 1:
            return self.chunk_size
        return self.file_size - self.chunk_size * (self.total_chunks - 1)

    def received_indexes(self) -> list[int]:
        return list(self.chunks.order_by("index").values_list("index", flat=True))


class ReceivedChunk(models.Model):
    """One chunk written into place; a row per chunk keeps concurrent chunks race-free."""

    upload = models.ForeignKey(ChunkedUpload, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["upload", "index"], name="one_row_per_chunk"),
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of {self.upload_id}"
