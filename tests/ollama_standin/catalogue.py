"""The registry the stand-in pretends to pull from: a few small models with realistic metadata.

Pulling writes a small, valid GGUF file (metadata only, no tensors) as the model layer, plus the
template, params and license layers and a `ConfigV2` config blob, so the store looks exactly like
one filled by a real `ollama pull`.
"""

from dataclasses import dataclass, field
from typing import Any

from . import gguf, store, wire
from .formats import human_number
from .names import DEFAULT_HOST, DEFAULT_NAMESPACE, ModelName

_LLAMA_TEMPLATE = """{{- if .Messages }}
{{- if or .System .Tools }}<|start_header_id|>system<|end_header_id|>
{{- if .System }}

{{ .System }}
{{- end }}
{{- if .Tools }}

You have access to the following functions:
{{ range .Tools }}{{ . }}
{{ end }}
{{- end }}<|eot_id|>
{{- end }}
{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>

{{ .Content }}<|eot_id|>
{{- end }}<|start_header_id|>assistant<|end_header_id|>

{{ else }}{{ .Prompt }}{{ end }}"""

_GEMMA_TEMPLATE = """{{- range $i, $_ := .Messages }}
{{- if or (eq .Role "user") (eq .Role "system") }}<start_of_turn>user
{{ .Content }}<end_of_turn>
{{ else if eq .Role "assistant" }}<start_of_turn>model
{{ .Content }}<end_of_turn>
{{ end }}
{{- end }}<start_of_turn>model
"""

_QWEN3_TEMPLATE = """{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}
{{- range .Messages }}<|im_start|>{{ .Role }}
{{ if .Thinking }}<think>{{ .Thinking }}</think>{{ end }}{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
{{ if .IsThinkSet }}{{ if not .Think }}<think>

</think>

{{ end }}{{ end }}"""

_EMBED_TEMPLATE = "{{ .Prompt }}"


@dataclass(frozen=True)
class CatalogueEntry:
    """One pullable model: what its GGUF header, layers and config will say."""

    name: str
    architecture: str
    parameter_count: int
    file_type: str
    context_length: int
    embedding_length: int
    capabilities: tuple[str, ...]
    template: str
    params: dict[str, Any] = field(default_factory=dict)
    license: str = ""

    def metadata(self) -> dict[str, Any]:
        """The key/values of the synthetic model GGUF."""
        arch = self.architecture
        metadata: dict[str, Any] = {
            "general.architecture": arch,
            "general.name": self.name,
            "general.parameter_count": self.parameter_count,
            "general.file_type": gguf.file_type_code(self.file_type),
            "general.quantization_version": 2,
            f"{arch}.context_length": self.context_length,
            f"{arch}.embedding_length": self.embedding_length,
            f"{arch}.block_count": 2,
            "tokenizer.ggml.model": "gpt2" if arch != "nomic-bert" else "bert",
            "tokenizer.ggml.bos_token_id": 1,
            "tokenizer.ggml.eos_token_id": 2,
        }
        if "embedding" in self.capabilities:
            metadata[f"{arch}.pooling_type"] = 1
        return metadata

    def config(self) -> dict[str, Any]:
        """The `ConfigV2` blob, with the capabilities the stand-in enforces."""
        return {
            "model_format": "gguf",
            "model_family": self.architecture,
            "model_families": [self.architecture],
            "model_type": human_number(self.parameter_count),
            "file_type": self.file_type,
            "capabilities": list(self.capabilities),
            "architecture": "amd64",
            "os": "linux",
        }

    def layers(self) -> list[tuple[str, bytes]]:
        """(media type, content) of every layer, in manifest order."""
        layers = [
            (store.MODEL, gguf.build(self.metadata())),
            (store.TEMPLATE, self.template.encode()),
        ]
        if self.license:
            layers.append((store.LICENSE, self.license.encode()))
        if self.params:
            layers.append((store.PARAMS, wire.encode_bytes(self.params, newline=True)))
        return layers


_ENTRIES = (
    CatalogueEntry(
        name="gemma3:270m",
        architecture="gemma3",
        parameter_count=268_098_176,
        file_type="Q8_0",
        context_length=32768,
        embedding_length=640,
        capabilities=("completion",),
        template=_GEMMA_TEMPLATE,
        params={"stop": ["<end_of_turn>"], "temperature": 1, "top_k": 64, "top_p": 0.95},
        license="Gemma Terms of Use",
    ),
    CatalogueEntry(
        name="tiny-llama:latest",
        architecture="llama",
        parameter_count=1_100_048_384,
        file_type="Q4_K_M",
        context_length=2048,
        embedding_length=2048,
        capabilities=("completion", "tools"),
        template=_LLAMA_TEMPLATE,
        params={"stop": ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]},
        license="Apache License 2.0",
    ),
    CatalogueEntry(
        name="qwen3:0.6b",
        architecture="qwen3",
        parameter_count=751_632_384,
        file_type="Q4_K_M",
        context_length=40960,
        embedding_length=1024,
        capabilities=("completion", "tools", "thinking"),
        template=_QWEN3_TEMPLATE,
        params={
            "repeat_penalty": 1,
            "stop": ["<|im_start|>", "<|im_end|>"],
            "temperature": 0.6,
            "top_k": 20,
            "top_p": 0.95,
        },
        license="Apache License 2.0",
    ),
    CatalogueEntry(
        name="nomic-embed-text:latest",
        architecture="nomic-bert",
        parameter_count=137_000_000,
        file_type="F16",
        context_length=2048,
        embedding_length=768,
        capabilities=("embedding",),
        template=_EMBED_TEMPLATE,
        params={"num_ctx": 8192},
        license="Apache License 2.0",
    ),
)

CATALOGUE: dict[str, CatalogueEntry] = {entry.name: entry for entry in _ENTRIES}


def find(name: ModelName) -> CatalogueEntry | None:
    """The catalogue entry for a name (`tiny-llama` ≡ `tiny-llama:latest`, any case)."""
    if name.host.casefold() != DEFAULT_HOST or name.namespace.casefold() != DEFAULT_NAMESPACE:
        return None
    return CATALOGUE.get(f"{name.model}:{name.tag}".casefold())
