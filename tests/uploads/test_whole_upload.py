"""POST /v1/models/upload: a whole model file in one multipart request, streamed to disk."""

import hashlib
import http.client
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

from tests.files import make_zip_with_member, write_tiny_gguf
from tests.support.server import PremRunnerServer
from tests.uploads.conftest import MAX_UPLOAD_SIZE
from tests.uploads.support import leftover_files, wait_for


def upload(api, path, **fields) -> requests.Response:
    with path.open("rb") as handle:
        return api.post(
            f"{api.base_url}/v1/models/upload",
            data=fields,
            files={"file": (path.name, handle, "application/octet-stream")},
        )


def _tmp_files(server: PremRunnerServer) -> list[str]:
    return [f for f in leftover_files(server) if f.startswith("tmp/")]


def test_whole_upload_is_stored_and_becomes_ready_with_its_options(
    uploads, upload_standin, tmp_path
):
    gguf = write_tiny_gguf(tmp_path / "whole.gguf", f16=True)

    response = upload(
        uploads,
        gguf,
        name="Whole Upload",
        system="You are terse.",
        template="{{ .Prompt }}",
        parameters='{"temperature": 0.2}',
        quantize="q8_0",
    )

    assert response.status_code == 201, response.text
    model = response.json()["model"]
    assert model["name"] == "whole-upload:latest"
    assert model["sha256"] == hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert wait_for(uploads, model["id"])["status"] == "ready"
    shown = requests.post(f"{upload_standin.url}/api/show", json={"model": model["name"]}).json()
    assert shown["system"] == "You are terse."
    assert shown["template"] == "{{ .Prompt }}"
    assert "temperature" in shown["parameters"]
    assert shown["details"]["quantization_level"] == "Q8_0"


def test_a_non_model_upload_is_refused_and_leaves_nothing(uploads, upload_server, tmp_path):
    page = tmp_path / "page.gguf"
    page.write_bytes(b"<html>" * 1000)
    before = _tmp_files(upload_server)

    response = upload(uploads, page, name="not-a-model")

    assert response.status_code == 422
    assert "not a model" in response.json()["error"]["message"]
    assert _tmp_files(upload_server) == before


def test_hostile_archive_upload_is_refused(uploads, tmp_path):
    archive = make_zip_with_member(tmp_path / "evil.zip", "../../evil.gguf", b"GGUF")

    response = upload(uploads, archive, name="evil-archive")

    assert response.status_code == 422
    assert "climbs out of its folder" in response.json()["error"]["message"]


def test_upload_over_max_upload_size_gets_413_and_nothing_is_stored(upload_server):
    """The refusal comes from the declared length: the body is dropped while it arrives."""
    before = _tmp_files(upload_server)
    seen_during_upload = []
    url = urlsplit(upload_server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    size = MAX_UPLOAD_SIZE + 2 * 1024 * 1024
    connection.putrequest("POST", "/v1/models/upload")
    connection.putheader("Authorization", f"Bearer {upload_server.token}")
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(size))
    connection.endheaders()
    block = bytes(1024 * 1024)
    for sent in range(0, size, len(block)):
        connection.send(block[: min(len(block), size - sent)])
        if sent == len(block) * 100:
            time.sleep(0.2)
            seen_during_upload = _tmp_files(upload_server)
    response = connection.getresponse()

    assert response.status == 413
    assert b"request_too_large" in response.read()
    assert seen_during_upload == before
    assert _tmp_files(upload_server) == before


def test_upload_without_the_token_is_refused_and_nothing_is_stored(upload_server, tmp_path):
    gguf = write_tiny_gguf(tmp_path / "anon.gguf")
    before = _tmp_files(upload_server)
    response = requests.post(
        f"{upload_server.url}/v1/models/upload", files={"file": gguf.read_bytes()}
    )
    assert response.status_code == 401
    assert _tmp_files(upload_server) == before


def peak_memory_bytes(server: PremRunnerServer) -> int:
    """The server process's peak resident memory (VmHWM)."""
    status = (Path("/proc") / str(server.process.pid) / "status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def test_a_large_upload_is_never_held_in_memory(uploads, upload_server, tmp_path):
    size = 160 * 1024 * 1024
    big = write_tiny_gguf(tmp_path / "big.gguf")
    with big.open("r+b") as handle:
        handle.truncate(size)
    before = peak_memory_bytes(upload_server)

    response = upload(uploads, big, name="big-upload")

    assert response.status_code == 201, response.text
    assert response.json()["model"]["size"] == size
    assert peak_memory_bytes(upload_server) - before < 40 * 1024 * 1024
    uploads.delete(f"{uploads.base_url}/v1/models/big-upload")
