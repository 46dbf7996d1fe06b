"""The state one stand-in process shares between request threads."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .config import Settings
from .scheduler import Scheduler
from .store import ModelStore


@dataclass
class Stats:
    """Counters for `/__standin/stats`, so tests can see what happened upstream."""

    requests: int = 0
    cancelled_generations: int = 0
    active_generations: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1

    def count_cancelled(self) -> None:
        with self._lock:
            self.cancelled_generations += 1

    @contextmanager
    def generating(self) -> Iterator[None]:
        """Count a generation as active while the block runs."""
        with self._lock:
            self.active_generations += 1
        try:
            yield
        finally:
            with self._lock:
                self.active_generations -= 1

    def snapshot(self) -> dict[str, int]:
        """The counters as the stats route reports them."""
        with self._lock:
            return {
                "requests": self.requests,
                "cancelled_generations": self.cancelled_generations,
                "active_generations": self.active_generations,
            }


class Standin:
    """Settings, the model store, the scheduler and the counters of one server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.knobs = settings.knobs
        self.store = ModelStore(settings.models_dir)
        self.scheduler = Scheduler(
            load_delay=settings.knobs.load_delay, max_loaded=settings.max_loaded_models
        )
        self.stats = Stats()
