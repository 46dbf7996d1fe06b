"""Fixtures of the Ollama bridge tests: clients of the shared stand-in, and stand-ins with knobs."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from ollama_bridge.client import OllamaClient
from tests.conftest import STANDIN_MODELS
from tests.ollama_standin.launcher import StandinServer
from tests.support.server import free_port


@contextmanager
def running_standin(models_dir: Path, **env: str) -> Iterator[StandinServer]:
    """A stand-in Ollama of its own, with the shared models and the given knobs."""
    server = StandinServer(models_dir, env={"STANDIN_PRELOAD": STANDIN_MODELS, **env})
    server.start()
    try:
        yield server
    finally:
        server.stop()


def standin_stats(server: StandinServer) -> dict:
    """The stand-in's own counters (`GET /__standin/stats`)."""
    return requests.get(f"{server.url}/__standin/stats", timeout=5).json()


@pytest.fixture(scope="session")
def ollama(standin) -> OllamaClient:
    """A synchronous client of the shared stand-in."""
    return OllamaClient(standin.url)


@pytest.fixture
def closed_url() -> str:
    """The address of a loopback port nothing listens on."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def slow_standin(tmp_path_factory) -> Iterator[StandinServer]:
    """A stand-in that takes 0.2 s per token, for 200 tokens, and 1 s between pull lines."""
    models_dir = tmp_path_factory.mktemp("slow-standin")
    with running_standin(
        models_dir,
        STANDIN_TOKEN_DELAY="0.2",
        STANDIN_RESPONSE_TOKENS="200",
        STANDIN_PULL_DELAY="1",
    ) as server:
        yield server


@pytest.fixture(scope="module")
def failing_standin(tmp_path_factory) -> Iterator[StandinServer]:
    """A stand-in whose replies break off with an error line after 3 tokens."""
    models_dir = tmp_path_factory.mktemp("failing-standin")
    with running_standin(models_dir, STANDIN_FAIL_AFTER="3") as server:
        yield server
