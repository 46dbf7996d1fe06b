"""Fixtures for the stand-in's own tests: a shared server per module and extra ones on demand."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .client import PRELOADED
from .launcher import StandinServer


@pytest.fixture(scope="module")
def ollama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandinServer]:
    """One stand-in for the test module, with the chat, embedding and thinking models pulled."""
    models = tmp_path_factory.mktemp("ollama") / "models"
    with StandinServer(models, env={"STANDIN_PRELOAD": PRELOADED}) as server:
        yield server


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., StandinServer]]:
    """Start extra stand-ins with their own store and knobs: `spawn(STANDIN_TOKEN_DELAY="0.1")`."""
    started: list[StandinServer] = []

    def start(wait: bool = True, **env: str) -> StandinServer:
        server = StandinServer(tmp_path / f"models-{len(started)}", env=env)
        started.append(server)
        return server.start(wait=wait)

    yield start
    for server in started:
        server.stop()
