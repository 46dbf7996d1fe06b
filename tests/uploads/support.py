"""Helpers for talking to PremRunner's upload API the way a client does."""

import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import requests

from tests.support.server import PremRunnerServer

FINAL_STATUSES = ("ready", "failed")


def start_upload(api: requests.Session, data: bytes, **fields) -> dict:
    """POST /v1/chunked-upload/start for `data`; returns the JSON answer (asserts 200).

    Without a `modelName`, the model gets a fresh one (the tests share one server)."""
    body = {
        "fileName": "model.gguf",
        "fileSize": len(data),
        "modelName": f"test-{uuid.uuid4().hex[:8]}",
        **fields,
    }
    response = api.post(f"{api.base_url}/v1/chunked-upload/start", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def send_chunk(
    api: requests.Session, model_id: str, index: int, piece: bytes, *, multipart: bool = False
) -> requests.Response:
    """One chunk, as a raw body (modelId and chunkIndex in the query) or as the seed's form."""
    url = f"{api.base_url}/v1/chunked-upload/chunk"
    if multipart:
        form = {"modelId": model_id, "chunkIndex": str(index)}
        return api.post(url, data=form, files={"chunk": ("blob", piece)})
    return api.post(
        url,
        params={"modelId": model_id, "chunkIndex": index},
        data=piece,
        headers={"Content-Type": "application/octet-stream"},
    )


def chunk_of(data: bytes, started: dict, index: int) -> bytes:
    size = started["chunkSize"]
    return data[index * size : (index + 1) * size]


def send_chunks(
    api: requests.Session, data: bytes, started: dict, indexes: Iterable[int] | None = None
) -> list[requests.Response]:
    """Send the given chunks (all, in order, by default), alternating raw and multipart."""
    indexes = range(started["totalChunks"]) if indexes is None else indexes
    return [
        send_chunk(api, started["modelId"], i, chunk_of(data, started, i), multipart=i % 2 == 1)
        for i in indexes
    ]


def complete(api: requests.Session, model_id: str) -> requests.Response:
    return api.post(f"{api.base_url}/v1/chunked-upload/complete", json={"modelId": model_id})


def upload_file(api: requests.Session, path: Path, **fields) -> dict:
    """A whole chunked upload of `path`: start, every chunk, complete; returns complete's JSON."""
    data = path.read_bytes()
    started = start_upload(api, data, fileName=path.name, **fields)
    for response in send_chunks(api, data, started):
        assert response.status_code == 200, response.text
    response = complete(api, started["modelId"])
    assert response.status_code == 200, response.text
    return response.json()["model"]


def status(api: requests.Session, model_id: str) -> dict:
    response = api.get(f"{api.base_url}/v1/models/{model_id}/status")
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(
    api: requests.Session, model_id: str, statuses=FINAL_STATUSES, timeout: float = 30.0
) -> dict:
    """Poll the status endpoint until the model reaches one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        current = status(api, model_id)
        if current["status"] in statuses:
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"model stuck in {current['status']}: {current}")
        time.sleep(0.1)


def leftover_files(server: PremRunnerServer) -> list[str]:
    """Everything under the server's upload folders (temporary, stored, extracted)."""
    return sorted(
        str(path.relative_to(server.data_path))
        for folder in ("tmp", "uploads", "models")
        for path in (server.data_path / folder).rglob("*")
    )
