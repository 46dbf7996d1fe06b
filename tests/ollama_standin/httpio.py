"""HTTP plumbing: routing like gin, request bodies, plain and chunked responses, disconnects."""

import re
import select
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email.utils import formatdate
from functools import cached_property
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from . import wire

JSON = "application/json; charset=utf-8"
"""What gin's `c.JSON` sends."""

JSON_PLAIN = "application/json"
"""What Ollama's streaming helpers send for a single object or a pre-stream error."""

NDJSON = "application/x-ndjson"
TEXT = "text/plain; charset=utf-8"
_READ_SIZE = 1 << 20
_POLL_INTERVAL = 0.05


class ApiError(Exception):
    """A failure with the HTTP status and message Ollama would answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ClientGone(Exception):
    """The client closed the connection; whatever was being produced should stop."""


class BadRequestBody(Exception):
    """The request body framing is broken (bad chunk size, short read)."""


class Exchange:
    """One request and its response, over a `BaseHTTPRequestHandler` connection."""

    def __init__(self, handler: BaseHTTPRequestHandler, path: str, params: dict[str, str]) -> None:
        self._handler = handler
        self.path = path
        self.params = params
        self.method = handler.command
        self.headers = handler.headers
        self.status = 0
        self._body = self._body_reader()

    # Request body

    def _body_reader(self) -> Iterator[bytes]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._chunked_body()
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit():
            return self._broken_body(f"bad Content-Length {length!r}")
        return self._sized_body(int(length))

    def _broken_body(self, reason: str) -> Iterator[bytes]:
        raise BadRequestBody(reason)
        yield b""  # a generator, so the error surfaces when the body is read

    def _sized_body(self, remaining: int) -> Iterator[bytes]:
        while remaining > 0:
            data = self._handler.rfile.read(min(remaining, _READ_SIZE))
            if not data:
                raise BadRequestBody("unexpected EOF")
            remaining -= len(data)
            yield data

    def _chunked_body(self) -> Iterator[bytes]:
        rfile = self._handler.rfile
        while True:
            line = rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise BadRequestBody("invalid chunk length") from None
            if size == 0:
                while rfile.readline(1024).strip():
                    continue
                return
            yield from self._sized_body(size)
            rfile.readline(1024)

    def body_chunks(self) -> Iterator[bytes]:
        """The request body, piece by piece, as it arrives."""
        return self._body

    def read_body(self) -> bytes:
        return b"".join(self._body)

    def discard_body(self) -> None:
        """Drop whatever of the body the handler left unread, keeping the connection usable."""
        for _ in self._body:
            continue

    def read_json(self) -> Any:
        """The decoded body; raises `ApiError` 400 like Ollama's handlers do."""
        try:
            return wire.decode(self.read_body())
        except wire.EmptyBody:
            raise ApiError(400, "missing request body") from None
        except wire.DecodeError as error:
            raise ApiError(400, str(error)) from None

    # Responses

    @property
    def started(self) -> bool:
        return self.status != 0

    def _write_head(
        self, status: int, headers: Iterable[tuple[str, str]], body: bytes = b""
    ) -> None:
        """Send the status line and headers, and `body` in the same write."""
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        lines = [f"HTTP/1.1 {status} {phrase}", f"Date: {formatdate(usegmt=True)}"]
        lines += [f"{name}: {value}" for name, value in headers]
        self.status = status
        self._send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def _send(self, data: bytes) -> None:
        try:
            self._handler.wfile.write(data)
            self._handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as error:
            self._handler.close_connection = True
            raise ClientGone from error

    def respond(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        """A complete response with `Content-Length` (no body is sent for HEAD)."""
        head = [("Content-Type", content_type)] if content_type else []
        head += list(headers)
        head.append(("Content-Length", str(len(body))))
        self._write_head(status, head, b"" if self.method == "HEAD" else body)

    def json(
        self, status: int, value: Any, *, content_type: str = JSON, newline: bool = False
    ) -> None:
        self.respond(status, wire.encode_bytes(value, newline=newline), content_type)

    def error(self, status: int, message: str, *, content_type: str = JSON) -> None:
        """Ollama's native error body: `{"error": "..."}`."""
        self.json(status, {"error": message}, content_type=content_type)

    def text(self, status: int, text: str, content_type: str = TEXT) -> None:
        self.respond(status, text.encode(), content_type)

    def stream(self, content_type: str) -> "Stream":
        """Start a 200 chunked response; every `Stream.write` is flushed to the client."""
        self._write_head(200, [("Content-Type", content_type), ("Transfer-Encoding", "chunked")])
        return Stream(self)

    # Disconnects

    def client_gone(self) -> bool:
        """True once the client has closed its side of the connection."""
        connection: socket.socket = self._handler.connection
        try:
            readable, _, _ = select.select([connection], [], [], 0)
            if not readable:
                return False
            return connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def pause(self, seconds: float) -> None:
        """Sleep, checking for a disconnect every 50 ms; raises `ClientGone` when it happens."""
        deadline = time.monotonic() + seconds
        while True:
            if self.client_gone():
                self._handler.close_connection = True
                raise ClientGone
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(remaining, _POLL_INTERVAL))


class Stream:
    """The body of a chunked response."""

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        self.writes = 0

    def write(self, data: bytes) -> None:
        """Send one chunk now; raises `ClientGone` if the client disconnected."""
        self._exchange._send(b"%x\r\n%s\r\n" % (len(data), data))
        self.writes += 1

    def line(self, value: Any) -> None:
        """One NDJSON line."""
        self.write(wire.encode_bytes(value, newline=True))

    def finish(self) -> None:
        self._exchange._send(b"0\r\n\r\n")


Handler = Callable[..., None]


@dataclass(frozen=True)
class Route:
    """`method` + gin-style `pattern` (`/api/blobs/:digest`) → handler."""

    method: str
    pattern: str
    handler: Handler

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r":(\w+)", r"(?P<\1>[^/]+)", self.pattern) + "$")

    def match(self, path: str) -> dict[str, str] | None:
        found = self._regex.match(path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class Resolution:
    """What the router decided: a handler to call, a redirect, or a 404/405."""

    status: int
    handler: Handler | None = None
    params: dict[str, str] | None = None
    location: str = ""


class Router:
    """gin's routing: exact routes, trailing-slash redirects, 405 for a known path."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = list(routes)

    def resolve(self, method: str, path: str) -> Resolution:
        """Match a request: the handler, else a trailing-slash redirect, else 405, else 404."""
        for route in self._routes:
            params = route.match(path)
            if route.method == method and params is not None:
                return Resolution(200, route.handler, params)
        if path != "/" and path.endswith("/") and self._has(method, path.rstrip("/")):
            return Resolution(301 if method == "GET" else 307, location=path.rstrip("/"))
        if any(route.match(path) is not None for route in self._routes):
            return Resolution(405)
        return Resolution(404)

    def _has(self, method: str, path: str) -> bool:
        return any(
            route.method == method and route.match(path) is not None for route in self._routes
        )
