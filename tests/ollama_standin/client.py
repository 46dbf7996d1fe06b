"""Small HTTP helpers for the stand-in's own tests."""

import json
from typing import Any

import requests

from .launcher import StandinServer

PRELOADED = "tiny-llama,nomic-embed-text,qwen3:0.6b"
CHAT_MODEL = "tiny-llama"
EMBED_MODEL = "nomic-embed-text"
THINKING_MODEL = "qwen3:0.6b"


def ndjson(response: requests.Response) -> list[dict[str, Any]]:
    """Every line of an NDJSON body, decoded."""
    return [json.loads(line) for line in response.iter_lines() if line]


def post(server: StandinServer, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
    """POST a JSON body (or raw `data=`) to the stand-in."""
    if body is not None:
        kwargs["json"] = body
    kwargs.setdefault("timeout", 10)
    return requests.post(f"{server.url}{path}", **kwargs)
