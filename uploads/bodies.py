"""Big request bodies under daphne: refused before a byte is stored, else spooled to a file.

Daphne (over Twisted) receives a whole request body before it starts the application, then
hands it over through an in-memory queue: a multi-GB upload would sit in memory whole, and a
body over the limit would be stored before any view could refuse it. `UploadRequest` changes
that for the upload routes (`BODY_ROUTES`) only:

- when the headers arrive, a request without the token, over the route's size limit, or over
  the free disk is answered (401 by the API, 413, 507) without storing a byte of its body;
- otherwise the body goes straight into a file in UPLOAD_TMP_DIR as it arrives, and the
  application gets an empty body plus the header `X-Premrunner-Body-File` naming that file,
  signed with a key of this process, so no client can make a view read a file of its choice.
  `request_body_path(request)` gives a view that file; it is removed when the request ends
  unless the view moved it away.

`install(server)` makes a daphne Server use it; views work the same without it (they then read
the request stream Django spooled).
"""

import hashlib
import hmac
import json
import logging
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from daphne.http_protocol import WebRequest
from django.conf import settings
from django.http import HttpRequest

from premrunner.auth import bearer_token, token_is_valid
from premrunner.errors import error_body

logger = logging.getLogger(__name__)

BODY_FILE_HEADER = b"x-premrunner-body-file"
BODY_FILE_META = "HTTP_X_PREMRUNNER_BODY_FILE"
# Socket reads of an upload body (Twisted reads 64 KiB at a time otherwise).
BODY_READ_SIZE = 1024 * 1024
# Room for the multipart envelope and form fields around a file.
MULTIPART_ALLOWANCE = 1024 * 1024
# POST routes whose bodies are files: path -> what bounds their size.
BODY_ROUTES = {b"/v1/models/upload": "file", b"/v1/chunked-upload/chunk": "chunk"}
_SIGNING_KEY = secrets.token_bytes(32)


def body_limit(route: str) -> int:
    """The largest body accepted on an upload route ("file" or "chunk")."""
    if route == "file":
        return settings.MAX_UPLOAD_SIZE + MULTIPART_ALLOWANCE
    return settings.UPLOAD_CHUNK_SIZE + MULTIPART_ALLOWANCE


def free_disk_bytes() -> int:
    """Free space, in bytes, of the disk that holds uploads."""
    return shutil.disk_usage(settings.UPLOAD_TMP_DIR).free


def disk_can_hold(size: int) -> bool:
    """True when `size` more bytes still leave UPLOAD_DISK_RESERVE free."""
    return free_disk_bytes() - size >= settings.UPLOAD_DISK_RESERVE


def _signature(path: str) -> str:
    return hmac.new(_SIGNING_KEY, path.encode(), hashlib.sha256).hexdigest()


def request_body_path(request: HttpRequest) -> Path | None:
    """The file holding this request's body when UploadRequest spooled it, else None."""
    value = request.META.get(BODY_FILE_META, "")
    path, _, signature = value.rpartition(";")
    if not path or not hmac.compare_digest(signature, _signature(path)):
        return None
    return Path(path)


class _DroppedBody:
    """Where a refused body goes: nowhere."""

    closed = False

    def write(self, data: bytes) -> None:
        pass

    def tell(self) -> int:
        return 0

    def seek(self, *args) -> int:
        return 0

    def read(self, *args) -> bytes:
        return b""

    def close(self) -> None:
        pass


class _SpooledBody:
    """A body file that stops storing once it passes `limit` (for bodies of unknown length)."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.closed = False
        self.too_large = False
        self._limit = limit
        self._written = 0
        self._handle = path.open("wb", buffering=0)

    def write(self, data: bytes) -> None:
        self._written += len(data)
        if self._written > self._limit:
            if not self.too_large:
                self.too_large = True
                self._handle.truncate(0)
            return
        self._handle.write(data)

    def tell(self) -> int:
        return min(self._written, self._limit)

    def seek(self, *args) -> int:
        return 0  # Twisted rewinds the body it stored; this one is read by name

    def close(self) -> None:
        self.closed = True
        self._handle.close()


class UploadRequest(WebRequest):
    """daphne's request, with the handling of upload bodies described in the module docstring."""

    _route: str | None = None
    _refusal: tuple[int, str, str] | None = None
    _body: _SpooledBody | None = None

    def __init__(self, *args, **kwargs) -> None:
        # Twisted would read a whole multipart body into memory to fill `args`, which daphne
        # never uses.
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(*args, **kwargs)

    def gotLength(self, length: int | None) -> None:
        path = getattr(self.channel, "_path", b"").split(b"?", 1)[0]
        method = getattr(self.channel, "_command", b"")
        self._route = BODY_ROUTES.get(path) if method == b"POST" else None
        if self._route is None:
            super().gotLength(length)
            return
        limit = body_limit(self._route)
        token = bearer_token(self.getHeader("authorization"))
        if token is None or not token_is_valid(token):
            self.content = _DroppedBody()  # the API answers 401; nothing kept meanwhile
            return
        if length is not None and length > limit:
            self._refuse_too_large(limit)
            return
        # A whole file is stored twice for a moment: the body, then the model file cut from it.
        needed = (length or 0) * (2 if self._route == "file" else 1)
        if not disk_can_hold(needed):
            self._refusal = (
                507,
                "insufficient_storage",
                "Not enough free disk space for this upload "
                f"(UPLOAD_DISK_RESERVE keeps {settings.UPLOAD_DISK_RESERVE} bytes free).",
            )
            self.content = _DroppedBody()
            return
        fd, name = tempfile.mkstemp(prefix="body-", suffix=".part", dir=settings.UPLOAD_TMP_DIR)
        os.close(fd)
        self._body = _SpooledBody(Path(name), limit)
        self.content = self._body
        if hasattr(self.channel.transport, "bufferSize"):
            self.channel.transport.bufferSize = BODY_READ_SIZE

    def _refuse_too_large(self, limit: int) -> None:
        what = "file" if self._route == "file" else "chunk"
        self._refusal = (
            413,
            "request_too_large",
            f"This {what} is larger than the {limit} bytes allowed (MAX_UPLOAD_SIZE "
            f"{settings.MAX_UPLOAD_SIZE}, UPLOAD_CHUNK_SIZE {settings.UPLOAD_CHUNK_SIZE}).",
        )
        self.content = _DroppedBody()

    def process(self):
        self.requestHeaders.removeHeader(BODY_FILE_HEADER)
        if self._body is not None and self._body.too_large:
            self._refuse_too_large(body_limit(self._route))
        if self._refusal is not None:
            self._answer(*self._refusal)
            return None
        if self._body is not None:
            self._body.close()
            path = str(self._body.path)
            self.requestHeaders.setRawHeaders(
                BODY_FILE_HEADER, [f"{path};{_signature(path)}".encode()]
            )
            self.content = _DroppedBody()
        return super().process()

    def _answer(self, status: int, code: str, message: str) -> None:
        body = json.dumps(error_body(message, status=status, code=code)).encode()
        self.setResponseCode(status)
        self.setHeader(b"content-type", b"application/json")
        self.setHeader(b"content-length", str(len(body)).encode())
        self.write(body)
        self.finish()

    def _remove_body_file(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body.path.unlink(missing_ok=True)

    def finish(self) -> None:
        self._remove_body_file()
        super().finish()

    def connectionLost(self, reason) -> None:
        self._remove_body_file()
        super().connectionLost(reason)


def install(server) -> None:
    """Make a daphne Server (its run() begun, not yet serving) create UploadRequests."""
    factory = server.http_factory
    build_protocol = factory.buildProtocol

    def build_upload_aware_protocol(addr):
        protocol = build_protocol(addr)
        protocol.requestFactory = UploadRequest
        return protocol

    factory.buildProtocol = build_upload_aware_protocol
