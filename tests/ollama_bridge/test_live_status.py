"""Ollama's status over a real PremRunner: `GET /api/ollama/status` and `/ws/status` with real
WebSocket clients, on the in-memory channel layer and on Redis."""

import asyncio
import json
import os
import uuid
from collections.abc import Iterator

import pytest
import requests
from channels_redis.core import RedisChannelLayer
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from ollama_bridge.events import MESSAGE_TYPE, STATUS_GROUP
from tests.ollama_bridge.conftest import running_standin
from tests.ollama_standin.launcher import StandinServer
from tests.support.server import TEST_TOKEN, PremRunnerServer

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def ws_url(server: PremRunnerServer, query: str = "") -> str:
    return f"{server.url.replace('http://', 'ws://')}/ws/status{query}"


def open_socket(server: PremRunnerServer, **options) -> ClientConnection:
    headers = options.pop("headers", {"Authorization": f"Bearer {TEST_TOKEN}"})
    return connect(ws_url(server), additional_headers=headers, open_timeout=10, **options)


def next_event(socket: ClientConnection, *, timeout: float = 10.0) -> dict:
    return json.loads(socket.recv(timeout=timeout))


@pytest.fixture(scope="module")
def watched_standin(tmp_path_factory) -> Iterator[StandinServer]:
    """A stand-in of its own, which a test may stop and start again."""
    with running_standin(tmp_path_factory.mktemp("watched") / "models") as server:
        yield server


@pytest.fixture(scope="module")
def memory_server(tmp_path_factory, watched_standin) -> Iterator[PremRunnerServer]:
    """PremRunner on the in-memory channel layer, checking Ollama's status every 0.2 s."""
    with PremRunnerServer(
        tmp_path_factory.mktemp("memory-layer"),
        ollama_url=watched_standin.url,
        env={"REDIS_URL": "", "OLLAMA_STATUS_INTERVAL": "0.2"},
    ) as server:
        yield server


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory, watched_standin) -> Iterator[PremRunnerServer]:
    """PremRunner on the Redis channel layer."""
    with PremRunnerServer(
        tmp_path_factory.mktemp("redis-layer"),
        ollama_url=watched_standin.url,
        env={"REDIS_URL": REDIS_URL},
    ) as server:
        yield server


@pytest.fixture(params=["memory_server", "redis_server"])
def server(request) -> PremRunnerServer:
    """Each WebSocket rule holds on either channel layer."""
    return request.getfixturevalue(request.param)


def test_status_reports_a_running_ollama_it_did_not_start(memory_server, watched_standin):
    response = memory_server.session().get(f"{memory_server.url}/api/ollama/status", timeout=10)
    assert response.status_code == 200
    status = response.json()
    assert status["status"] == "running"
    version = requests.get(f"{watched_standin.url}/api/version", timeout=5).json()["version"]
    assert status["version"] == version
    assert status["host"] == watched_standin.url
    assert status["managed"] is False
    assert status["pid"] is None
    assert isinstance(status["models_loaded"], list)


def test_status_needs_the_token(memory_server):
    response = requests.get(f"{memory_server.url}/api/ollama/status", timeout=10)
    assert response.status_code == 401


def test_socket_with_the_token_starts_with_the_status(server, watched_standin):
    with open_socket(server) as socket:
        event = next_event(socket)
    assert event["type"] == "ollama.status"
    assert event["status"]["status"] == "running"
    assert event["status"]["host"] == watched_standin.url


def test_socket_takes_the_token_from_the_query_string(server):
    with connect(ws_url(server, f"?token={TEST_TOKEN}"), open_timeout=10) as socket:
        assert next_event(socket)["type"] == "ollama.status"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-123456"}])
def test_socket_without_the_right_token_is_closed_with_4401(server, headers):
    with open_socket(server, headers=headers) as socket, pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=10)
    assert closed.value.rcvd.code == 4401


def test_socket_from_a_foreign_page_is_refused(server):
    with pytest.raises(InvalidStatus) as refused:
        open_socket(server, origin="https://evil.example")
    assert refused.value.response.status_code == 403


def test_socket_from_premrunners_own_page_is_accepted(server):
    with open_socket(server, origin=server.url) as socket:
        assert next_event(socket)["type"] == "ollama.status"


def test_an_event_from_another_process_reaches_the_socket_through_redis(redis_server):
    event = {"type": "model.progress", "model": {"id": uuid.uuid4().hex, "progress": 50}}

    async def publish_from_here():
        layer = RedisChannelLayer(hosts=[REDIS_URL])
        try:
            await layer.group_send(STATUS_GROUP, {"type": MESSAGE_TYPE, "event": event})
        finally:
            await layer.close_pools()

    with open_socket(redis_server) as socket:
        next_event(socket)
        asyncio.run(publish_from_here())
        received = next_event(socket)
        while received != event:  # other suites may share this Redis; skip their events
            received = next_event(socket)
    assert received == event


def test_the_socket_is_told_when_ollama_goes_away_and_comes_back(memory_server, watched_standin):
    with open_socket(memory_server) as socket:
        assert next_event(socket)["status"]["status"] == "running"
        watched_standin.stop()
        try:
            gone = next_event(socket, timeout=5)
        finally:
            watched_standin.start()
        back = next_event(socket, timeout=5)

    assert gone["type"] == "ollama.status"
    assert gone["status"]["status"] == "unreachable"
    assert gone["status"]["version"] is None
    assert back["status"]["status"] == "running"
