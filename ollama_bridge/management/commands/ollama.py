"""`manage.py ollama status|start|stop|serve`: Ollama as PremRunner runs it."""

import json
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ollama_bridge.client import get_client
from ollama_bridge.errors import OllamaError
from ollama_bridge.status import ollama_status, publish_current_status
from ollama_bridge.supervisor import (
    OwnedProcess,
    find_binary,
    is_local_url,
    log_file_path,
    not_installed_message,
    pid_file_path,
    start_detached_ollama,
    start_supervisor,
    stop_recorded_ollama,
    stop_supervisor,
)


class Command(BaseCommand):
    help = (
        "Ollama as PremRunner runs it. status: print its status as JSON. start: start "
        "`ollama serve` in the background. stop: stop the Ollama that PremRunner started. "
        "serve: keep Ollama alive in the foreground, for a process manager (then set "
        "OLLAMA_MANAGE=false for `manage.py serve`)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["status", "start", "stop", "serve"])

    def handle(self, *args, action: str, **options) -> None:
        actions = {
            "status": self.show_status,
            "start": self.start,
            "stop": self.stop,
            "serve": self.serve,
        }
        actions[action]()

    def show_status(self) -> None:
        self.stdout.write(json.dumps(ollama_status(), indent=2))

    def start(self) -> None:
        self._require_local_host()
        if get_client().heartbeat():
            recorded = OwnedProcess.recorded(pid_file_path())
            owner = (
                f"started by PremRunner, pid {recorded.pid}"
                if recorded
                else "PremRunner did not start it"
            )
            self.stdout.write(f"Ollama already answers at {settings.OLLAMA_HOST} ({owner}).")
            return
        binary = find_binary(settings.OLLAMA_BIN)
        if binary is None:
            raise CommandError(not_installed_message(settings.OLLAMA_BIN))
        try:
            process = start_detached_ollama(
                binary=binary,
                base_url=settings.OLLAMA_HOST,
                timeout=settings.OLLAMA_START_TIMEOUT,
            )
        except OllamaError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Ollama started at {settings.OLLAMA_HOST} (pid {process.pid}); "
            f"log in {log_file_path()}."
        )

    def stop(self) -> None:
        pid = stop_recorded_ollama(pid_path=pid_file_path(), grace=settings.OLLAMA_STOP_TIMEOUT)
        if pid is None:
            self.stdout.write("No Ollama started by PremRunner is running; nothing to stop.")
        else:
            self.stdout.write(f"Stopped Ollama (pid {pid}).")

    def serve(self) -> None:
        self._require_local_host()
        stop_requested = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop_requested.set())
        if start_supervisor(on_change=publish_current_status) is None:
            raise CommandError(
                "Another PremRunner process already keeps Ollama for this DATA_PATH."
            )
        self.stdout.write(
            f"Keeping Ollama alive at {settings.OLLAMA_HOST} (log in {log_file_path()}); "
            "stop with Ctrl-C or SIGTERM."
        )
        try:
            stop_requested.wait()
        finally:
            stop_supervisor()
        self.stdout.write("Ollama stopped.")

    def _require_local_host(self) -> None:
        if not is_local_url(settings.OLLAMA_HOST):
            raise CommandError(
                f"OLLAMA_HOST={settings.OLLAMA_HOST} is not on this machine; "
                "PremRunner can only run a local Ollama."
            )
