"""The one HTTP client for Ollama's API: nothing else in the project opens a connection to Ollama.

Every call sets timeouts (connect, and between chunks of a stream), logs one INFO line (what,
model, duration, outcome) and turns every failure into a typed error from `ollama_bridge.errors`.
`OllamaClient` is synchronous (requests) for services, workers and commands;
`AsyncOllamaClient` (httpx) serves the ASGI views so that tokens reach clients as they arrive.
"""

import asyncio
import hashlib
import json
import logging
import re
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, NoReturn

import httpx
import requests
import urllib3
from django.conf import settings

from ollama_bridge.errors import (
    ModelNotFound,
    OllamaBadRequest,
    OllamaError,
    OllamaUnavailable,
    OllamaUpstreamError,
)

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
# (connect, read) of the quick liveness and status checks.
PROBE_TIMEOUT = (CONNECT_TIMEOUT / 2, 5.0)
HASH_BLOCK_SIZE = 1024 * 1024
KeepAlive = str | int | float | None


def _error_message(body: bytes | str) -> str:
    """Ollama's `{"error": ...}` text, or the raw body when it is not JSON."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else body
    try:
        payload = json.loads(text)
    except ValueError:
        return text.strip() or "no details given"
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        return payload["error"]
    return text.strip()


def _raise_for_status(status: int, body: bytes | str, *, path: str) -> NoReturn:
    """Raise the typed error for an Ollama answer with HTTP status >= 400."""
    message = _error_message(body)
    if status == 404 and message.startswith("404 page not found"):
        raise OllamaUpstreamError(
            f"This Ollama does not offer {path}; it may be too old.", status_code=status
        )
    if status == 404:
        raise ModelNotFound(message, status_code=status)
    if status == 400:
        raise OllamaBadRequest(message, status_code=status)
    raise OllamaUpstreamError(f"Ollama failed ({status}): {message}", status_code=status)


def _checked_line(raw: bytes | str) -> dict | None:
    """One decoded NDJSON line; raises OllamaUpstreamError for an `{"error"}` line."""
    if not raw or not raw.strip():
        return None
    try:
        line = json.loads(raw)
    except ValueError as exc:
        raise OllamaUpstreamError(f"Ollama sent a line that is not JSON: {raw[:200]!r}") from exc
    if isinstance(line, dict) and line.get("error"):
        raise OllamaUpstreamError(str(line["error"]))
    return line


def _unavailable(base_url: str, exc: Exception) -> OllamaUnavailable:
    if isinstance(exc, requests.Timeout | httpx.TimeoutException):
        return OllamaUnavailable(f"Ollama at {base_url} did not answer in time.")
    # requests nests the cause deep in its text; the OS's own words are what a person needs.
    os_reason = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
    reason = os_reason.group(1).strip() if os_reason else type(exc).__name__
    return OllamaUnavailable(
        f"Ollama is not reachable at {base_url} ({reason}). Check GET /api/ollama/status."
    )


def _broken_stream(
    base_url: str, path: str, exc: Exception
) -> OllamaUnavailable | OllamaUpstreamError:
    """The typed error for a stream that failed after its headers: a read timeout is Ollama not
    answering in time; anything else is an answer that broke off."""
    # requests reports a read timeout between chunks as a ConnectionError around urllib3's.
    if isinstance(exc, requests.Timeout) or any(
        isinstance(arg, urllib3.exceptions.ReadTimeoutError) for arg in exc.args
    ):
        return OllamaUnavailable(f"Ollama at {base_url} did not answer in time.")
    return OllamaUpstreamError(f"Ollama's answer to {path} broke off: {exc}")


def _load_payload(model: str, keep_alive: KeepAlive) -> dict:
    payload: dict[str, Any] = {"model": model, "messages": []}
    if keep_alive is not None:
        payload["keep_alive"] = keep_alive
    return payload


def _embed_payload(
    model: str,
    inputs: str | list[str],
    dimensions: int | None,
    truncate: bool,
    keep_alive: KeepAlive,
) -> dict:
    payload: dict[str, Any] = {"model": model, "input": inputs, "truncate": truncate}
    if dimensions is not None:
        payload["dimensions"] = dimensions
    if keep_alive is not None:
        payload["keep_alive"] = keep_alive
    return payload


def sha256_of_file(path: Path) -> str:
    """`sha256:<hex>` of a file, read in bounded blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(HASH_BLOCK_SIZE):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


class _ProgressReader:
    """A file body for requests that reports bytes sent and has a length (no chunked encoding)."""

    def __init__(self, path: Path, on_progress: Callable[[int, int], None] | None) -> None:
        self._handle = path.open("rb")
        self.len = path.stat().st_size
        self._sent = 0
        self._on_progress = on_progress

    def read(self, size: int = -1) -> bytes:
        block = self._handle.read(HASH_BLOCK_SIZE if size is None or size < 0 else size)
        self._sent += len(block)
        if self._on_progress and block:
            self._on_progress(self._sent, self.len)
        return block

    def close(self) -> None:
        self._handle.close()


class OllamaClient:
    """Synchronous client for Ollama's native API (thread-safe; share one per base URL)."""

    def __init__(self, base_url: str, *, read_timeout: float | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (CONNECT_TIMEOUT, read_timeout or settings.OLLAMA_READ_TIMEOUT)
        self._http = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _call(
        self,
        method: str,
        path: str,
        *,
        model: str | None = None,
        log_level: int = logging.INFO,
        **kwargs,
    ):
        """Send one request; yield the (possibly streaming) response; log and type every failure."""
        started = time.monotonic()
        outcome = "ok"
        kwargs.setdefault("timeout", self.timeout)
        try:
            try:
                response = self._http.request(method, f"{self.base_url}{path}", **kwargs)
            except requests.RequestException as exc:
                raise _unavailable(self.base_url, exc) from exc
            with response:
                if response.status_code >= 400:
                    _raise_for_status(response.status_code, response.content, path=path)
                try:
                    yield response
                except (requests.RequestException, OSError) as exc:
                    raise _broken_stream(self.base_url, path, exc) from exc
        except GeneratorExit:
            outcome = "closed"
            raise
        except Exception as exc:
            outcome = type(exc).__name__
            raise
        finally:
            logger.log(
                log_level,
                "ollama %s %s model=%s %.0fms %s",
                method,
                path,
                model or "-",
                (time.monotonic() - started) * 1000,
                outcome,
            )

    def _json(self, method: str, path: str, *, model: str | None = None, **kwargs) -> Any:
        with self._call(method, path, model=model, **kwargs) as response:
            return response.json() if response.content else {}

    def _lines(self, path: str, payload: dict) -> Iterator[dict]:
        with self._call("POST", path, model=payload.get("model"), json=payload, stream=True) as r:
            for raw in r.iter_lines(chunk_size=64 * 1024):
                line = _checked_line(raw)
                if line is not None:
                    yield line

    # -- server ---------------------------------------------------------------------------

    def heartbeat(self) -> bool:
        """True when Ollama answers `HEAD /`; never raises."""
        try:
            response = self._http.head(f"{self.base_url}/", timeout=PROBE_TIMEOUT)
        except requests.RequestException:
            return False
        return response.ok

    def probe(self) -> dict | None:
        """`{"version", "models_loaded"}` (names) when Ollama answers, else None; never raises.

        Status watchers call it every few seconds, so its calls log at DEBUG, not INFO.
        """
        quiet = {"log_level": logging.DEBUG, "timeout": PROBE_TIMEOUT}
        try:
            version = self._json("GET", "/api/version", **quiet)["version"]
            running = self._json("GET", "/api/ps", **quiet).get("models") or []
        except (OllamaError, KeyError, TypeError, ValueError):
            return None
        return {"version": version, "models_loaded": [model["name"] for model in running]}

    def version(self) -> str:
        """Ollama's version string (e.g. `0.33.0`)."""
        return self._json("GET", "/api/version")["version"]

    def list_models(self) -> list[dict]:
        """Models in Ollama's store (`/api/tags`), newest first."""
        return self._json("GET", "/api/tags").get("models") or []

    def running_models(self) -> list[dict]:
        """Models loaded in memory now (`/api/ps`)."""
        return self._json("GET", "/api/ps").get("models") or []

    def show(self, model: str) -> dict:
        """Details of one model; raises ModelNotFound."""
        return self._json("POST", "/api/show", model=model, json={"model": model})

    # -- blobs and models -----------------------------------------------------------------

    def blob_exists(self, digest: str) -> bool:
        """True when Ollama already stores the blob `sha256:<hex>`."""
        try:
            with self._call("HEAD", f"/api/blobs/{digest}"):
                return True
        except ModelNotFound:  # HEAD's 404 has no body to tell it from an unknown model
            return False

    def push_blob(
        self,
        path: Path,
        digest: str | None = None,
        *,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> str:
        """Upload a file as a blob, streamed from disk; skip it when Ollama has it.

        Takes the file's `sha256:<hex>` when the caller knows it (computed otherwise).
        Returns the digest; raises OllamaBadRequest when Ollama's hash differs.
        """
        path = Path(path)
        digest = digest or sha256_of_file(path)
        if self.blob_exists(digest):
            if on_progress:
                size = path.stat().st_size
                on_progress(size, size)
            return digest
        body = _ProgressReader(path, on_progress)
        try:
            with self._call(
                "POST",
                f"/api/blobs/{digest}",
                data=body,
                headers={"Content-Length": str(body.len)},
            ):
                return digest
        finally:
            body.close()

    def create_model(
        self,
        name: str,
        *,
        files: dict[str, str] | None = None,
        adapters: dict[str, str] | None = None,
        from_model: str | None = None,
        system: str | None = None,
        template: str | None = None,
        parameters: dict | None = None,
        messages: list[dict] | None = None,
        quantize: str | None = None,
    ) -> Iterator[dict]:
        """Create a model from pushed blobs or another model; yields Ollama's progress lines.

        Raises OllamaBadRequest/OllamaUpstreamError with Ollama's message when creation fails.
        """
        fields = {
            "files": files,
            "adapters": adapters,
            "from": from_model,
            "system": system,
            "template": template,
            "parameters": parameters,
            "messages": messages,
            "quantize": quantize,
        }
        payload = {"model": name, "stream": True}
        payload.update({key: value for key, value in fields.items() if value})
        yield from self._lines("/api/create", payload)

    def delete_model(self, name: str) -> None:
        """Remove a model from Ollama; raises ModelNotFound when it has none of that name."""
        with self._call("DELETE", "/api/delete", model=name, json={"model": name}):
            return

    def pull(self, model: str) -> Iterator[dict]:
        """Pull a model from its registry; yields progress lines."""
        yield from self._lines("/api/pull", {"model": model, "stream": True})

    # -- inference ------------------------------------------------------------------------

    def chat(self, payload: dict) -> dict:
        """One non-streamed `/api/chat` answer for an Ollama chat request body."""
        body = {**payload, "stream": False}
        return self._json("POST", "/api/chat", model=payload.get("model"), json=body)

    def chat_stream(self, payload: dict) -> Iterator[dict]:
        """The native NDJSON lines of a streamed `/api/chat`, as they arrive."""
        yield from self._lines("/api/chat", {**payload, "stream": True})

    def generate(self, payload: dict) -> dict:
        """One non-streamed `/api/generate` answer."""
        body = {**payload, "stream": False}
        return self._json("POST", "/api/generate", model=payload.get("model"), json=body)

    def load_model(self, model: str, keep_alive: KeepAlive = None) -> dict:
        """Load a model into memory (an empty chat); `keep_alive` as Ollama takes it."""
        payload = _load_payload(model, keep_alive)
        return self._json("POST", "/api/chat", model=model, json=payload)

    def unload_model(self, model: str) -> dict:
        """Free a model's memory now (keep_alive 0)."""
        return self.load_model(model, keep_alive=0)

    def embed(
        self,
        model: str,
        inputs: str | list[str],
        *,
        dimensions: int | None = None,
        truncate: bool = True,
        keep_alive: KeepAlive = None,
    ) -> dict:
        """Embeddings of one or several texts (`/api/embed`)."""
        payload = _embed_payload(model, inputs, dimensions, truncate, keep_alive)
        return self._json("POST", "/api/embed", model=model, json=payload)


class AsyncOllamaClient:
    """Asynchronous client for the ASGI views; one per event loop (see `get_async_client`)."""

    def __init__(self, base_url: str, *, read_timeout: float | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(
                connect=CONNECT_TIMEOUT,
                read=read_timeout or settings.OLLAMA_READ_TIMEOUT,
                write=60.0,
                pool=CONNECT_TIMEOUT,
            ),
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=64),
        )

    async def aclose(self) -> None:
        """Close the connections of this client."""
        await self._http.aclose()

    @asynccontextmanager
    async def _call(self, method: str, path: str, *, model: str | None = None, **kwargs):
        """Send one request, yield the streaming response; log and type every failure."""
        started = time.monotonic()
        outcome = "ok"
        try:
            try:
                async with self._http.stream(method, path, **kwargs) as response:
                    if response.status_code >= 400:
                        _raise_for_status(response.status_code, await response.aread(), path=path)
                    yield response
            except httpx.RemoteProtocolError as exc:
                raise OllamaUpstreamError(f"Ollama's answer to {path} broke off: {exc}") from exc
            except httpx.TransportError as exc:
                raise _unavailable(self.base_url, exc) from exc
        except BaseException as exc:
            cancelled = isinstance(exc, GeneratorExit | asyncio.CancelledError)
            outcome = "cancelled" if cancelled else type(exc).__name__
            raise
        finally:
            logger.info(
                "ollama %s %s model=%s %.0fms %s",
                method,
                path,
                model or "-",
                (time.monotonic() - started) * 1000,
                outcome,
            )

    async def _json(self, method: str, path: str, *, model: str | None = None, **kwargs) -> Any:
        async with self._call(method, path, model=model, **kwargs) as response:
            body = await response.aread()
        return json.loads(body) if body else {}

    async def chat(self, payload: dict) -> dict:
        """One non-streamed `/api/chat` answer."""
        body = {**payload, "stream": False}
        return await self._json("POST", "/api/chat", model=payload.get("model"), json=body)

    async def chat_stream(self, payload: dict) -> AsyncIterator[dict]:
        """The native NDJSON lines of a streamed `/api/chat`, as they arrive.

        Closing the generator (or cancelling its task) closes the connection, which makes
        Ollama stop generating.
        """
        body = {**payload, "stream": True}
        async with self._call("POST", "/api/chat", model=payload.get("model"), json=body) as r:
            async for raw in r.aiter_lines():
                line = _checked_line(raw)
                if line is not None:
                    yield line

    async def embed(
        self,
        model: str,
        inputs: str | list[str],
        *,
        dimensions: int | None = None,
        truncate: bool = True,
        keep_alive: KeepAlive = None,
    ) -> dict:
        """Embeddings of one or several texts (`/api/embed`)."""
        payload = _embed_payload(model, inputs, dimensions, truncate, keep_alive)
        return await self._json("POST", "/api/embed", model=model, json=payload)

    async def list_models(self) -> list[dict]:
        """Models in Ollama's store (`/api/tags`)."""
        return (await self._json("GET", "/api/tags")).get("models") or []

    async def running_models(self) -> list[dict]:
        """Models loaded in memory now (`/api/ps`)."""
        return (await self._json("GET", "/api/ps")).get("models") or []

    async def show(self, model: str) -> dict:
        """Details of one model; raises ModelNotFound."""
        return await self._json("POST", "/api/show", model=model, json={"model": model})

    async def load_model(self, model: str, keep_alive: KeepAlive = None) -> dict:
        """Load a model into memory (an empty chat)."""
        payload = _load_payload(model, keep_alive)
        return await self._json("POST", "/api/chat", model=model, json=payload)

    async def unload_model(self, model: str) -> dict:
        """Free a model's memory now (keep_alive 0)."""
        return await self.load_model(model, keep_alive=0)


_clients: dict[str, OllamaClient] = {}
_clients_lock = threading.Lock()
_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AsyncOllamaClient]]"
_async_clients = weakref.WeakKeyDictionary()


def get_client() -> OllamaClient:
    """The shared synchronous client for OLLAMA_HOST."""
    base_url = settings.OLLAMA_HOST
    with _clients_lock:
        if base_url not in _clients:
            _clients[base_url] = OllamaClient(base_url)
        return _clients[base_url]


def get_async_client() -> AsyncOllamaClient:
    """The asynchronous client for OLLAMA_HOST on the running event loop."""
    loop = asyncio.get_running_loop()
    per_loop = _async_clients.setdefault(loop, {})
    base_url = settings.OLLAMA_HOST
    if base_url not in per_loop:
        per_loop[base_url] = AsyncOllamaClient(base_url)
    return per_loop[base_url]
