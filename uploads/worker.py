"""The import worker: one thread per server process that takes queued models from the database.

No broker: rows in status `uploaded` are the queue (house-style pattern 6). The worker also
resumes imports that a restart interrupted and expires abandoned uploads, every SWEEP_SECONDS.
Started by `UploadsConfig.ready()` in server processes that will start (premrunner.lifecycle).
"""

import logging
import threading
import time

from django.db import DatabaseError, close_old_connections

from uploads.jobs import wait_for_job
from uploads.services.cleanup import expire_abandoned_uploads
from uploads.services.importing import claim_next, recover_interrupted_imports, run_import

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
SWEEP_SECONDS = 30.0

_worker: threading.Thread | None = None
_start_lock = threading.Lock()


def _sweep() -> None:
    recover_interrupted_imports()
    expire_abandoned_uploads()


def _work_once(last_sweep: float) -> tuple[bool, float]:
    """Sweep when due, then run one job if one waits; (ran a job, time of last sweep)."""
    if time.monotonic() - last_sweep >= SWEEP_SECONDS:
        _sweep()
        last_sweep = time.monotonic()
    job = claim_next()
    if job is None:
        return False, last_sweep
    logger.info("Importing %s (%s)", job.name, job.pk)
    run_import(job)
    return True, last_sweep


def _run() -> None:
    last_sweep = -SWEEP_SECONDS
    while True:
        ran = False
        try:
            ran, last_sweep = _work_once(last_sweep)
        except DatabaseError as exc:  # e.g. the tables are not migrated yet at start-up
            logger.debug("Import worker waits for the database: %s", exc)
        except Exception:
            logger.exception("The import worker hit an unexpected error; it carries on")
        finally:
            close_old_connections()
        if not ran:
            wait_for_job(POLL_SECONDS)


def start_worker() -> None:
    """Start this process's import worker (once)."""
    global _worker
    with _start_lock:
        if _worker is None:
            _worker = threading.Thread(target=_run, name="import-worker", daemon=True)
            _worker.start()
            logger.info("Import worker started")
