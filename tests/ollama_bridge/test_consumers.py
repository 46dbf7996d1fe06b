"""`/ws/status` in-process (Channels' communicator): the token and origin rules, and the relay."""

import asyncio
import threading

import pytest
from channels.testing import WebsocketCommunicator

from ollama_bridge.events import apublish_event, publish_event
from premrunner.asgi import application
from tests.support.server import TEST_TOKEN

pytestmark = pytest.mark.anyio

PROGRESS = {
    "type": "model.progress",
    "model": {
        "id": "5b6c",
        "name": "tiny",
        "status": "importing",
        "progress": 40,
        "status_message": "parsing GGUF",
        "error": None,
    },
}


def communicator(path: str = "/ws/status", headers: list | None = None) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=headers or [])


def bearer(token: str = TEST_TOKEN) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


async def connected(headers: list | None = None, path: str = "/ws/status"):
    """A communicator past the handshake and the first status message."""
    socket = communicator(path, headers if headers is not None else bearer())
    accepted, _ = await socket.connect()
    assert accepted
    first = await socket.receive_json_from(timeout=10)
    assert first["type"] == "ollama.status"
    return socket


async def test_without_a_token_the_socket_is_closed_with_4401():
    socket = communicator()
    accepted, _ = await socket.connect()
    assert accepted  # accepted only to tell the browser why
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await socket.disconnect()


async def test_a_wrong_token_is_closed_with_4401():
    socket = communicator(headers=bearer("not-the-token-at-all"))
    await socket.connect()
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await socket.disconnect()


async def test_with_the_token_it_sends_the_current_status_first():
    socket = communicator(headers=bearer())
    accepted, _ = await socket.connect()
    assert accepted
    message = await socket.receive_json_from(timeout=10)
    await socket.disconnect()

    assert message["type"] == "ollama.status"
    status = message["status"]
    assert set(status) >= {"status", "version", "host", "managed", "pid", "models_loaded"}
    assert status["status"] == "unreachable"  # the test settings point at a closed port


async def test_a_browser_passes_the_token_in_the_query_string():
    socket = await connected(headers=[], path=f"/ws/status?token={TEST_TOKEN}")
    await socket.disconnect()


async def test_a_page_of_another_site_is_refused_at_the_handshake():
    socket = communicator(headers=[*bearer(), (b"origin", b"https://evil.example")])
    accepted, _ = await socket.connect()
    assert not accepted
    await socket.disconnect()


async def test_a_page_of_premrunner_itself_is_accepted():
    socket = await connected(headers=[*bearer(), (b"origin", b"http://127.0.0.1:3001")])
    await socket.disconnect()


async def test_published_events_reach_every_listener_as_json():
    first, second = await connected(), await connected()

    await apublish_event(PROGRESS)

    assert await first.receive_json_from(timeout=5) == PROGRESS
    assert await second.receive_json_from(timeout=5) == PROGRESS
    await first.disconnect()
    await second.disconnect()


async def test_an_event_published_from_a_worker_thread_arrives_at_once():
    socket = await connected()
    worker = threading.Thread(target=publish_event, args=(PROGRESS,))

    worker.start()
    message = await socket.receive_json_from(timeout=1)
    await asyncio.to_thread(worker.join)

    assert message == PROGRESS
    await socket.disconnect()


async def test_messages_from_the_client_are_ignored():
    socket = await connected()
    await socket.send_to(text_data="not even json")
    await apublish_event(PROGRESS)
    assert await socket.receive_json_from(timeout=5) == PROGRESS
    await socket.disconnect()


async def test_a_closed_socket_gets_no_more_events():
    socket = await connected()
    await socket.disconnect()
    await apublish_event(PROGRESS)
    assert await socket.receive_nothing(timeout=0.3)
