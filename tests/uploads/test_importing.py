"""The import queue in the database: claims and recovery of imports whose process is gone."""

import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from models_app.models import Model, ModelStatus
from uploads.services.importing import (
    MAX_ATTEMPTS,
    OWNER,
    STALE_AFTER,
    claim,
    claim_next,
    recover_interrupted_imports,
)

pytestmark = pytest.mark.django_db


def make_model(**overrides) -> Model:
    fields = {"name": f"m{Model.objects.count()}:latest", "status": ModelStatus.UPLOADED}
    return Model.objects.create(**{**fields, **overrides})


def dead_owner() -> str:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"{socket.gethostname()}:{finished.stdout.strip()}:old"


def test_a_queued_model_is_claimed_once():
    model = make_model()

    first, second = claim(model.pk), claim(model.pk)

    assert first is not None and first.status == ModelStatus.IMPORTING
    assert first.import_owner == OWNER and first.import_attempts == 1
    assert second is None


def test_the_oldest_queued_model_goes_first():
    older, newer = make_model(), make_model()
    Model.objects.filter(pk=newer.pk).update(updated_at=timezone.now() + timedelta(seconds=1))

    assert claim_next().pk == older.pk
    assert claim_next().pk == newer.pk
    assert claim_next() is None


def test_an_import_whose_process_died_is_queued_again():
    model = make_model(status=ModelStatus.IMPORTING, import_owner=dead_owner(), import_attempts=1)

    recover_interrupted_imports()

    model.refresh_from_db()
    assert model.status == ModelStatus.UPLOADED
    assert "interrupted by a restart" in model.status_message


def test_an_import_interrupted_too_often_fails_with_the_reason():
    model = make_model(
        status=ModelStatus.IMPORTING, import_owner=dead_owner(), import_attempts=MAX_ATTEMPTS
    )

    recover_interrupted_imports()

    model.refresh_from_db()
    assert model.status == ModelStatus.FAILED
    assert f"interrupted {MAX_ATTEMPTS} times" in model.error


def test_an_import_of_a_live_process_is_left_alone_until_it_goes_silent():
    live = f"{socket.gethostname()}:{os.getppid()}:other"
    model = make_model(status=ModelStatus.IMPORTING, import_owner=live, import_attempts=1)

    recover_interrupted_imports()
    model.refresh_from_db()
    assert model.status == ModelStatus.IMPORTING

    Model.objects.filter(pk=model.pk).update(updated_at=timezone.now() - 2 * STALE_AFTER)
    recover_interrupted_imports()
    model.refresh_from_db()
    assert model.status == ModelStatus.UPLOADED
