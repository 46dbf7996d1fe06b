"""Model names as Ollama parses them: `[host/][namespace/]model[:tag]` with defaults merged in."""

from dataclasses import dataclass

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

_MISSING = "!"  # what Go puts in for an empty side of a separator; never a valid part
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_MAX_LENGTH = {"host": 350, "namespace": 80, "model": 80, "tag": 80}


@dataclass(frozen=True)
class ModelName:
    """A fully merged model name; `is_valid` says whether every part passes Ollama's rules."""

    host: str
    namespace: str
    model: str
    tag: str

    @classmethod
    def parse(cls, text: str) -> "ModelName":
        """Parse like `model.ParseName`: missing parts take the defaults."""
        host, namespace, model, tag = _parse_bare(text)
        return cls(
            host=host or DEFAULT_HOST,
            namespace=namespace or DEFAULT_NAMESPACE,
            model=model,
            tag=tag or DEFAULT_TAG,
        )

    @property
    def parts(self) -> tuple[str, str, str, str]:
        return (self.host, self.namespace, self.model, self.tag)

    def is_valid(self) -> bool:
        """Every part has a valid length and characters (`Name.IsFullyQualified`)."""
        kinds = ("host", "namespace", "model", "tag")
        return all(_is_valid_part(kind, part) for kind, part in zip(kinds, self.parts, strict=True))

    @property
    def short(self) -> str:
        """`DisplayShortest`: `x:latest`, `user/x:tag`, or `host/ns/x:tag`."""
        prefix = ""
        if self.host.casefold() != DEFAULT_HOST:
            prefix = f"{self.host}/{self.namespace}/"
        elif self.namespace.casefold() != DEFAULT_NAMESPACE:
            prefix = f"{self.namespace}/"
        return f"{prefix}{self.model}:{self.tag}"

    def __str__(self) -> str:
        """The full form Ollama prints in some errors: `registry.ollama.ai/library/x:latest`."""
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    def folded(self) -> tuple[str, ...]:
        """A case-insensitive identity, for lookups (`Foo` finds `foo:latest`)."""
        return tuple(part.casefold() for part in self.parts)


def _parse_bare(text: str) -> tuple[str, str, str, str]:
    """`ParseNameBare`: split tag at the last `:` after the last `/`, then parts on `/`."""
    tag = ""
    if text.rfind(":") > text.rfind("/"):
        text, tag = _cut_last(text, ":")
    if "/" not in text:
        return "", "", text, tag
    text, model = _cut_last(text, "/")
    if "/" not in text:
        return "", text, model, tag
    text, namespace = _cut_last(text, "/")
    host = text.split("://", 1)[1] if "://" in text else text
    return host, namespace, model, tag


def _cut_last(text: str, separator: str) -> tuple[str, str]:
    before, _, after = text.rpartition(separator)
    return before or _MISSING, after or _MISSING


def _is_valid_part(kind: str, part: str) -> bool:
    if not 1 <= len(part) <= _MAX_LENGTH[kind] or part[0] not in _WORD:
        return False
    allowed = _WORD | {"-", "_"}
    if kind != "namespace":
        allowed |= {"."}
    if kind == "host":
        allowed |= {":"}
    return all(char in allowed for char in part[1:])


class ModelRefError(ValueError):
    """Why a client's model string cannot be used: `required`, `conflict` or `invalid`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ModelRef:
    """A client's model string split into the name and an explicit `:local`/`:cloud` source."""

    original: str
    base: str
    name: ModelName
    source: str  # "", "local" or "cloud"


def parse_model_ref(raw: str) -> ModelRef:
    """`parseAndValidateModelRef` as used by chat, generate, embed and show.

    Surrounding whitespace is dropped; raises `ModelRefError` when the name is empty, has both
    source suffixes, or is not a valid model name.
    """
    original = raw.strip()
    if not original:
        raise ModelRefError("required", "model is required")
    base, source = _split_source(original)
    if source and _split_source(base)[1]:
        raise ModelRefError("conflict", f'use either :local or :cloud, not both: "{original}"')
    name = ModelName.parse(base)
    if not name.is_valid():
        raise ModelRefError("invalid", "invalid model name")
    return ModelRef(original=original, base=base, name=name, source=source)


def parse_pull_ref(raw: str) -> ModelRef:
    """`parseNormalizePullModelRef` as used by pull and delete: `x:cloud` names a cloud stub."""
    ref = parse_model_ref(raw)
    if ref.source != "cloud":
        return ref
    has_tag = ref.base.rfind(":") > ref.base.rfind("/")
    base = ref.base + ("-cloud" if has_tag else ":cloud")
    name = ModelName.parse(base)
    if not name.is_valid():
        raise ModelRefError("invalid", "invalid model name")
    return ModelRef(original=ref.original, base=base, name=name, source="cloud")


def _split_source(text: str) -> tuple[str, str]:
    """Strip a trailing `:cloud`/`:local` selector, or a `-cloud` tag suffix."""
    index = text.rfind(":")
    if index < 0:
        return text, ""
    suffix = text[index + 1 :].strip()
    if suffix.lower() in ("cloud", "local"):
        return text[:index], suffix.lower()
    if "/" not in suffix and suffix.lower().endswith("-cloud"):
        return text[: index + 1] + suffix[: -len("-cloud")], "cloud"
    return text, ""
