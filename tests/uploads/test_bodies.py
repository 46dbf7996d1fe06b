"""How daphne receives upload bodies (uploads.bodies), driven in-process over a Twisted channel.

Refusals come before a byte is stored; accepted bodies go to a file named to the view in a
signed header, which a client cannot forge.
"""

import pytest
from django.test import RequestFactory
from twisted.internet.testing import StringTransport
from twisted.web.http import HTTPChannel

from tests.support.server import TEST_TOKEN
from uploads.bodies import BODY_FILE_HEADER, UploadRequest, request_body_path


class _Queue:
    def __init__(self) -> None:
        self.messages = []

    def put_nowait(self, message: dict) -> None:
        self.messages.append(message)


class _Daphne:
    """The few parts of daphne's Server that a request talks to."""

    server_name = "daphne"
    root_path = ""
    request_buffer_size = 8192
    proxy_forwarded_address_header = None

    def __init__(self) -> None:
        self.scope: dict | None = None
        self.queue = _Queue()

    def protocol_connected(self, protocol) -> None:
        pass

    def protocol_disconnected(self, protocol) -> None:
        pass

    def create_application(self, protocol, scope: dict) -> _Queue:
        self.scope = scope
        return self.queue


class _Factory:
    def __init__(self, server: _Daphne) -> None:
        self.server = server

    def log(self, request) -> None:
        pass


def send(request_bytes: bytes, daphne: _Daphne) -> bytes:
    """Feed one HTTP request to a channel that uses UploadRequest; the bytes answered so far."""
    channel = HTTPChannel()
    channel.factory = _Factory(daphne)
    channel.requestFactory = UploadRequest
    transport = StringTransport()
    channel.makeConnection(transport)
    channel.dataReceived(request_bytes)
    return transport.value()


def post(path: str, body: bytes, *, token: str = TEST_TOKEN, extra: bytes = b"") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {len(body)}\r\n"
    ).encode()
    return head + extra + b"\r\n" + body


def tmp_files(settings) -> list:
    return list(settings.UPLOAD_TMP_DIR.iterdir())


@pytest.fixture
def small_limits(settings):
    settings.UPLOAD_CHUNK_SIZE = 1024
    settings.MAX_UPLOAD_SIZE = 4096
    settings.UPLOAD_DISK_RESERVE = 0
    for leftover in tmp_files(settings):
        leftover.unlink()
    return settings


def test_a_body_over_the_limit_gets_413_and_is_never_stored(small_limits):
    daphne = _Daphne()
    body = bytes(3 * 1024 * 1024)

    answer = send(post("/v1/chunked-upload/chunk", body), daphne)

    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"code": "request_too_large"' in answer
    assert daphne.scope is None  # the application never ran
    assert tmp_files(small_limits) == []


def test_a_body_the_disk_cannot_hold_gets_507_and_is_never_stored(small_limits):
    small_limits.UPLOAD_DISK_RESERVE = 10**18
    daphne = _Daphne()

    answer = send(post("/v1/models/upload", bytes(2048)), daphne)

    assert answer.startswith(b"HTTP/1.1 507")
    assert b"insufficient_storage" in answer
    assert tmp_files(small_limits) == []


def test_a_body_without_the_token_is_dropped_and_the_api_answers_401(small_limits):
    daphne = _Daphne()

    send(post("/v1/models/upload", bytes(2048), token="wrong"), daphne)

    assert daphne.scope is not None  # Django's token guard answers
    assert all(name != BODY_FILE_HEADER for name, _ in daphne.scope["headers"])
    assert tmp_files(small_limits) == []


def test_an_accepted_body_reaches_the_view_as_a_file_not_through_memory(small_limits):
    daphne = _Daphne()
    body = b"GGUF" + bytes(1020)

    send(post("/v1/chunked-upload/chunk?modelId=x", body), daphne)

    assert [m["body"] for m in daphne.queue.messages] == [b""]
    value = dict(daphne.scope["headers"])[BODY_FILE_HEADER].decode()
    request = RequestFactory().post("/", HTTP_X_PREMRUNNER_BODY_FILE=value)
    path = request_body_path(request)
    assert path is not None and path.parent == small_limits.UPLOAD_TMP_DIR
    assert path.read_bytes() == body


def test_a_client_cannot_name_a_body_file(small_limits, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    daphne = _Daphne()
    forged = f"x-premrunner-body-file: {secret};0000\r\n".encode()

    send(post("/v1/chunked-upload/chunk", b"GGUF", extra=forged), daphne)
    value = dict(daphne.scope["headers"])[BODY_FILE_HEADER].decode()

    assert str(secret) not in value
    request = RequestFactory().post("/", HTTP_X_PREMRUNNER_BODY_FILE=f"{secret};0000")
    assert request_body_path(request) is None


def test_other_routes_keep_daphne_as_it_is(small_limits):
    daphne = _Daphne()

    send(post("/v1/chat/completions", b'{"model": "x"}'), daphne)

    assert daphne.queue.messages[0]["body"] == b'{"model": "x"}'
    assert all(name != BODY_FILE_HEADER for name, _ in daphne.scope["headers"])
