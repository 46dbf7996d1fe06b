"""Real model files and archives for tests, made on the spot (tiny, but valid for their format).

- `write_tiny_gguf`: a small valid GGUF (written with the `gguf` package).
- `write_safetensors_model`: a Hugging Face model directory (config.json, safetensors, tokenizer).
- `write_lora_adapter`: a PEFT LoRA adapter directory (adapter_config.json + safetensors).
- `make_zip`, `make_tar`: archives of files or directories.
- Hostile archives: `make_zip_with_member`, `make_tar_with_member` (any member name: `../x`,
  `/etc/x`), `make_tar_with_symlink`, `make_zip_bomb`, `make_tar_bomb`.
"""

import io
import json
import tarfile
import zipfile
from pathlib import Path

import gguf
import numpy as np
from safetensors.numpy import save_file

TINY_VOCAB = ["<unk>", "<s>", "</s>", "hello", "world", "▁the", "▁a", "."]


def write_tiny_gguf(
    path: Path | str,
    *,
    architecture: str = "llama",
    name: str = "tiny",
    adapter: bool = False,
    f16: bool = False,
) -> Path:
    """Write a tiny but valid GGUF model (or a GGUF LoRA adapter when `adapter`) to `path`.

    Its weights are F32 (1280 bytes in all), or F16 when `f16` (which Ollama can quantize).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_name(name)
    if adapter:
        writer.add_type("adapter")
        writer.add_string("adapter.type", "lora")
        writer.add_float32("adapter.lora.alpha", 16.0)
        writer.add_tensor("blk.0.attn_q.weight.lora_a", np.ones((2, 8), dtype=np.float32))
        writer.add_tensor("blk.0.attn_q.weight.lora_b", np.ones((8, 2), dtype=np.float32))
    else:
        writer.add_context_length(128)
        writer.add_embedding_length(8)
        writer.add_block_count(1)
        writer.add_feed_forward_length(16)
        writer.add_head_count(2)
        writer.add_head_count_kv(2)
        writer.add_layer_norm_rms_eps(1e-5)
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if f16 else gguf.LlamaFileType.ALL_F32)
        writer.add_tokenizer_model("llama")
        writer.add_token_list(TINY_VOCAB)
        writer.add_token_scores([0.0] * len(TINY_VOCAB))
        writer.add_token_types([gguf.TokenType.NORMAL] * len(TINY_VOCAB))
        writer.add_bos_token_id(1)
        writer.add_eos_token_id(2)
        rng = np.random.default_rng(0)
        embeddings = rng.standard_normal((len(TINY_VOCAB), 8), dtype=np.float32)
        writer.add_tensor("token_embd.weight", embeddings.astype(np.float16 if f16 else np.float32))
        writer.add_tensor("output_norm.weight", np.ones(8, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def write_safetensors_model(
    directory: Path | str, *, architecture: str = "LlamaForCausalLM", model_type: str = "llama"
) -> Path:
    """Write a tiny Hugging Face model directory: config.json, model.safetensors, tokenizer."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "architectures": [architecture],
        "model_type": model_type,
        "hidden_size": 8,
        "intermediate_size": 16,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "num_hidden_layers": 1,
        "vocab_size": len(TINY_VOCAB),
        "max_position_embeddings": 128,
        "rms_norm_eps": 1e-5,
        "torch_dtype": "float32",
    }
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    rng = np.random.default_rng(0)
    save_file(
        {
            "model.embed_tokens.weight": rng.standard_normal(
                (len(TINY_VOCAB), 8), dtype=np.float32
            ),
            "model.norm.weight": np.ones(8, dtype=np.float32),
            "lm_head.weight": rng.standard_normal((len(TINY_VOCAB), 8), dtype=np.float32),
        },
        str(directory / "model.safetensors"),
    )
    tokenizer = {
        "version": "1.0",
        "model": {"type": "BPE", "vocab": {t: i for i, t in enumerate(TINY_VOCAB)}, "merges": []},
    }
    (directory / "tokenizer.json").write_text(json.dumps(tokenizer))
    (directory / "tokenizer_config.json").write_text(
        json.dumps({"bos_token": "<s>", "eos_token": "</s>", "model_max_length": 128})
    )
    return directory


def write_lora_adapter(
    directory: Path | str,
    *,
    base_model: str | None = "tiny-llama",
    model_type: str | None = None,
) -> Path:
    """Write a tiny PEFT LoRA adapter: adapter_config.json and adapter_model.safetensors.

    `base_model` goes into `base_model_name_or_path` (left out when None); `model_type`, when
    given, names the base architecture the way some adapters record it.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config: dict = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "r": 2,
        "lora_alpha": 16,
        "target_modules": ["q_proj", "v_proj"],
    }
    if base_model is not None:
        config["base_model_name_or_path"] = base_model
    if model_type is not None:
        config["model_type"] = model_type
    (directory / "adapter_config.json").write_text(json.dumps(config, indent=2))
    save_file(
        {
            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": np.ones(
                (2, 8), dtype=np.float32
            ),
            "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": np.zeros(
                (8, 2), dtype=np.float32
            ),
        },
        str(directory / "adapter_model.safetensors"),
    )
    return directory


def _members(source: Path) -> list[tuple[Path, str]]:
    """(file, name in the archive) for a file, or for every file under a directory."""
    if source.is_file():
        return [(source, source.name)]
    return [(f, f.relative_to(source).as_posix()) for f in sorted(source.rglob("*")) if f.is_file()]


def make_zip(path: Path | str, *sources: Path | str, prefix: str = "") -> Path:
    """A ZIP of the given files and directories' contents, names under `prefix` if given."""
    path = Path(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for source in sources:
            for file, name in _members(Path(source)):
                archive.write(file, prefix + name)
    return path


def make_tar(path: Path | str, *sources: Path | str, gzip: bool = False, prefix: str = "") -> Path:
    """A tar (tar.gz when `gzip`) of the given files and directories' contents."""
    path = Path(path)
    with tarfile.open(path, "w:gz" if gzip else "w") as archive:
        for source in sources:
            for file, name in _members(Path(source)):
                archive.add(file, prefix + name)
    return path


def make_zip_with_member(path: Path | str, member_name: str, data: bytes = b"x") -> Path:
    """A ZIP with one member named exactly `member_name` (e.g. `../evil.gguf`, `/tmp/x`)."""
    path = Path(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo(member_name), data)
    return path


def make_tar_with_member(path: Path | str, member_name: str, data: bytes = b"x") -> Path:
    """A tar with one regular-file member named exactly `member_name`."""
    path = Path(path)
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo(member_name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def make_tar_with_symlink(
    path: Path | str, *, link_name: str = "model.gguf", target: str = "/etc/passwd"
) -> Path:
    """A tar whose member `link_name` is a symbolic link to `target`."""
    path = Path(path)
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo(link_name)
        info.type = tarfile.SYMTYPE
        info.linkname = target
        archive.addfile(info)
    return path


def make_zip_bomb(path: Path | str, *, uncompressed_size: int) -> Path:
    """A ZIP whose one member inflates from a few kB to `uncompressed_size` bytes of zeros."""
    path = Path(path)
    block = bytes(1024 * 1024)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("model.gguf", "w", force_zip64=True) as member,
    ):
        member.write(b"GGUF")
        remaining = uncompressed_size - 4
        while remaining > 0:
            piece = block[: min(len(block), remaining)]
            member.write(piece)
            remaining -= len(piece)
    return path


def make_tar_bomb(path: Path | str, *, uncompressed_size: int) -> Path:
    """A tar.gz whose one member is `uncompressed_size` bytes of zeros (tiny once compressed)."""
    path = Path(path)

    class _Zeros(io.RawIOBase):
        def __init__(self, size: int) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            count = min(len(buffer), self.left)
            buffer[:count] = bytes(count)
            self.left -= count
            return count

    with tarfile.open(path, "w:gz", compresslevel=9) as archive:
        info = tarfile.TarInfo("model.gguf")
        info.size = uncompressed_size
        archive.addfile(info, io.BufferedReader(_Zeros(uncompressed_size)))
    return path
