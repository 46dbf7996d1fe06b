"""The commands: `import_model` (a real process, next to a running server) and `cleanup`."""

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from models_app.models import Model, ModelStatus
from tests.files import write_tiny_gguf
from tests.support.server import REPO_ROOT, TEST_TOKEN
from traces.models import Trace
from uploads.models import ChunkedUpload


def manage(server, *args: str) -> subprocess.CompletedProcess:
    """Run `manage.py` on the same data and Ollama as a running server."""
    env = {**server.environment(), "DJANGO_SETTINGS_MODULE": "premrunner.settings"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_import_model_imports_with_a_progress_bar(upload_server, uploads, tmp_path):
    gguf = write_tiny_gguf(tmp_path / "cli.gguf")

    done = manage(
        upload_server, "import_model", str(gguf), "--name", "cli-model", "--system", "Be brief."
    )

    assert done.returncode == 0, done.stderr
    assert "cli-model:latest is ready" in done.stdout
    assert "100%" in done.stderr and "[####" in done.stderr
    status = uploads.get(f"{uploads.base_url}/v1/models/cli-model/status").json()
    assert status["status"] == "ready"
    assert gguf.exists()  # imported in place, not moved


def test_import_model_says_why_it_refuses_a_file(upload_server, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello " * 200)

    done = manage(upload_server, "import_model", str(text), "--name", "not-a-model")

    assert done.returncode == 1
    assert "not a model" in done.stderr


@pytest.fixture
def old() -> timezone.datetime:
    return timezone.now() - timedelta(days=40)


def _age(path, when) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


@pytest.mark.django_db
def test_cleanup_removes_expired_uploads_orphans_failed_models_and_old_traces(settings, old):
    abandoned = Model.objects.create(name="abandoned:latest")
    abandoned.temp_upload_path.write_bytes(b"GGUF")
    ChunkedUpload.objects.create(
        model=abandoned, file_name="a", file_size=4, chunk_size=4, total_chunks=1
    )
    ChunkedUpload.objects.filter(model=abandoned).update(updated_at=old)
    failed_file = settings.UPLOADS_DIR / "failed.gguf"
    failed_file.write_bytes(b"GGUF")
    Model.objects.create(
        name="failed:latest", status=ModelStatus.FAILED, file_path=str(failed_file)
    )
    orphan, young = settings.UPLOADS_DIR / "orphan.gguf", settings.UPLOADS_DIR / "young.gguf"
    orphan.write_bytes(b"x")
    young.write_bytes(b"x")
    _age(orphan, old)
    Trace.objects.create(endpoint="/v1/chat/completions", model="m", created_at=old)
    Trace.objects.create(endpoint="/v1/chat/completions", model="m")

    dry = StringIO()
    call_command("cleanup", "--dry-run", "--trace-days", "30", stdout=dry)

    assert (
        "Would remove 1 expired uploads, 1 orphan files, 1 failed models and 1 old traces"
        in dry.getvalue()
    )
    assert orphan.exists() and Trace.objects.count() == 2

    call_command("cleanup", "--trace-days", "30", stdout=StringIO())

    assert not Model.objects.filter(name__in=["abandoned:latest", "failed:latest"]).exists()
    assert not abandoned.temp_upload_path.exists() and not failed_file.exists()
    assert not orphan.exists() and young.exists()
    assert Trace.objects.count() == 1
    young.unlink()


def test_bad_upload_settings_stop_serve_with_what_to_fix(tmp_path):
    server_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "premrunner.settings",
        "DATA_PATH": str(tmp_path),
        "AUTH_TOKEN": TEST_TOKEN,
        "UPLOAD_CHUNK_SIZE": "0",
        "IMPORT_DIRS": str(tmp_path / "missing"),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_ROOT,
        env=server_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "UPLOAD_CHUNK_SIZE must be a positive number of bytes." in done.stderr
    assert "which is not a folder" in done.stderr
