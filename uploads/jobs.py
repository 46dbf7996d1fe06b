"""The import queue: Model rows in status `uploaded` are the jobs (the database is the queue).

`wake_worker()` tells this process's import worker that a job is waiting, so it need not wait
for its next look at the database.
"""

import threading

_job_waiting = threading.Event()


def wake_worker() -> None:
    """A job was queued: wake the worker now (a no-op where no worker runs)."""
    _job_waiting.set()


def wait_for_job(timeout: float) -> None:
    """Block the worker until `wake_worker()` is called or `timeout` seconds pass."""
    _job_waiting.wait(timeout)
    _job_waiting.clear()
