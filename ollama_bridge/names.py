"""Ollama model names: validity and canonical form, as Ollama itself parses them."""

import re

_PART = {
    "host": re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}$"),
    "namespace": re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,79}$"),
    "model": re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$"),
    "tag": re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$"),
}
DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"


def split_name(name: str) -> tuple[str, str, str, str] | None:
    """(host, namespace, model, tag) of `name` with Ollama's defaults, or None if it is invalid."""
    if not name or not name.isascii() or name.count("/") > 2:
        return None
    rest, tag = name, DEFAULT_TAG
    colon, slash = name.rfind(":"), name.rfind("/")
    if colon > slash:
        rest, tag = name[:colon], name[colon + 1 :]
    parts = rest.split("/")
    model = parts[-1]
    namespace = parts[-2] if len(parts) >= 2 else DEFAULT_NAMESPACE
    host = parts[-3] if len(parts) == 3 else DEFAULT_HOST
    checks = {"host": host, "namespace": namespace, "model": model, "tag": tag}
    if not all(_PART[kind].match(value) for kind, value in checks.items()):
        return None
    return host, namespace, model, tag


def is_valid_name(name: str) -> bool:
    """True when Ollama would accept `name` as a model name."""
    return split_name(name) is not None


def canonical_name(name: str) -> str:
    """The short display form Ollama lists (`x` → `x:latest`, default host/namespace dropped).

    Raises ValueError for an invalid name.
    """
    parts = split_name(name)
    if parts is None:
        raise ValueError(f"invalid model name: {name!r}")
    host, namespace, model, tag = parts
    prefix = ""
    if host != DEFAULT_HOST:
        prefix = f"{host}/{namespace}/"
    elif namespace != DEFAULT_NAMESPACE:
        prefix = f"{namespace}/"
    return f"{prefix}{model}:{tag}"


def same_model(a: str, b: str) -> bool:
    """True when two names denote the same Ollama model (tag defaulted, case-insensitive)."""
    try:
        return canonical_name(a).lower() == canonical_name(b).lower()
    except ValueError:
        return False


def make_valid_name(raw: str) -> str:
    """A valid Ollama model name from a person's or a file's (`My Model.gguf` → `my-model`).

    Raises ValueError when `raw` holds nothing Ollama accepts in a name (`名前` has no such
    character), rather than inventing a name the person never chose.
    """
    base = raw.strip()
    for suffix in (".gguf", ".zip", ".tar.gz", ".tgz", ".tar"):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
            break
    model, _, tag = base.partition(":")
    model = re.sub(r"[^A-Za-z0-9_.-]+", "-", model).strip("-.").lower()[:80]
    if not model:
        raise ValueError(f"{raw!r} has no letter or digit Ollama accepts in a model name")
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "-", tag).strip("-.").lower()[:80]
    if not _PART["model"].match(model):
        model = f"m{model}"[:80]
    return f"{model}:{tag}" if tag else model
