"""Which processes run PremRunner's background work (the Ollama keeper, the import worker)."""

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from premrunner.checks import auth_token_problem

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


def runs_background_work() -> bool:
    """True in a server process that will start: background work never runs in migrate, shell
    or tests, nor in a `serve` that is about to refuse to start for want of a token."""
    return is_server_process(sys.argv, os.environ) and auth_token_problem() is None
