"""App configuration for ollama_bridge: starts the Ollama supervisor in server processes."""

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from django.apps import AppConfig

# Programs that serve PremRunner's ASGI application themselves.
ASGI_SERVERS = frozenset({"daphne", "uvicorn", "hypercorn"})


def is_server_process(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """True when this process serves PremRunner: `manage.py serve`, the serving child of
    `manage.py runserver` (RUN_MAIN=true under the autoreloader; the process itself with
    --noreload), or an ASGI server. Never migrate, shell, tests or the autoreloader's parent."""
    if not argv:
        return False
    program = Path(argv[0])
    if program.name in ASGI_SERVERS or (
        program.name == "__main__.py" and program.parent.name in ASGI_SERVERS
    ):
        return True
    command = argv[1] if len(argv) > 1 else ""
    if command == "serve":
        return True
    if command == "runserver":
        return environ.get("RUN_MAIN") == "true" or "--noreload" in argv
    return False


class OllamaBridgeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ollama_bridge"
    verbose_name = "Ollama bridge"

    def ready(self) -> None:
        from ollama_bridge.status import publish_current_status
        from ollama_bridge.supervisor import manages_ollama_here, start_supervisor
        from premrunner.checks import auth_token_problem

        # A server that will refuse to start for want of a token starts no Ollama either.
        if (
            is_server_process(sys.argv, os.environ)
            and manages_ollama_here()
            and auth_token_problem() is None
        ):
            start_supervisor(on_change=publish_current_status)
