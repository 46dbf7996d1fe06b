"""Fixtures of the inference tests: SDK clients, and servers over slow or failing stand-ins."""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from openai import AsyncOpenAI, OpenAI
from premai import PremAI

from tests.conftest import CHAT_MODEL, STANDIN_MODELS
from tests.ollama_standin.launcher import StandinServer
from tests.support.server import PremRunnerServer

# The slow stand-in: ten tokens, 0.2 s apart, so a whole answer takes about two seconds.
SLOW_TOKENS = 10
SLOW_TOKEN_DELAY = 0.2


@pytest.fixture
def openai_client(premrunner_server) -> OpenAI:
    return OpenAI(
        base_url=f"{premrunner_server.url}/v1", api_key=premrunner_server.token, max_retries=0
    )


@pytest.fixture
def async_openai_client(premrunner_server) -> AsyncOpenAI:
    return AsyncOpenAI(
        base_url=f"{premrunner_server.url}/v1", api_key=premrunner_server.token, max_retries=0
    )


@pytest.fixture
def prem_client(premrunner_server) -> PremAI:
    return PremAI(api_key=premrunner_server.token, base_url=premrunner_server.url, max_retries=0)


@dataclass
class RunnerPair:
    """A PremRunner and the stand-in it talks to."""

    standin: StandinServer
    server: PremRunnerServer

    def session(self) -> requests.Session:
        return self.server.session()

    def standin_stats(self) -> dict:
        return requests.get(f"{self.standin.url}/__standin/stats", timeout=5).json()


def _runner_pair(tmp_path_factory, name: str, standin_env: dict) -> Iterator[RunnerPair]:
    standin = StandinServer(
        tmp_path_factory.mktemp(f"{name}-standin") / "models",
        env={"STANDIN_PRELOAD": STANDIN_MODELS, **standin_env},
    )
    standin.start()
    server = PremRunnerServer(
        tmp_path_factory.mktemp(f"{name}-data"),
        ollama_url=standin.url,
        env={"DEFAULT_MODEL": CHAT_MODEL},
    )
    try:
        server.start()
        yield RunnerPair(standin=standin, server=server)
    finally:
        server.close()
        standin.stop()


@pytest.fixture(scope="session")
def slow_runner(tmp_path_factory) -> Iterator[RunnerPair]:
    """PremRunner over a stand-in that takes SLOW_TOKEN_DELAY seconds per token."""
    yield from _runner_pair(
        tmp_path_factory,
        "slow",
        {
            "STANDIN_TOKEN_DELAY": str(SLOW_TOKEN_DELAY),
            "STANDIN_RESPONSE_TOKENS": str(SLOW_TOKENS),
        },
    )


@pytest.fixture(scope="session")
def failing_runner(tmp_path_factory) -> Iterator[RunnerPair]:
    """PremRunner over a stand-in whose streams fail after three tokens."""
    yield from _runner_pair(tmp_path_factory, "failing", {"STANDIN_FAIL_AFTER": "3"})


def wait_for_trace(session: requests.Session, trace_id: str, *, timeout: float = 10.0) -> dict:
    """The trace `trace_id` once the background writer has stored it."""
    deadline = time.monotonic() + timeout
    while True:
        response = session.get(f"{session.base_url}/v1/traces/{trace_id}", timeout=5)
        if response.status_code == 200:
            return response.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"trace {trace_id} was not written: {response.text}")
        time.sleep(0.05)


def sse_events(response: requests.Response) -> Iterator[dict | str]:
    """The `data:` payloads of an SSE response as they arrive (JSON decoded, `[DONE]` as is)."""
    for raw in response.iter_lines():
        if not raw:
            continue
        line = raw.decode()
        assert line.startswith("data: "), line
        data = line[len("data: ") :]
        yield data if data == "[DONE]" else json.loads(data)
