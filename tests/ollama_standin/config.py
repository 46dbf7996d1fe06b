"""Settings read once from the environment at start: Ollama's own variables and the test knobs.

Ollama's variables: `OLLAMA_HOST`, `OLLAMA_MODELS`, `OLLAMA_KEEP_ALIVE`, `OLLAMA_NOPRUNE`,
`OLLAMA_MAX_LOADED_MODELS`. Test knobs (all optional):

* `STANDIN_TOKEN_DELAY` seconds slept before each generated token (default 0);
* `STANDIN_RESPONSE_TOKENS` tokens in a reply (default 8);
* `STANDIN_FAIL_AFTER` N: after N streamed tokens the reply ends with an `{"error"}` line;
* `STANDIN_CRASH_AFTER` N: after N tokens the whole process exits with status 2;
* `STANDIN_START_DELAY` seconds between binding the port and answering requests;
* `STANDIN_LOAD_DELAY` seconds a model load takes (default 0.02);
* `STANDIN_CREATE_DELAY` / `STANDIN_PULL_DELAY` seconds between create / pull progress lines;
* `STANDIN_PRELOAD` comma-separated catalogue models present at start, as if pulled.
"""

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .durations import parse_env_keep_alive

VERSION = "0.33.0"
DEFAULT_PORT = 11434

Number = TypeVar("Number", int, float)


class ConfigError(ValueError):
    """An environment value the stand-in cannot start with; the message says what to fix."""


@dataclass(frozen=True)
class Knobs:
    """Test-only behaviour switches (see the module docstring)."""

    token_delay: float = 0.0
    response_tokens: int = 8
    fail_after: int | None = None
    crash_after: int | None = None
    start_delay: float = 0.0
    load_delay: float = 0.02
    create_delay: float = 0.0
    pull_delay: float = 0.0
    preload: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to start."""

    host: str
    port: int
    models_dir: Path
    keep_alive_ns: int
    max_loaded_models: int
    prune: bool
    knobs: Knobs

    @property
    def listen_address(self) -> str:
        """`host:port` as Go's `net.JoinHostPort` writes it (IPv6 in brackets)."""
        return join_host_port(self.host, self.port)


def env_value(environ: Mapping[str, str], key: str) -> str:
    """Ollama's `envconfig.Var`: the value with whitespace and surrounding quotes trimmed."""
    return environ.get(key, "").strip().strip("\"'")


def parse_host(raw: str) -> tuple[str, int]:
    """The listen host and port from `OLLAMA_HOST`, following Ollama's `envconfig.Host`.

    No scheme means http with port 11434; an explicit `http://` defaults to 80 and `https://`
    to 443; `:1234` listens on all interfaces; an invalid port falls back to the default.
    """
    default_port = str(DEFAULT_PORT)
    scheme, separator, hostport = raw.partition("://")
    if not separator:
        hostport = raw
        if raw == "ollama.com":
            hostport = "ollama.com:443"
    elif scheme == "http":
        default_port = "80"
    elif scheme == "https":
        default_port = "443"
    hostport = hostport.split("/", 1)[0]
    try:
        host, port = split_host_port(hostport)
    except ValueError:
        host, port = "127.0.0.1", default_port
        bare = hostport.strip("[]")
        if _is_ip(bare):
            host = str(ipaddress.ip_address(bare))
        elif hostport:
            host = hostport
    if not port.isdigit() or int(port) > 65535:
        port = default_port
    return host, int(port)


def split_host_port(hostport: str) -> tuple[str, str]:
    """Go's `net.SplitHostPort`; raises `ValueError` where Go returns an error."""
    colon = hostport.rfind(":")
    if colon < 0:
        raise ValueError("missing port in address")
    host_start = port_start = 0
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or end + 1 != colon:
            raise ValueError("missing port in address")
        host, host_start, port_start = hostport[1:end], 1, end + 1
    else:
        host = hostport[:colon]
        if ":" in host:
            raise ValueError("too many colons in address")
    if "[" in hostport[host_start:] or "]" in hostport[port_start:]:
        raise ValueError("unexpected bracket in address")
    return host, hostport[colon + 1 :]


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; raises `ConfigError` naming the variable to fix."""
    environ = os.environ if environ is None else environ
    host, port = parse_host(env_value(environ, "OLLAMA_HOST"))
    models = env_value(environ, "OLLAMA_MODELS") or str(Path.home() / ".ollama" / "models")
    keep_alive = env_value(environ, "OLLAMA_KEEP_ALIVE")
    max_loaded = _number(environ, "OLLAMA_MAX_LOADED_MODELS", int, 0)
    return Settings(
        host=host,
        port=port,
        models_dir=Path(models),
        keep_alive_ns=parse_env_keep_alive(keep_alive or "5m"),
        max_loaded_models=max_loaded if max_loaded > 0 else 3,
        prune=env_value(environ, "OLLAMA_NOPRUNE").lower() not in ("1", "true"),
        knobs=_load_knobs(environ),
    )


def _load_knobs(environ: Mapping[str, str]) -> Knobs:
    defaults = Knobs()
    preload = env_value(environ, "STANDIN_PRELOAD")
    return Knobs(
        token_delay=_number(environ, "STANDIN_TOKEN_DELAY", float, defaults.token_delay),
        response_tokens=_number(environ, "STANDIN_RESPONSE_TOKENS", int, defaults.response_tokens),
        fail_after=_optional_count(environ, "STANDIN_FAIL_AFTER"),
        crash_after=_optional_count(environ, "STANDIN_CRASH_AFTER"),
        start_delay=_number(environ, "STANDIN_START_DELAY", float, defaults.start_delay),
        load_delay=_number(environ, "STANDIN_LOAD_DELAY", float, defaults.load_delay),
        create_delay=_number(environ, "STANDIN_CREATE_DELAY", float, defaults.create_delay),
        pull_delay=_number(environ, "STANDIN_PULL_DELAY", float, defaults.pull_delay),
        preload=tuple(name.strip() for name in preload.split(",") if name.strip()),
    )


def _number(environ: Mapping[str, str], key: str, kind: type[Number], default: Number) -> Number:
    text = env_value(environ, key)
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        unit = "a whole number" if kind is int else "a number of seconds"
        raise ConfigError(f"{key}={text!r} is not {unit}") from None
    if value < 0:
        raise ConfigError(f"{key}={text!r} must not be negative")
    return value


def _optional_count(environ: Mapping[str, str], key: str) -> int | None:
    if not env_value(environ, key):
        return None
    return _number(environ, key, int, 0)
