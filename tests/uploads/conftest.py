"""A stand-in Ollama and a PremRunner of their own for the upload tests.

Small limits make every path cheap to reach: 1 KiB chunks (a tiny GGUF spans two), archives
that unpack to at most 1 MiB; files up to 200 MiB, so one test can show a large upload never
sits in memory.
"""

from collections.abc import Iterator

import pytest
import requests

from tests.ollama_standin.launcher import StandinServer
from tests.support.server import PremRunnerServer

CHUNK_SIZE = 1024
MAX_UPLOAD_SIZE = 200 * 1024 * 1024
MAX_EXTRACTED_SIZE = 1024 * 1024
BASE_MODEL = "tiny-llama"


def upload_env(**overrides: str) -> dict[str, str]:
    return {
        "UPLOAD_CHUNK_SIZE": str(CHUNK_SIZE),
        "MAX_UPLOAD_SIZE": str(MAX_UPLOAD_SIZE),
        "MAX_EXTRACTED_SIZE": str(MAX_EXTRACTED_SIZE),
        "UPLOAD_DISK_RESERVE": "0",
        **overrides,
    }


@pytest.fixture(scope="session")
def upload_standin(tmp_path_factory) -> Iterator[StandinServer]:
    """A stand-in of its own: the upload tests create and delete models freely."""
    models = tmp_path_factory.mktemp("upload-standin") / "models"
    with StandinServer(models, env={"STANDIN_PRELOAD": f"{BASE_MODEL},nomic-embed-text"}) as st:
        yield st


@pytest.fixture(scope="session")
def import_dir(tmp_path_factory):
    """The one folder the upload server may import server files from (IMPORT_DIRS)."""
    return tmp_path_factory.mktemp("import-dir")


@pytest.fixture(scope="session")
def upload_server(tmp_path_factory, upload_standin, import_dir) -> Iterator[PremRunnerServer]:
    server = PremRunnerServer(
        tmp_path_factory.mktemp("upload-server"),
        ollama_url=upload_standin.url,
        env=upload_env(IMPORT_DIRS=str(import_dir)),
    )
    server.start()
    yield server
    server.close()


@pytest.fixture
def uploads(upload_server) -> requests.Session:
    """A token-carrying session to the upload server (`.base_url`)."""
    return upload_server.session()
