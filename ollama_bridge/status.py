"""Ollama's status as PremRunner reports it (`GET /api/ollama/status`, `/ws/status`), and the
watcher that publishes its changes while someone is listening."""

import asyncio
import logging
import threading

from asgiref.sync import sync_to_async
from django.conf import settings

from ollama_bridge.client import get_client
from ollama_bridge.events import apublish_event, publish_event
from ollama_bridge.supervisor import (
    OllamaState,
    OwnedProcess,
    current_supervisor,
    find_binary,
    manages_ollama_here,
    not_installed_message,
    pid_file_path,
)

logger = logging.getLogger(__name__)

STATUS_EVENT = "ollama.status"


def ollama_status() -> dict:
    """`{status, version, host, managed, pid, models_loaded, message}` of the Ollama at OLLAMA_HOST.

    `status` is running (it answers), starting (PremRunner is starting it), stopped (PremRunner
    would run it but it is not running), not_installed (PremRunner would run it but finds no
    executable), or unreachable (it does not answer where PremRunner does not run it).
    `managed` is true when the Ollama in use is one PremRunner started (`pid` is then its pid).
    """
    supervisor = current_supervisor()
    if supervisor is not None:
        pid = supervisor.pid
    else:  # another process (`manage.py ollama start|serve`) may have started it
        recorded = OwnedProcess.recorded(pid_file_path())
        pid = recorded.pid if recorded is not None else None
    probe = get_client().probe()
    message = None
    if probe is not None:
        state = OllamaState.RUNNING
    elif supervisor is not None:
        state = supervisor.state
        if state is OllamaState.RUNNING:  # it stopped answering since the supervisor last looked
            state = OllamaState.UNREACHABLE
        message = supervisor.message
    elif manages_ollama_here():
        if find_binary(settings.OLLAMA_BIN) is None:
            state = OllamaState.NOT_INSTALLED
            message = not_installed_message(settings.OLLAMA_BIN)
        else:
            state = OllamaState.STOPPED
    else:
        state = OllamaState.UNREACHABLE
    if state is OllamaState.UNREACHABLE:
        message = f"Ollama does not answer at {settings.OLLAMA_HOST}."
    elif state is OllamaState.STOPPED:
        message = "Ollama is not running; `manage.py serve` or `manage.py ollama start` starts it."
    return {
        "status": state.value,
        "version": probe["version"] if probe else None,
        "host": settings.OLLAMA_HOST,
        "managed": pid is not None,
        "pid": pid,
        "models_loaded": probe["models_loaded"] if probe else [],
        "message": message,
    }


async def aollama_status() -> dict:
    """`ollama_status` for async code, on a thread of its own (never the shared sync thread)."""
    return await sync_to_async(ollama_status, thread_sensitive=False)()


# -- publishing changes -------------------------------------------------------------------------

_last_published: dict | None = None
_last_published_lock = threading.Lock()


def _is_news(status: dict) -> bool:
    """True (and remembered) when `status` differs from the last one this process published."""
    global _last_published
    with _last_published_lock:
        if status == _last_published:
            return False
        _last_published = status
        return True


def publish_current_status() -> None:
    """Publish Ollama's status to /ws/status if it changed; the supervisor's `on_change` hook."""
    status = ollama_status()
    if _is_news(status):
        publish_event({"type": STATUS_EVENT, "status": status})


class StatusWatcher:
    """Polls Ollama's status every OLLAMA_STATUS_INTERVAL seconds while at least one /ws/status
    client of this process is connected, and publishes each change."""

    def __init__(self) -> None:
        self._listeners = 0
        self._task: asyncio.Task | None = None

    def subscribe(self) -> None:
        """Count one more listener; start polling on this event loop if nobody did."""
        self._listeners += 1
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._watch())

    def unsubscribe(self) -> None:
        """Count one listener less; stop polling with the last one."""
        self._listeners = max(self._listeners - 1, 0)
        if self._listeners == 0 and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(settings.OLLAMA_STATUS_INTERVAL)
            try:
                status = await aollama_status()
            except Exception:
                logger.warning("Could not read Ollama's status", exc_info=True)
                continue
            if _is_news(status):
                await apublish_event({"type": STATUS_EVENT, "status": status})


status_watcher = StatusWatcher()
