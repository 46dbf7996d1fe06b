"""Loaded models: how long a load takes, keep-alive expiry, and what `/api/ps` lists."""

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .durations import FOREVER
from .names import ModelName
from .store import StoredModel

DEFAULT_NUM_CTX = 4096
"""Ollama's default `num_ctx` on a machine with less than 23 GiB of VRAM (here: none)."""

_KV_CACHE_BYTES_PER_TOKEN = 1024


@dataclass
class Runner:
    """One loaded model, as the scheduler tracks it."""

    name: ModelName
    digest: str
    details: dict[str, Any]
    size: int
    context_length: int
    expires_ns: int
    ready: threading.Event = field(default_factory=threading.Event)
    refs: int = 0
    unload_when_idle: bool = False


class Scheduler:
    """Keeps models "loaded" between requests, like Ollama's scheduler with one runner each."""

    def __init__(self, *, load_delay: float, max_loaded: int) -> None:
        self._load_delay = load_delay
        self._max_loaded = max_loaded
        self._lock = threading.Lock()
        self._runners: dict[tuple[str, ...], Runner] = {}

    def acquire(self, model: StoredModel, *, keep_alive_ns: int, num_ctx: int) -> None:
        """Hold `model` loaded for one request, loading it first (taking the load delay) if needed.

        Concurrent requests for a model that is still loading wait for the same load.
        """
        key = model.name.folded()
        with self._lock:
            self._drop_expired()
            runner = self._runners.get(key)
            if runner is not None and runner.digest != model.manifest_digest and not runner.refs:
                del self._runners[key]
                runner = None
            loading = runner is None
            if runner is None:
                self._evict_idle()
                runner = self._new_runner(model, num_ctx)
                self._runners[key] = runner
            runner.refs += 1
            runner.expires_ns = _expiry(keep_alive_ns)
        if loading:
            time.sleep(self._load_delay)
            runner.ready.set()
        else:
            runner.ready.wait()

    def release(self, model: StoredModel, *, keep_alive_ns: int) -> None:
        """End one request's hold; the keep-alive timer starts when the last hold ends."""
        with self._lock:
            runner = self._runners.get(model.name.folded())
            if runner is None:
                return
            runner.refs = max(0, runner.refs - 1)
            if runner.refs:
                return
            if keep_alive_ns == 0 or runner.unload_when_idle:
                del self._runners[model.name.folded()]
            else:
                runner.expires_ns = _expiry(keep_alive_ns)

    def expire(self, model: StoredModel) -> None:
        """Unload now (`keep_alive: 0` with no messages), or as soon as running requests end."""
        with self._lock:
            runner = self._runners.get(model.name.folded())
            if runner is None:
                return
            if runner.refs:
                runner.unload_when_idle = True
            else:
                del self._runners[model.name.folded()]

    def running(self) -> list[Runner]:
        """Loaded models, longest remaining keep-alive first (the order of `/api/ps`)."""
        with self._lock:
            self._drop_expired()
            runners = list(self._runners.values())
        return sorted(runners, key=lambda runner: runner.expires_ns, reverse=True)

    def _new_runner(self, model: StoredModel, num_ctx: int) -> Runner:
        trained = model.metadata_length("context_length")
        context = min(num_ctx, trained) if trained else num_ctx
        return Runner(
            name=model.name,
            digest=model.manifest_digest,
            details=model.details(lengths=False),
            size=model.size + context * _KV_CACHE_BYTES_PER_TOKEN,
            context_length=context,
            expires_ns=0,
        )

    def _drop_expired(self) -> None:
        now = time.time_ns()
        for key, runner in list(self._runners.items()):
            if not runner.refs and runner.expires_ns <= now:
                del self._runners[key]

    def _evict_idle(self) -> None:
        """Make room for one more model by unloading the idle one that expires first."""
        if len(self._runners) < self._max_loaded:
            return
        idle = [
            (runner.expires_ns, key) for key, runner in self._runners.items() if not runner.refs
        ]
        if idle:
            del self._runners[min(idle)[1]]


def _expiry(keep_alive_ns: int) -> int:
    return time.time_ns() + min(keep_alive_ns, FOREVER)
