"""The `ollama` command line of the stand-in: `serve`, `--version` / `-v`, `--help`."""

import json
import os
import sys
import urllib.error
import urllib.request

from .config import VERSION, ConfigError, env_value, join_host_port, load_settings, parse_host
from .server import serve

USAGE = """Large language model runner (Ollama stand-in)

Usage:
  ollama [flags]
  ollama [command]

Available Commands:
  serve       Start ollama

Flags:
  -h, --help      help for ollama
  -v, --version   Show version information
"""


def main(argv: list[str]) -> int:
    """Run one command; returns the process exit status."""
    command = argv[0] if argv else "--help"
    if command in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0
    if command in ("-v", "--version"):
        return version()
    if command == "serve":
        try:
            settings = load_settings()
        except ConfigError as error:
            print(f"Error: {error}", file=sys.stderr)
            return 1
        return serve(settings)
    print(f'Error: unknown command "{command}" for "ollama"', file=sys.stderr)
    print("Run 'ollama --help' for usage.", file=sys.stderr)
    return 1


def version() -> int:
    """Print the server's version if one answers on `OLLAMA_HOST`, else warn (as Ollama does)."""
    host, port = parse_host(env_value(os.environ, "OLLAMA_HOST"))
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    url = f"http://{join_host_port(host, port)}/api/version"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            server_version = json.load(response).get("version", "")
    except (OSError, ValueError, urllib.error.URLError):
        print("Warning: could not connect to a running Ollama instance")
        print(f"Warning: client version is {VERSION}")
        return 0
    print(f"ollama version is {server_version}")
    if server_version != VERSION:
        print(f"Warning: client version is {VERSION}")
    return 0
