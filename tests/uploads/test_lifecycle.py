"""Imports across failures: a PremRunner restart mid-import, and a retry after Ollama was away."""

from collections.abc import Iterator

import pytest
import requests

from tests.files import write_tiny_gguf
from tests.ollama_standin.launcher import StandinServer
from tests.support.server import PremRunnerServer
from tests.uploads.conftest import upload_env
from tests.uploads.support import upload_file, wait_for


@pytest.fixture(scope="module")
def slow_standin(tmp_path_factory) -> Iterator[StandinServer]:
    """A stand-in whose create takes seconds, so a restart can land in the middle of it."""
    models = tmp_path_factory.mktemp("slow-standin") / "models"
    with StandinServer(models, env={"STANDIN_CREATE_DELAY": "0.7"}) as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory, slow_standin) -> Iterator[PremRunnerServer]:
    with PremRunnerServer(
        tmp_path_factory.mktemp("lifecycle"), ollama_url=slow_standin.url, env=upload_env()
    ) as server:
        yield server


def ollama_names(standin: StandinServer) -> list[str]:
    return [m["name"] for m in requests.get(f"{standin.url}/api/tags").json()["models"]]


def test_a_restart_during_an_import_resumes_it(server, slow_standin, tmp_path):
    api = server.session()
    stored = upload_file(api, write_tiny_gguf(tmp_path / "restart.gguf"), modelName="restarted")
    creating = wait_for(api, stored["id"], statuses=("importing",))
    while "Ollama" not in creating["statusMessage"]:  # inside Ollama's create now
        creating = wait_for(api, stored["id"], statuses=("importing",))

    server.restart()

    final = wait_for(server.session(), stored["id"], timeout=60)
    assert final["status"] == "ready", final
    assert "restarted:latest" in ollama_names(slow_standin)


def test_an_import_that_failed_can_be_retried(server, slow_standin, tmp_path):
    api = server.session()
    slow_standin.stop()
    try:
        stored = upload_file(api, write_tiny_gguf(tmp_path / "retry.gguf"), modelName="retried")
        failed = wait_for(api, stored["id"])
    finally:
        slow_standin.start()
    assert failed["status"] == "failed"
    assert "not reachable" in failed["error"]

    response = api.post(f"{api.base_url}/v1/models/{stored['id']}/retry")

    assert response.status_code == 200, response.text
    assert response.json()["model"]["status"] == "uploaded"
    assert wait_for(api, stored["id"], timeout=60)["status"] == "ready"


def test_retry_is_refused_while_a_model_is_still_uploading(server, tmp_path):
    api = server.session()
    data = write_tiny_gguf(tmp_path / "busy.gguf").read_bytes()
    started = api.post(
        f"{api.base_url}/v1/chunked-upload/start",
        json={"fileName": "busy.gguf", "fileSize": len(data), "modelName": "busy"},
    ).json()

    response = api.post(f"{api.base_url}/v1/models/{started['modelId']}/retry")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "model_busy"
