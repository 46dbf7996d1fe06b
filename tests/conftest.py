"""Shared fixtures: the stand-in Ollama, a live PremRunner server, and token-carrying clients."""

from collections.abc import Iterator

import pytest
import requests

from tests.ollama_standin.launcher import StandinServer
from tests.support.server import TEST_TOKEN, PremRunnerServer

# Models the shared stand-in has from the start, as if pulled.
STANDIN_MODELS = "tiny-llama,nomic-embed-text,qwen3:0.6b"
CHAT_MODEL = "tiny-llama"
EMBED_MODEL = "nomic-embed-text"


@pytest.fixture(scope="session")
def standin(tmp_path_factory) -> Iterator[StandinServer]:
    """One stand-in Ollama for the session, with the chat and embedding models pulled."""
    models_dir = tmp_path_factory.mktemp("standin") / "models"
    server = StandinServer(models_dir, env={"STANDIN_PRELOAD": STANDIN_MODELS})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def premrunner_server(tmp_path_factory, standin) -> Iterator[PremRunnerServer]:
    """A real PremRunner (`manage.py serve`) talking to the shared stand-in."""
    server = PremRunnerServer(
        tmp_path_factory.mktemp("premrunner-data"),
        ollama_url=standin.url,
        env={"DEFAULT_MODEL": CHAT_MODEL},
    )
    server.start()
    yield server
    server.close()


@pytest.fixture
def api(premrunner_server) -> requests.Session:
    """A requests session to the live server with the token; `api.base_url` is its address."""
    return premrunner_server.session()


@pytest.fixture
def auth_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {TEST_TOKEN}"}
