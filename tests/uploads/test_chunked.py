"""The chunked upload API over HTTP, against a live PremRunner and the stand-in Ollama."""

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.files import (
    make_tar,
    make_zip,
    write_lora_adapter,
    write_safetensors_model,
    write_tiny_gguf,
)
from tests.support.server import PremRunnerServer
from tests.uploads.conftest import BASE_MODEL, CHUNK_SIZE, MAX_UPLOAD_SIZE, upload_env
from tests.uploads.support import (
    chunk_of,
    complete,
    leftover_files,
    send_chunk,
    send_chunks,
    start_upload,
    upload_file,
    wait_for,
)


@pytest.fixture
def gguf_bytes(tmp_path) -> bytes:
    return write_tiny_gguf(tmp_path / "tiny.gguf").read_bytes()


def upload_state(api, model_id: str) -> requests.Response:
    return api.get(f"{api.base_url}/v1/chunked-upload/{model_id}")


def test_start_answers_the_model_id_chunk_size_and_chunk_count(uploads, gguf_bytes):
    started = start_upload(uploads, gguf_bytes, fileName="tiny.gguf", modelName="Start Test")

    assert started["chunkSize"] == CHUNK_SIZE
    assert started["totalChunks"] == -(-len(gguf_bytes) // CHUNK_SIZE) == 2
    assert started["name"] == "start-test:latest"
    assert upload_state(uploads, started["modelId"]).json()["receivedChunks"] == []


def test_chunked_gguf_upload_becomes_a_ready_model(uploads, gguf_bytes):
    started = start_upload(uploads, gguf_bytes, fileName="tiny.gguf", modelName="chunked-tiny")
    for response in send_chunks(uploads, gguf_bytes, started):
        assert response.status_code == 200, response.text

    answer = complete(uploads, started["modelId"])

    assert answer.status_code == 200, answer.text
    stored = answer.json()["model"]
    assert stored["status"] == "uploaded"
    assert stored["sha256"] == hashlib.sha256(gguf_bytes).hexdigest()
    final = wait_for(uploads, started["modelId"])
    assert final["status"] == "ready", final
    assert final["progress"] == 1.0 and final["format"] == "gguf"
    listed = uploads.get(f"{uploads.base_url}/v1/models").json()
    assert "chunked-tiny:latest" in [entry["id"] for entry in listed["data"]]


def test_interrupted_upload_resumes_from_the_chunks_received(uploads, tmp_path):
    data = write_tiny_gguf(tmp_path / "resume.gguf").read_bytes() + bytes(3000)
    started = start_upload(uploads, data, fileName="resume.gguf")
    assert started["totalChunks"] == 5
    send_chunks(uploads, data, started, indexes=[0, 3])  # then the network failed

    received = upload_state(uploads, started["modelId"]).json()["receivedChunks"]
    assert received == [0, 3]
    missing = [i for i in range(started["totalChunks"]) if i not in received]
    assert all(r.status_code == 200 for r in send_chunks(uploads, data, started, missing))
    answer = complete(uploads, started["modelId"])

    assert answer.status_code == 200, answer.text
    assert answer.json()["model"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_complete_can_be_called_again_after_a_lost_answer(uploads, gguf_bytes):
    started = start_upload(uploads, gguf_bytes, fileName="twice.gguf")
    send_chunks(uploads, gguf_bytes, started)

    first, again = complete(uploads, started["modelId"]), complete(uploads, started["modelId"])

    assert first.status_code == again.status_code == 200
    assert again.json()["model"]["id"] == started["modelId"]


def test_chunk_upload_is_idempotent(uploads, gguf_bytes):
    started = start_upload(uploads, gguf_bytes, fileName="again.gguf")
    first = send_chunk(uploads, started["modelId"], 1, chunk_of(gguf_bytes, started, 1))
    again = send_chunk(uploads, started["modelId"], 1, chunk_of(gguf_bytes, started, 1))

    assert first.status_code == again.status_code == 200
    assert again.json()["receivedChunks"] == 1
    send_chunks(uploads, gguf_bytes, started, indexes=[0])
    answer = complete(uploads, started["modelId"])
    assert answer.json()["model"]["sha256"] == hashlib.sha256(gguf_bytes).hexdigest()


@pytest.mark.parametrize(
    ("index", "piece_size", "message"),
    [
        (-1, CHUNK_SIZE, "between 0 and 1"),
        (2, CHUNK_SIZE, "between 0 and 1"),
        (0, CHUNK_SIZE - 1, "exactly 1024 bytes"),
        (1, CHUNK_SIZE, "exactly {last} bytes"),
    ],
)
def test_chunk_with_a_bad_index_or_size_is_refused(uploads, gguf_bytes, index, piece_size, message):
    started = start_upload(uploads, gguf_bytes, fileName="bad.gguf")
    message = message.format(last=len(gguf_bytes) - CHUNK_SIZE)

    response = send_chunk(uploads, started["modelId"], index, bytes(piece_size))

    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert upload_state(uploads, started["modelId"]).json()["receivedChunks"] == []


def test_chunk_needs_a_uuid_model_id_and_a_known_upload(uploads):
    traversal = send_chunk(uploads, "../../etc/passwd", 0, b"GGUF")
    unknown = send_chunk(uploads, "00000000-0000-0000-0000-000000000000", 0, b"GGUF")

    assert traversal.status_code == 400
    assert traversal.json()["error"]["code"] == "invalid_model_id"
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "upload_not_found"
    assert uploads.get(f"{uploads.base_url}/v1/chunked-upload/not-a-uuid").status_code == 400


def test_total_chunks_must_match_the_upload(uploads, gguf_bytes):
    started = start_upload(uploads, gguf_bytes, fileName="total.gguf")
    response = uploads.post(
        f"{uploads.base_url}/v1/chunked-upload/chunk",
        data={"modelId": started["modelId"], "chunkIndex": "0", "totalChunks": "7"},
        files={"chunk": ("blob", chunk_of(gguf_bytes, started, 0))},
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "totalChunks"


def test_complete_with_chunks_missing_is_refused(uploads, gguf_bytes):
    started = start_upload(uploads, gguf_bytes, fileName="partial.gguf")
    send_chunks(uploads, gguf_bytes, started, indexes=[0])

    response = complete(uploads, started["modelId"])

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "upload_incomplete"
    assert "1" in response.json()["error"]["message"]


def test_a_file_that_is_not_a_model_is_refused_at_the_first_chunk(uploads, upload_server):
    data = b"<html>not a model</html>" * 200
    started = start_upload(uploads, data, fileName="page.gguf")

    response = send_chunk(uploads, started["modelId"], 0, chunk_of(data, started, 0))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unsupported_model"
    assert "not a model" in response.json()["error"]["message"]
    assert upload_state(uploads, started["modelId"]).status_code == 404
    assert started["modelId"] not in str(leftover_files(upload_server))


def test_unsupported_architecture_in_a_zip_is_refused_when_its_directory_arrives(
    uploads, tmp_path, upload_server
):
    model = write_safetensors_model(tmp_path / "m", architecture="MistralForCausalLM")
    data = make_zip(tmp_path / "mistral.zip", model).read_bytes()
    started = start_upload(uploads, data, fileName="mistral.zip")
    last = started["totalChunks"] - 1

    answers = send_chunks(uploads, data, started)

    assert [r.status_code for r in answers[:last]] == [200] * last
    assert answers[last].status_code == 422
    assert 'architecture "MistralForCausalLM"' in answers[last].json()["error"]["message"]
    assert started["modelId"] not in str(leftover_files(upload_server))


def test_unsupported_architecture_in_a_tar_is_refused_as_soon_as_config_json_passes(
    uploads, tmp_path
):
    model = write_safetensors_model(tmp_path / "m", architecture="MistralForCausalLM")
    (tmp_path / "m" / "model.safetensors").write_bytes(bytes(20_000))  # many chunks after it
    data = make_tar(tmp_path / "mistral.tar", model / "config.json", model).read_bytes()
    started = start_upload(uploads, data, fileName="mistral.tar")

    answers = []
    for index in range(started["totalChunks"]):
        answers.append(
            send_chunk(uploads, started["modelId"], index, chunk_of(data, started, index))
        )
        if answers[-1].status_code != 200:
            break

    assert answers[-1].status_code == 422
    assert len(answers) < started["totalChunks"] // 2  # refused long before the end
    assert "MistralForCausalLM" in answers[-1].json()["error"]["message"]


def test_lora_adapter_whose_base_is_missing_is_refused_naming_the_base(uploads, tmp_path):
    adapter = write_lora_adapter(tmp_path / "lora", base_model="meta-llama/Llama-3.2-1B")
    data = make_zip(tmp_path / "lora.zip", adapter).read_bytes()
    started = start_upload(uploads, data, fileName="lora.zip")

    answers = send_chunks(uploads, data, started)

    refusal = answers[-1]
    assert refusal.status_code == 422
    assert "'meta-llama/Llama-3.2-1B' is not in Ollama" in refusal.json()["error"]["message"]


def test_lora_adapter_on_a_base_in_ollama_becomes_ready(uploads, tmp_path):
    adapter = write_lora_adapter(tmp_path / "lora", base_model="someone/Llama-3.2-1B")
    archive = make_tar(tmp_path / "style-lora.tar.gz", adapter, gzip=True)

    stored = upload_file(uploads, archive, modelName="style-lora", baseModel=BASE_MODEL)

    final = wait_for(uploads, stored["id"])
    assert final["status"] == "ready", final
    assert final["format"] == "lora"
    assert final["baseModel"] == f"{BASE_MODEL}:latest"


@pytest.mark.parametrize("packer", ["zip", "tar.gz"])
def test_hugging_face_safetensors_archive_becomes_ready(uploads, tmp_path, packer):
    model = write_safetensors_model(tmp_path / "hf")
    archive = (
        make_zip(tmp_path / "hf.zip", model, prefix="hf-model/")
        if packer == "zip"
        else make_tar(tmp_path / "hf.tar.gz", model, gzip=True)
    )

    stored = upload_file(uploads, archive, modelName=f"hf-{packer}")

    final = wait_for(uploads, stored["id"])
    assert final["status"] == "ready", final
    assert final["format"] == "safetensors"


def test_gguf_inside_a_zip_becomes_ready(uploads, tmp_path):
    archive = make_zip(tmp_path / "packed.zip", write_tiny_gguf(tmp_path / "packed.gguf"))

    final = wait_for(uploads, upload_file(uploads, archive, modelName="zipped-gguf")["id"])

    assert final["status"] == "ready", final
    assert final["format"] == "gguf"


def test_delete_aborts_an_upload_and_removes_everything(uploads, upload_server, gguf_bytes):
    started = start_upload(uploads, gguf_bytes, fileName="abort.gguf")
    send_chunks(uploads, gguf_bytes, started, indexes=[0])

    response = uploads.delete(f"{uploads.base_url}/v1/chunked-upload/{started['modelId']}")

    assert response.status_code == 200
    assert upload_state(uploads, started["modelId"]).status_code == 404
    assert started["modelId"] not in str(leftover_files(upload_server))
    status = uploads.get(f"{uploads.base_url}/v1/models/{started['modelId']}/status")
    assert status.status_code == 404


def test_file_over_max_upload_size_is_refused_at_start(uploads):
    response = uploads.post(
        f"{uploads.base_url}/v1/chunked-upload/start",
        json={"fileName": "huge.gguf", "fileSize": MAX_UPLOAD_SIZE + 1},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"


def test_a_taken_name_is_refused_with_409(uploads, gguf_bytes):
    start_upload(uploads, gguf_bytes, fileName="dup.gguf", modelName="Duplicate")
    for name in ("duplicate", "DUPLICATE:latest", BASE_MODEL):
        response = uploads.post(
            f"{uploads.base_url}/v1/chunked-upload/start",
            json={"fileName": "x.gguf", "fileSize": 10, "modelName": name},
        )
        assert response.status_code == 409, name
        assert response.json()["error"]["code"] == "model_exists"


def test_names_are_made_valid_for_ollama(uploads, gguf_bytes):
    started = start_upload(uploads, gguf_bytes, fileName="My Fancy Model (v2).gguf", modelName="")
    assert started["name"] == "my-fancy-model-v2:latest"


def test_a_name_with_nothing_ollama_accepts_is_refused_not_replaced(uploads):
    response = uploads.post(
        f"{uploads.base_url}/v1/chunked-upload/start",
        json={"fileName": "x.gguf", "fileSize": 10, "modelName": "名前"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_model_name" and error["param"] == "modelName"


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"temperature": "hot"}, "Parameter 'temperature' must be a number."),
        ({"num_ctx": 2048.5}, "Parameter 'num_ctx' must be an integer."),
        ({"stop": [1, 2]}, "Parameter 'stop' must be a string or a list of strings."),
        ({"temprature": 0.2}, "Unknown model parameter 'temprature'."),
    ],
)
def test_model_parameters_are_checked_before_a_byte_is_sent(uploads, parameters, message):
    response = uploads.post(
        f"{uploads.base_url}/v1/chunked-upload/start",
        json={"fileName": "x.gguf", "fileSize": 10, "parameters": parameters},
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message


def test_start_checks_its_fields(uploads):
    response = uploads.post(
        f"{uploads.base_url}/v1/chunked-upload/start", json={"fileName": "x", "fileSize": 0}
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "fileSize"


@pytest.mark.django_db
def test_start_gets_507_when_the_disk_cannot_hold_the_file(client, settings, auth_headers):
    settings.UPLOAD_DISK_RESERVE = 10**18  # no disk keeps that much free

    response = client.post(
        "/v1/chunked-upload/start",
        {"fileName": "x.gguf", "fileSize": 1000},
        content_type="application/json",
        headers=auth_headers,
    )

    assert response.status_code == 507
    assert response.json()["error"]["code"] == "insufficient_storage"
    assert list(settings.UPLOAD_TMP_DIR.glob("*.part")) == []


def test_completes_racing_for_one_upload_all_answer_the_stored_model(upload_standin, tmp_path):
    path = write_tiny_gguf(tmp_path / "padded.gguf")
    with path.open("ab") as padded:
        padded.write(bytes(48 * 1024 * 1024))  # long enough to hash that retries overlap it
    data = path.read_bytes()
    env = upload_env(UPLOAD_CHUNK_SIZE=str(16 * 1024 * 1024))
    with PremRunnerServer(tmp_path / "server", ollama_url=upload_standin.url, env=env) as server:
        api = server.session()
        started = start_upload(api, data)
        assert all(response.ok for response in send_chunks(api, data, started))

        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(lambda _: complete(api, started["modelId"]), range(4)))

        assert [answer.status_code for answer in answers] == [200] * 4
        assert {answer.json()["model"]["id"] for answer in answers} == {started["modelId"]}
