"""The models API on the shared live server: the catalogue, one model, status, delete, events."""

import json
import uuid

import openai
import pytest
import requests
from websockets.sync.client import connect

from tests.files import write_tiny_gguf
from tests.uploads.support import start_upload, upload_file, wait_for


def ollama_names(standin) -> list[str]:
    return [m["name"] for m in requests.get(f"{standin.url}/api/tags").json()["models"]]


@pytest.fixture
def ready_model(api, tmp_path):
    """An uploaded model, imported and ready; deleted afterwards."""
    name = f"mapi-{uuid.uuid4().hex[:6]}"
    stored = upload_file(api, write_tiny_gguf(tmp_path / f"{name}.gguf"), modelName=name)
    model = wait_for(api, stored["id"])
    assert model["status"] == "ready", model
    yield model
    api.delete(f"{api.base_url}/v1/models/{model['id']}")


def test_the_list_has_openai_data_and_every_model_for_the_ui(api, ready_model, tmp_path):
    pending = start_upload(api, write_tiny_gguf(tmp_path / "p.gguf").read_bytes())

    for route in ("/v1/models", "/api/v1/models"):
        listed = api.get(f"{api.base_url}{route}").json()

        assert listed["object"] == "list"
        ids = [entry["id"] for entry in listed["data"]]
        assert len(ids) == len(set(ids))
        assert all(set(e) == {"id", "object", "created", "owned_by"} for e in listed["data"])
        mine = next(e for e in listed["data"] if e["id"] == ready_model["name"])
        assert mine["owned_by"] == "premrunner" and mine["object"] == "model"
        assert "tiny-llama:latest" in ids and pending["name"] not in ids
        entries = {entry["name"]: entry for entry in listed["models"]}
        assert entries[pending["name"]]["status"] == "uploading"
        assert entries[ready_model["name"]]["source"] == "uploaded"
        assert entries["tiny-llama:latest"]["source"] == "ollama"
        assert listed["ollamaError"] is None
    api.delete(f"{api.base_url}/v1/chunked-upload/{pending['modelId']}")


def test_one_model_by_a_name_with_colons_and_slashes(api, standin):
    copy = f"someone/copy-{uuid.uuid4().hex[:6]}:v1"
    created = requests.post(
        f"{standin.url}/api/create", json={"model": copy, "from": "tiny-llama", "stream": False}
    )
    assert created.status_code == 200, created.text

    found = api.get(f"{api.base_url}/v1/models/{copy}")

    assert found.status_code == 200, found.text
    assert found.json() == {
        "id": copy,
        "object": "model",
        "created": found.json()["created"],
        "owned_by": "someone",
    }
    deleted = api.delete(f"{api.base_url}/v1/models/{copy}")
    assert deleted.json() == {"id": copy, "object": "model", "deleted": True, "success": True}
    assert copy not in ollama_names(standin)


def test_an_unknown_model_is_404_model_not_found(api):
    for path in ("/v1/models/no-such-model:latest", "/v1/models/no-such-model/status"):
        response = api.get(f"{api.base_url}{path}")
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "model_not_found"


def test_the_openai_sdk_lists_and_retrieves_models(premrunner_server, ready_model):
    client = openai.OpenAI(base_url=f"{premrunner_server.url}/v1", api_key=premrunner_server.token)

    assert ready_model["name"] in [model.id for model in client.models.list()]
    assert client.models.retrieve(ready_model["name"]).owned_by == "premrunner"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_status_by_id_or_name_says_where_a_model_stands(api, ready_model):
    by_id = api.get(f"{api.base_url}/v1/models/{ready_model['id']}/status").json()
    by_name = api.get(f"{api.base_url}/v1/models/{ready_model['name']}/status").json()

    assert by_id == by_name
    assert (by_id["status"], by_id["progress"], by_id["error"]) == ("ready", 1.0, "")
    assert by_id["downloaded"] is True


def test_delete_removes_a_model_from_ollama_the_database_and_disk(
    api, premrunner_server, standin, tmp_path
):
    stored = upload_file(api, write_tiny_gguf(tmp_path / "gone.gguf"), modelName="mapi-gone")
    wait_for(api, stored["id"])
    stored_files = list((premrunner_server.data_path / "uploads").glob(f"{stored['id']}*"))
    assert stored_files and "mapi-gone:latest" in ollama_names(standin)

    response = api.delete(f"{api.base_url}/v1/models/{stored['id']}")

    assert response.status_code == 200
    assert "mapi-gone:latest" not in ollama_names(standin)
    assert api.get(f"{api.base_url}/v1/models/{stored['id']}/status").status_code == 404
    assert not any(path.exists() for path in stored_files)


def test_import_progress_reaches_the_websocket(api, premrunner_server, tmp_path):
    url = f"{premrunner_server.url.replace('http://', 'ws://')}/ws/status?token={premrunner_server.token}"
    with connect(url, open_timeout=10) as socket:
        stored = upload_file(api, write_tiny_gguf(tmp_path / "ws.gguf"), modelName="mapi-ws")
        seen = []
        while not seen or seen[-1]["status"] not in ("ready", "failed"):
            event = json.loads(socket.recv(timeout=20))
            if event["type"] == "model.progress" and event["model"]["id"] == stored["id"]:
                seen.append(event["model"])
    api.delete(f"{api.base_url}/v1/models/{stored['id']}")

    statuses = [model["status"] for model in seen]
    assert statuses[-1] == "ready"
    assert {"uploaded", "importing"} <= set(statuses)
    assert any(m["status_message"].startswith("Ollama:") for m in seen)  # create's own lines
    assert set(seen[-1]) == {"id", "name", "status", "progress", "status_message", "error"}
