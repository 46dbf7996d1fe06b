"""Telling a model file by its content (uploads.formats), on real files the tests make."""

import pytest

from models_app.models import ModelFormat
from tests.files import make_tar, make_zip, write_safetensors_model, write_tiny_gguf
from uploads.formats import NotAModel, gguf_is_adapter, plan_layout, read_gguf_metadata, sniff


def test_files_are_told_by_their_first_bytes_not_their_names(tmp_path):
    gguf = write_tiny_gguf(tmp_path / "model.zip").read_bytes()  # misleading name
    model = write_safetensors_model(tmp_path / "hf")

    assert sniff(gguf[:512]) == "gguf"
    assert sniff(make_zip(tmp_path / "a.gguf", model).read_bytes()[:512]) == "zip"
    assert sniff(make_tar(tmp_path / "b.bin", model).read_bytes()[:512]) == "tar"
    assert sniff(make_tar(tmp_path / "c", model, gzip=True).read_bytes()[:512]) == "tar.gz"


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (b"<html><body>hello</body></html>", "not a model"),
        (b"GGUF\x07\x00\x00\x00" + bytes(16), "version 7"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{" + b'"a":1}' + bytes(20), "bare safetensors"),
    ],
)
def test_other_files_are_refused_with_a_reason(head, message):
    with pytest.raises(NotAModel, match=message):
        sniff(head)


def test_gguf_metadata_says_model_or_adapter(tmp_path):
    model = write_tiny_gguf(tmp_path / "m.gguf").read_bytes()
    adapter = write_tiny_gguf(tmp_path / "a.gguf", adapter=True).read_bytes()

    keys = frozenset({"general.architecture", "general.name"})
    assert read_gguf_metadata(model, keys=keys) == {
        "general.architecture": "llama",
        "general.name": "tiny",
    }
    assert not gguf_is_adapter(model)
    assert gguf_is_adapter(adapter)
    assert read_gguf_metadata(model[:40], keys=keys) == {}  # cut short: what fits, no error


def test_a_gguf_in_an_archive_wins():
    layout = plan_layout(["m/model.gguf", "m/config.json", "m/README.md"], {})
    assert layout.format == ModelFormat.GGUF
    assert layout.files == {"model.gguf": "m/model.gguf"}


def test_a_hugging_face_folder_sends_its_weights_config_and_tokenizer():
    config = '{"architectures": ["Qwen2ForCausalLM"]}'
    members = ["config.json", "model.safetensors", "tokenizer.json", "README.md", ".DS_Store"]

    layout = plan_layout(members, {"config.json": config})

    assert layout.format == ModelFormat.SAFETENSORS
    assert layout.architecture == "Qwen2ForCausalLM"
    assert sorted(layout.files) == ["config.json", "model.safetensors", "tokenizer.json"]


def test_an_adapter_names_its_base():
    config = '{"base_model_name_or_path": "meta-llama/Llama-3.2-1B", "r": 8}'
    layout = plan_layout(
        ["adapter_config.json", "adapter_model.safetensors"], {"adapter_config.json": config}
    )
    assert layout.format == ModelFormat.LORA
    assert layout.adapter_base == "meta-llama/Llama-3.2-1B"


@pytest.mark.parametrize(
    ("members", "configs", "message"),
    [
        (["config.json", "model.safetensors"], {"config.json": '{"x": 1}'}, "no architecture"),
        (
            ["config.json", "model.safetensors"],
            {"config.json": '{"architectures": ["MistralForCausalLM"]}'},
            'cannot convert architecture "MistralForCausalLM"',
        ),
        (["config.json", "pytorch_model.bin"], {}, "PyTorch checkpoint"),
        (["notes.txt"], {}, "holds no model"),
        (["adapter_config.json"], {"adapter_config.json": "{}"}, "no adapter weights"),
    ],
)
def test_archives_without_a_model_ollama_takes_are_refused(members, configs, message):
    with pytest.raises(NotAModel, match=message):
        plan_layout(members, configs)
