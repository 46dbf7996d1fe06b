"""Taking an uploaded model into Ollama, through its HTTP API only.

Unpack an archive (safely), push each file as a blob (Ollama skips those it has), create the
model with files or adapters and the options chosen at upload, then prove it loads with a
one-token generation before calling it ready. Progress goes to the database (the status
endpoint) and to the WebSocket as it happens: uploaded -> importing -> ready | failed.

A job belongs to one process (`import_owner`), which refreshes the row while it works; an import
whose process died (a restart) or went silent is resumed, a few times at most, then failed
with the reason. Nothing stays `importing` for ever.
"""

import contextlib
import logging
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from django.db.models import F
from django.utils import timezone

from models_app.models import Model, ModelFormat, ModelStatus
from models_app.services import update_model
from ollama_bridge.client import get_client
from ollama_bridge.errors import ModelNotFound, OllamaError
from uploads.archives import extract
from uploads.formats import Layout, NotAModel, sniff
from uploads.services.inspection import (
    GGUF_HEAD_SIZE,
    folder_manifest,
    gguf_layout,
    layout_of_manifest,
    read_head,
    settle_layout,
)

logger = logging.getLogger(__name__)

# This process, as an import owner: host, pid, and a token no earlier process had.
OWNER = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
HEARTBEAT_SECONDS = 15.0
# An import whose row has not moved for this long has lost its process.
STALE_AFTER = timedelta(seconds=120)
MAX_ATTEMPTS = 3
PROGRESS_INTERVAL = 0.25
PROMPT = "Hello"

# Share of the progress bar each stage ends at.
UNPACKED, PUSHED, CREATED = 0.1, 0.5, 0.95


# -- claiming jobs ---------------------------------------------------------------------------


def claim(model_id) -> Model | None:
    """Take a queued model for this process (atomically); None when another process was first."""
    claimed = Model.objects.filter(pk=model_id, status=ModelStatus.UPLOADED).update(
        status=ModelStatus.IMPORTING,
        import_owner=OWNER,
        import_attempts=F("import_attempts") + 1,
        progress=0.0,
        error="",
        status_message="Starting the import",
        updated_at=timezone.now(),
    )
    return Model.objects.get(pk=model_id) if claimed else None


def claim_next() -> Model | None:
    """The oldest queued model, claimed for this process; None when none waits."""
    for model_id in Model.objects.queued().values_list("pk", flat=True)[:5]:
        model = claim(model_id)
        if model is not None:
            return model
    return None


def _owner_is_gone(owner: str) -> bool:
    """True when the process named by `owner` (not this one) has certainly ended."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine: only silence tells
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # an earlier process with this pid (e.g. PID 1 in a container)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def recover_interrupted_imports() -> list[Model]:
    """Queue again (or fail, after MAX_ATTEMPTS) imports whose process died or went silent."""
    recovered = []
    stale_before = timezone.now() - STALE_AFTER
    for model in Model.objects.filter(status=ModelStatus.IMPORTING).exclude(import_owner=OWNER):
        if not (_owner_is_gone(model.import_owner) or model.updated_at < stale_before):
            continue
        if model.import_attempts >= MAX_ATTEMPTS:
            update_model(
                model,
                status=ModelStatus.FAILED,
                import_owner="",
                error=f"The import was interrupted {model.import_attempts} times (PremRunner "
                "stopped while importing); retry it when PremRunner runs steadily.",
                status_message="Interrupted",
            )
        else:
            update_model(
                model,
                status=ModelStatus.UPLOADED,
                import_owner="",
                status_message="Resuming the import interrupted by a restart",
            )
        logger.warning("Recovered interrupted import of %s (%s)", model.name, model.status)
        recovered.append(model)
    return recovered


# -- progress --------------------------------------------------------------------------------


class _Progress:
    """Writes progress to the row and the WebSocket, at most a few times a second."""

    def __init__(self, model: Model, on_progress: Callable[[Model], None] | None) -> None:
        self.model = model
        self._on_progress = on_progress
        self._last = 0.0

    def __call__(self, progress: float, message: str, *, force: bool = False) -> None:
        now = time.monotonic()
        changed = message != self.model.status_message
        if not (force or changed) and now - self._last < PROGRESS_INTERVAL:
            return
        self._last = now
        update_model(self.model, progress=min(progress, 1.0), status_message=message[:500])
        if self._on_progress is not None:
            self._on_progress(self.model)


class _Heartbeat:
    """Keeps the row of a running import fresh, so no one takes it for abandoned."""

    def __init__(self, model: Model) -> None:
        self._model_id = model.pk
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="import-heartbeat", daemon=True)

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(HEARTBEAT_SECONDS):
                Model.objects.filter(pk=self._model_id, import_owner=OWNER).update(
                    updated_at=timezone.now()
                )
        finally:
            close_old_connections()


# -- the import ------------------------------------------------------------------------------


def run_import(model: Model, *, on_progress: Callable[[Model], None] | None = None) -> Model:
    """Import a claimed model into Ollama; returns it ready or failed (never raises for it).

    `on_progress` is called with the model at each progress step (the command's bar).
    """
    progress = _Progress(model, on_progress)
    started = time.monotonic()
    try:
        with _Heartbeat(model):
            root, layout = _prepare(model, progress)
            digests = _push(model, root, layout, progress)
            _create(model, layout, digests, progress)
            _prove_it_loads(model, progress)
    except Model.DoesNotExist:
        _forget_deleted(model)
        return model
    except NotAModel as exc:
        return _fail(model, exc.message)
    except OllamaError as exc:
        return _fail(model, exc.message)
    except OSError as exc:
        return _fail(model, f"Could not read or unpack the model's files: {exc}")
    except Exception as exc:  # whatever happens, the model must not stay `importing`
        logger.exception("Import of %s hit an unexpected error", model.name)
        return _fail(model, f"The import failed unexpectedly: {exc}")
    finally:
        shutil.rmtree(model.extract_dir, ignore_errors=True)
    update_model(
        model,
        status=ModelStatus.READY,
        progress=1.0,
        status_message="Ready",
        import_owner="",
        imported_at=timezone.now(),
    )
    if on_progress is not None:
        on_progress(model)
    logger.info("Imported %s in %.1fs", model.name, time.monotonic() - started)
    return model


def _fail(model: Model, message: str) -> Model:
    logger.warning("Import of %s failed: %s", model.name, message)
    with contextlib.suppress(Model.DoesNotExist):
        update_model(
            model,
            status=ModelStatus.FAILED,
            error=message,
            status_message="Failed",
            import_owner="",
        )
    return model


def _forget_deleted(model: Model) -> None:
    """The model was deleted while importing: take back what reached Ollama."""
    logger.info("Model %s was deleted during its import; stopping", model.name)
    with contextlib.suppress(OllamaError):
        get_client().delete_model(model.name)


def _prepare(model: Model, progress: _Progress) -> tuple[Path, Layout]:
    """(folder, layout): the files to push, unpacked from an archive when there is one."""
    path = Path(model.file_path)
    if not path.exists():
        raise NotAModel(f"The model's file is gone ({path.name}); upload it again.")
    kind = model.container or ("dir" if path.is_dir() else sniff(read_head(path)))
    if kind == "dir":
        root, layout = path, settle_layout(model, layout_of_manifest(folder_manifest(path)))
    elif kind == "gguf":
        layout = settle_layout(model, gguf_layout(model, read_head(path, GGUF_HEAD_SIZE)))
        root, layout = path.parent, _rename_plain_file(layout, path.name)
    else:
        progress(0.02, "Unpacking the archive", force=True)
        shutil.rmtree(model.extract_dir, ignore_errors=True)
        extract(path, kind=kind, dest=model.extract_dir, limit=settings.MAX_EXTRACTED_SIZE)
        root = model.extract_dir
        layout = settle_layout(model, layout_of_manifest(folder_manifest(root)))
    update_model(model, format=layout.format, base_model=model.base_model)
    progress(UNPACKED, "Files ready to send", force=True)
    return root, layout


def _rename_plain_file(layout: Layout, file_name: str) -> Layout:
    """A plain GGUF's layout points at the file as it is stored."""
    layout.files = {key: file_name for key in layout.files}
    layout.adapters = {key: file_name for key in layout.adapters}
    return layout


def _push(model: Model, root: Path, layout: Layout, progress: _Progress) -> dict[str, str]:
    """Push every file of the layout as a blob; returns Ollama's name -> digest."""
    members = {**layout.files, **layout.adapters}
    paths = {key: root / member for key, member in members.items()}
    total = sum(path.stat().st_size for path in paths.values()) or 1
    single_upload = len(paths) == 1 and model.sha256 and not model.container
    done = 0
    digests = {}
    for key, path in paths.items():

        def report(sent: int, size: int, key: str = key, before: int = done) -> None:
            fraction = (before + sent) / total
            progress(UNPACKED + (PUSHED - UNPACKED) * fraction, f"Sending {key} to Ollama")

        known = f"sha256:{model.sha256}" if single_upload else None
        digests[key] = get_client().push_blob(path, known, on_progress=report)
        done += path.stat().st_size
    if len(paths) == 1 and not model.sha256:
        update_model(model, sha256=next(iter(digests.values())).removeprefix("sha256:"))
    return digests


def _create(model: Model, layout: Layout, digests: dict[str, str], progress: _Progress) -> None:
    """Create the model in Ollama, relaying its progress lines."""
    progress(PUSHED, "Creating the model in Ollama", force=True)
    files = {key: digests[key] for key in layout.files}
    adapters = {key: digests[key] for key in layout.adapters}
    lines = get_client().create_model(
        model.name,
        files=files or None,
        adapters=adapters or None,
        from_model=model.base_model if layout.format == ModelFormat.LORA else None,
        system=model.system_prompt or None,
        template=model.template or None,
        parameters=model.parameters or None,
        quantize=model.quantize or None,
    )
    for line in lines:
        status = str(line.get("status") or "")
        total, completed = line.get("total"), line.get("completed")
        fraction = completed / total if total and completed is not None else 0.0
        progress(PUSHED + (CREATED - PUSHED) * fraction, f"Ollama: {status}")


def _prove_it_loads(model: Model, progress: _Progress) -> None:
    """One token (or one embedding) from the new model; else it is removed from Ollama."""
    progress(CREATED, "Checking that the model loads", force=True)
    client = get_client()
    try:
        capabilities = client.show(model.name).get("capabilities") or ["completion"]
        if "completion" in capabilities:
            client.generate({"model": model.name, "prompt": PROMPT, "options": {"num_predict": 1}})
        else:
            client.embed(model.name, PROMPT)
    except OllamaError as exc:
        with contextlib.suppress(ModelNotFound, OllamaError):
            client.delete_model(model.name)
        raise type(exc)(
            f"Ollama created the model but could not run it: {exc.message}",
            status_code=exc.status_code,
        ) from exc
