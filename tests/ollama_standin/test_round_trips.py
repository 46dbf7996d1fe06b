"""Model store round trips over HTTP: blobs, create (GGUF, safetensors, adapters), show, copy,
delete, and the reply shapes of tools, JSON formats and thinking."""

import base64
import hashlib
import json
import struct

import pytest
import requests

from . import gguf
from .client import CHAT_MODEL, THINKING_MODEL, ndjson, post

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
        },
    },
}


def upload(server, data: bytes) -> str:
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    assert post(server, f"/api/blobs/{digest}", data=data).status_code in (200, 201)
    return digest


def create(server, body: dict) -> requests.Response:
    return post(server, "/api/create", body)


def tag_names(server) -> list[str]:
    return [model["name"] for model in requests.get(f"{server.url}/api/tags").json()["models"]]


def test_gguf_file_goes_from_blob_to_model_to_nothing(ollama):
    data = gguf.build({"general.architecture": "llama", "general.parameter_count": 8_030_261_248})
    digest = upload(ollama, data + b"round-trip")
    lines = ndjson(create(ollama, {"model": "roundtrip:v1", "files": {"model.gguf": digest}}))
    assert lines[-1] == {"status": "success"}
    assert "roundtrip:v1" in tag_names(ollama)
    details = post(ollama, "/api/show", {"model": "roundtrip:v1"}).json()["details"]
    assert (details["format"], details["family"], details["parameter_size"]) == (
        "gguf",
        "llama",
        "8.0B",
    )
    reply = post(
        ollama,
        "/api/chat",
        {"model": "roundtrip:v1", "messages": [{"role": "user", "content": "hi"}], "stream": False},
    )
    assert reply.json()["message"]["content"]
    assert (
        requests.delete(f"{ollama.url}/api/delete", json={"model": "roundtrip:v1"}).status_code
        == 200
    )
    assert "roundtrip:v1" not in tag_names(ollama)
    assert requests.head(f"{ollama.url}/api/blobs/{digest}").status_code == 404


def test_a_file_without_gguf_magic_is_refused(ollama):
    digest = upload(ollama, b"PK\x03\x04 definitely a zip")
    named = create(ollama, {"model": "notgguf", "files": {"weights.gguf": digest}})
    assert ndjson(named) == [
        {"status": "parsing GGUF"},
        {"error": "supplied file was not in GGUF format"},
    ]
    unnamed = create(ollama, {"model": "notgguf", "files": {"weights": digest}})
    assert unnamed.status_code == 400
    assert unnamed.json() == {"error": "unknown type"}


def test_missing_blob_fails_after_parsing_gguf(ollama):
    missing = "sha256:" + "1" * 64
    lines = ndjson(create(ollama, {"model": "lost", "files": {"lost.gguf": missing}}))
    assert lines[0] == {"status": "parsing GGUF"}
    assert lines[1]["error"].endswith(f"sha256-{'1' * 64}: no such file or directory")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"architectures": ["MistralForCausalLM"]},
            'unsupported architecture "MistralForCausalLM"',
        ),
        ({"model_type": "llama"}, "unknown architecture"),
    ],
)
def test_safetensors_need_a_supported_architecture(ollama, config, message):
    files = {
        "config.json": upload(ollama, json.dumps(config).encode()),
        "model.safetensors": upload(ollama, b"weights"),
    }
    lines = ndjson(create(ollama, {"model": "st-bad", "files": files}))
    assert lines == [{"status": "converting model"}, {"error": message}]


def test_safetensors_embedding_architecture_makes_an_embedding_model(ollama):
    files = {
        "config.json": upload(ollama, json.dumps({"architectures": ["BertModel"]}).encode()),
        "model.safetensors": upload(ollama, b"bert weights"),
    }
    assert create(ollama, {"model": "my-bert", "files": files, "stream": False}).status_code == 200
    shown = post(ollama, "/api/show", {"model": "my-bert"}).json()
    assert shown["capabilities"] == ["embedding"]
    assert shown["details"]["quantization_level"] == "F16"


def test_lora_adapters_need_a_llama_or_gemma2_base(ollama):
    adapter = {
        "adapter_config.json": upload(ollama, b'{"r": 8}'),
        "adapter_model.safetensors": upload(ollama, b"lora weights"),
    }
    good = create(ollama, {"model": "tuned", "from": CHAT_MODEL, "adapters": adapter})
    statuses = [line.get("status") for line in ndjson(good)]
    assert "converting adapter" in statuses and statuses[-1] == "success"
    wrong_base = create(ollama, {"model": "tuned2", "from": THINKING_MODEL, "adapters": adapter})
    assert ndjson(wrong_base)[-1] == {"error": "unsupported architecture"}
    two = {"a.gguf": upload(ollama, b"GGUF one"), "b.gguf": upload(ollama, b"GGUF two")}
    several = create(ollama, {"model": "tuned3", "from": CHAT_MODEL, "adapters": two})
    assert several.status_code == 400
    assert several.json() == {"error": "only one adapter is currently supported"}


def test_quantize_checks_type_and_source(ollama):
    f16 = gguf.build({"general.architecture": "llama", "general.file_type": 1})
    digest = upload(ollama, f16)
    lines = ndjson(
        create(ollama, {"model": "q", "files": {"m.gguf": digest}, "quantize": "q4_K_M"})
    )
    statuses = [line["status"] for line in lines]
    assert "quantizing F16 model to Q4_K_M" in statuses and statuses[-1] == "success"
    shown = post(ollama, "/api/show", {"model": "q"}).json()
    assert shown["details"]["quantization_level"] == "Q4_K_M"
    bad = ndjson(create(ollama, {"model": "q2", "files": {"m.gguf": digest}, "quantize": "q3"}))
    supported = "supported types are F32, F16, Q4_K_S, Q4_K_M, Q8_0"
    assert bad[-1] == {"error": f"unsupported quantization type Q3 - {supported}"}
    again = ndjson(create(ollama, {"model": "q3", "from": "q", "quantize": "Q8_0"}))
    assert again[-1] == {"error": "quantization is only supported for F16, BF16 and F32 models"}


def test_derived_model_reuses_layers_and_bakes_in_system_and_parameters(ollama):
    body = {
        "model": "mario",
        "from": CHAT_MODEL,
        "system": "You are Mario.",
        "parameters": {"temperature": 0.2, "stop": ["</s>"]},
    }
    statuses = [line["status"] for line in ndjson(create(ollama, body))]
    assert statuses[0].startswith("using existing layer sha256:")
    assert any(status.startswith("creating new layer sha256:") for status in statuses)
    shown = post(ollama, "/api/show", {"model": "mario"}).json()
    assert shown["system"] == "You are Mario."
    assert shown["details"]["parent_model"] == "tiny-llama:latest"
    assert "temperature                    0.2" in shown["parameters"]
    assert 'stop                           "</s>"' in shown["parameters"]
    assert "SYSTEM You are Mario." in shown["modelfile"]


def test_bad_template_is_a_400(ollama):
    response = create(
        ollama, {"model": "t", "from": CHAT_MODEL, "template": "{{ if .System }}", "stream": False}
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("template error: template: :1:")


def test_copy_to_another_name_and_unknown_source(ollama):
    assert (
        post(ollama, "/api/copy", {"source": CHAT_MODEL, "destination": "user/copy:v2"}).status_code
        == 200
    )
    assert "user/copy:v2" in tag_names(ollama)
    missing = post(ollama, "/api/copy", {"source": "ghost", "destination": "x"})
    assert missing.status_code == 404
    assert missing.json() == {"error": 'model "ghost" not found'}
    invalid = post(ollama, "/api/copy", {"source": "bad name", "destination": "x"})
    assert invalid.json() == {"error": 'source "bad name" is invalid'}


def test_tools_answer_with_a_call_on_the_final_line_then_text_after_the_result(ollama):
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    *partial, final = ndjson(
        post(ollama, "/api/chat", {"model": CHAT_MODEL, "messages": messages, "tools": [TOOL]})
    )
    assert all("tool_calls" not in line["message"] for line in partial)
    (call,) = final["message"]["tool_calls"]
    assert call["id"].startswith("call_") and len(call["id"]) == 13
    assert call["function"]["name"] == "get_weather" and call["function"]["index"] == 0
    assert set(call["function"]["arguments"]) == {"city", "days"}
    assert isinstance(call["function"]["arguments"]["days"], int)
    assert final["done_reason"] == "stop"
    messages += [
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "content": "Sunny", "tool_name": "get_weather"},
    ]
    reply = post(
        ollama,
        "/api/chat",
        {"model": CHAT_MODEL, "messages": messages, "tools": [TOOL], "stream": False},
    ).json()
    assert reply["message"]["content"] and "tool_calls" not in reply["message"]


def test_tools_need_a_model_that_supports_them(ollama):
    assert post(ollama, "/api/pull", {"model": "gemma3:270m", "stream": False}).ok
    body = {
        "model": "gemma3:270m",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [TOOL],
    }
    response = post(ollama, "/api/chat", body)
    assert response.status_code == 400
    assert response.json() == {
        "error": "registry.ollama.ai/library/gemma3:270m does not support tools"
    }


def test_json_schema_format_yields_matching_json(ollama):
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 1, "maximum": 9},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name", "age"],
    }
    body = {
        "model": CHAT_MODEL,
        "messages": [{"role": "user", "content": "Who?"}],
        "format": schema,
    }
    lines = ndjson(post(ollama, "/api/chat", body))
    assert len(lines) > 3
    value = json.loads("".join(line["message"]["content"] for line in lines))
    assert isinstance(value["name"], str) and 1 <= value["age"] <= 9
    assert all(isinstance(tag, str) for tag in value["tags"])
    plain = post(
        ollama,
        "/api/generate",
        {"model": CHAT_MODEL, "prompt": "hi", "format": "json", "stream": False},
    )
    assert isinstance(json.loads(plain.json()["response"]), dict)


def test_thinking_models_think_before_answering(ollama):
    body = {"model": THINKING_MODEL, "messages": [{"role": "user", "content": "Why?"}]}
    lines = ndjson(post(ollama, "/api/chat", body))
    kinds = ["thinking" if line["message"].get("thinking") else "content" for line in lines[:-1]]
    assert kinds[0] == "thinking" and "content" in kinds
    assert kinds == sorted(kinds, key=lambda kind: kind == "content")
    quiet = post(ollama, "/api/chat", {**body, "think": False, "stream": False}).json()
    assert "thinking" not in quiet["message"]


def test_replies_are_deterministic_and_honour_stop_and_num_predict(ollama):
    body = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Same"}], "stream": False}
    first = post(ollama, "/api/chat", body).json()["message"]["content"]
    assert post(ollama, "/api/chat", body).json()["message"]["content"] == first
    word = first.split()[2]
    stopped = post(ollama, "/api/chat", {**body, "options": {"stop": [word]}}).json()
    assert word not in stopped["message"]["content"] and stopped["done_reason"] == "stop"
    capped = post(ollama, "/api/chat", {**body, "options": {"num_predict": 2}}).json()
    assert (capped["eval_count"], capped["done_reason"]) == (2, "length")


def test_images_must_be_valid_base64(ollama):
    message = {"role": "user", "content": "What is this?", "images": ["aGVsbG8="]}
    ok = post(ollama, "/api/chat", {"model": CHAT_MODEL, "messages": [message], "stream": False})
    assert ok.status_code == 200
    broken = post(
        ollama, "/api/chat", {"model": CHAT_MODEL, "messages": [{**message, "images": ["aGVsbG8"]}]}
    )
    assert broken.status_code == 400
    assert broken.json() == {"error": "illegal base64 data at input byte 4"}


def test_keep_alive_accepts_seconds_durations_and_forever(ollama):
    for keep_alive in (30, "10m", -1, "-1m", 1.5):
        response = post(ollama, "/api/generate", {"model": CHAT_MODEL, "keep_alive": keep_alive})
        assert response.json()["done_reason"] == "load"
    invalid = post(ollama, "/api/generate", {"model": CHAT_MODEL, "keep_alive": "-1"})
    assert invalid.status_code == 400
    assert invalid.json() == {"error": 'time: missing unit in duration "-1"'}


def test_openai_embeddings_in_float_or_base64(ollama):
    body = {"model": "nomic-embed-text", "input": ["one", "two"]}
    floats = post(ollama, "/v1/embeddings", body).json()
    assert [item["index"] for item in floats["data"]] == [0, 1]
    assert len(floats["data"][0]["embedding"]) == 16
    assert floats["usage"]["prompt_tokens"] == floats["usage"]["total_tokens"] > 0
    packed = post(ollama, "/v1/embeddings", {**body, "encoding_format": "base64"}).json()
    raw = base64.b64decode(packed["data"][0]["embedding"])
    assert struct.unpack("<16f", raw) == pytest.approx(floats["data"][0]["embedding"])
    bad = post(ollama, "/v1/embeddings", {**body, "encoding_format": "hex"})
    assert bad.status_code == 400
    assert bad.json()["error"]["message"].startswith("Invalid value for 'encoding_format' = hex.")
    empty = post(ollama, "/v1/embeddings", {"model": "nomic-embed-text", "input": []})
    assert empty.json()["error"]["message"] == "invalid input"


def test_openai_legacy_completions(ollama):
    body = {"model": CHAT_MODEL, "prompt": "Once upon a time", "max_tokens": 3}
    completion = post(ollama, "/v1/completions", body).json()
    assert completion["object"] == "text_completion"
    assert completion["id"].startswith("cmpl-")
    (choice,) = completion["choices"]
    assert len(choice["text"].split()) == 3 and choice["finish_reason"] == "length"
    events = [
        line
        for line in post(ollama, "/v1/completions", {**body, "stream": True}).iter_lines()
        if line
    ]
    assert events[-1] == b"data: [DONE]"
    reasons = [json.loads(line[6:])["choices"][0]["finish_reason"] for line in events[:-1]]
    assert reasons == [None, None, None, "length"]


def gguf_with_one_tensor() -> bytes:
    """A GGUF file with one 4x2 F32 tensor, written by hand."""
    key, value = b"general.architecture", b"llama"
    header = b"GGUF" + struct.pack("<IQQ", 3, 1, 1)
    header += struct.pack("<Q", len(key)) + key + struct.pack("<IQ", 8, len(value)) + value
    name = b"token_embd.weight"
    header += struct.pack("<Q", len(name)) + name + struct.pack("<I2QIQ", 2, 4, 2, 0, 0)
    return header + bytes(-len(header) % 32) + bytes(4 * 8)


def test_show_describes_the_tensors_of_an_imported_gguf(ollama):
    digest = upload(ollama, gguf_with_one_tensor())
    assert create(ollama, {"model": "tensors", "files": {"t.gguf": digest}, "stream": False}).ok
    shown = post(ollama, "/api/show", {"model": "tensors"}).json()
    assert shown["tensors"] == [{"name": "token_embd.weight", "type": "F32", "shape": [4, 2]}]
    assert shown["model_info"]["general.parameter_count"] == 8
    assert shown["details"]["parameter_size"] == "8"
