"""`manage.py serve`: from a fresh checkout to a running PremRunner in one command."""

import logging

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from premrunner.checks import auth_token_problem

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Apply migrations, collect static files and run the ASGI server (daphne)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1)."
        )
        parser.add_argument(
            "--port", type=int, default=settings.PORT, help=f"Port (default PORT={settings.PORT})."
        )

    def handle(self, *args, host: str, port: int, **options) -> None:
        problem = auth_token_problem()
        if problem:
            raise CommandError(problem)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)

        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server

        from premrunner.asgi import application
        from uploads import bodies

        self.stdout.write(
            f"PremRunner listening on http://{host}:{port} (data in {settings.DATA_PATH})"
        )
        server = Server(
            application=application,
            endpoints=build_endpoint_description_strings(host=host, port=port),
            signal_handlers=True,
            http_timeout=None,
            websocket_handshake_timeout=10,
            application_close_timeout=10,
            # Upload bodies: refused before storing when too large, else spooled to disk.
            ready_callable=lambda: bodies.install(server),
        )
        server.run()
