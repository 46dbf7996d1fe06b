"""`ollama serve`: bind, announce, answer requests on threads, stop on SIGTERM or SIGINT."""

import contextlib
import errno
import ipaddress
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from . import logs
from .app import Standin
from .config import VERSION, Settings, join_host_port, split_host_port
from .httpio import (
    ApiError,
    BadRequestBody,
    ClientGone,
    Exchange,
    Handler,
    Resolution,
    Router,
)
from .pull import check_preload, preload
from .routes import INTROSPECTION_PREFIX, ROUTES

_LOCAL_SUFFIXES = (".localhost", ".local", ".internal")


class StandinHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP/1.1 server carrying the shared stand-in state."""

    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily, app: Standin):
        self.address_family = family
        self.app = app
        self.router = Router(ROUTES)
        super().__init__(address, RequestHandler)
        self.loopback = ipaddress.ip_address(self.server_address[0]).is_loopback

    def server_bind(self) -> None:
        """Bind without the reverse DNS lookup `HTTPServer` does; listen dual-stack on `::`."""
        if self.address_family == socket.AF_INET6 and self.server_address[0] == "::":
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    @property
    def display_address(self) -> str:
        return join_host_port(str(self.server_address[0]), self.server_address[1])


class RequestHandler(BaseHTTPRequestHandler):
    """Routes each request like gin does and logs it like gin does."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; with Nagle's algorithm on, the body would wait
    # for the client's delayed ACK (about 40 ms on Linux), as it never does with Go's net/http.
    disable_nagle_algorithm = True
    server: StandinHTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Silence `BaseHTTPRequestHandler`'s own log; `_dispatch` writes gin's line instead."""

    def _dispatch(self) -> None:
        started = time.perf_counter_ns()
        path = unquote(urlsplit(self.path).path)
        resolution = self.server.router.resolve(self.command, path)
        exchange = Exchange(self, path, resolution.params or {})
        if not path.startswith(INTROSPECTION_PREFIX):
            self.server.app.stats.count_request()
        try:
            self._answer(exchange, resolution)
            exchange.discard_body()
        except ClientGone:
            self.close_connection = True
        except BadRequestBody:
            self.close_connection = True
            if not exchange.started:
                exchange.text(400, "400 Bad Request", "text/plain")
        latency = time.perf_counter_ns() - started
        logs.request(exchange.status, latency, self.client_address[0], self.command, exchange.path)

    def _answer(self, ex: Exchange, resolution: Resolution) -> None:
        if not self._host_allowed():
            ex.respond(403)
        elif self.command == "OPTIONS":
            ex.respond(204)
        elif resolution.status == 404:
            ex.text(404, "404 page not found", "text/plain")
        elif resolution.status == 405:
            ex.text(405, "405 method not allowed", "text/plain")
        elif resolution.location:
            self._redirect(ex, resolution.status, resolution.location)
        else:
            self._run(ex, resolution.handler)

    def _run(self, ex: Exchange, handler: Handler | None) -> None:
        assert handler is not None, "a 200 resolution always names its handler"
        try:
            handler(ex, self.server.app)
        except ApiError as error:
            self._fail(ex, error.status, error.message)
        except (ClientGone, BadRequestBody):
            raise
        except Exception as error:  # an unexpected bug must still answer, as Go's recovery does
            traceback.print_exc()
            self._fail(ex, 500, str(error))

    def _fail(self, ex: Exchange, status: int, message: str) -> None:
        if ex.started:
            logs.log("ERROR", f"error after the response started: {message}")
            self.close_connection = True
        else:
            ex.error(status, message)

    def _redirect(self, ex: Exchange, status: int, location: str) -> None:
        body = b""
        if self.command in ("GET", "HEAD"):
            body = f'<a href="{location}">Moved Permanently</a>.\n\n'.encode()
        ex.respond(status, body, "text/html; charset=utf-8", [("Location", location)])

    def _host_allowed(self) -> bool:
        """Ollama's check that a loopback-bound server only answers local `Host` names."""
        if not self.server.loopback:
            return True
        host = self.headers.get("Host", "")
        with contextlib.suppress(ValueError):
            host, _ = split_host_port(host)
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return _local_name(host.lower())
        return address.is_loopback or address.is_private or address.is_unspecified


def _local_name(host: str) -> bool:
    return host in ("", "localhost", socket.gethostname().lower()) or host.endswith(_LOCAL_SUFFIXES)


def bind(settings: Settings, app: Standin) -> StandinHTTPServer:
    """Bind and listen on `OLLAMA_HOST`; raises `OSError` when the address is unavailable."""
    host = settings.host
    if host == "":
        try:
            return StandinHTTPServer(("::", settings.port), socket.AF_INET6, app)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise
            return StandinHTTPServer(("0.0.0.0", settings.port), socket.AF_INET, app)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return StandinHTTPServer((host, settings.port), family, app)


def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT; returns the process exit status."""
    try:
        check_preload(settings.knobs.preload)
    except ValueError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    app = Standin(settings)
    try:
        server = bind(settings, app)
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        print(f"Error: listen tcp {settings.listen_address}: bind: {reason}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    logs.log(
        "INFO",
        f"Listening on {server.display_address} (version {VERSION})",
        source="routes.go:2008",
    )
    if not stop.wait(settings.knobs.start_delay):
        preload(app.store, settings.knobs.preload)
        if settings.prune:
            app.store.prune_blobs()
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="serve", daemon=True
        ).start()
        stop.wait()
        server.shutdown()
    server.server_close()
    return 0
