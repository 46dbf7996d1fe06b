"""The route table: Ollama's paths and methods, plus the stand-in's `/__standin/` introspection."""

from . import api_inference, api_models, api_openai
from .app import Standin
from .httpio import Exchange, Route


def stats(ex: Exchange, app: Standin) -> None:
    """`GET /__standin/stats`: request and generation counters (test-only, not Ollama's)."""
    ex.json(200, app.stats.snapshot())


ROUTES = (
    Route("HEAD", "/", api_models.root),
    Route("GET", "/", api_models.root),
    Route("HEAD", "/api/version", api_models.version),
    Route("GET", "/api/version", api_models.version),
    Route("GET", "/api/status", api_models.status),
    Route("POST", "/api/pull", api_models.pull),
    Route("HEAD", "/api/tags", api_models.tags),
    Route("GET", "/api/tags", api_models.tags),
    Route("POST", "/api/show", api_models.show),
    Route("DELETE", "/api/delete", api_models.delete),
    Route("POST", "/api/create", api_models.create_model),
    Route("POST", "/api/blobs/:digest", api_models.blob_upload),
    Route("HEAD", "/api/blobs/:digest", api_models.blob_head),
    Route("POST", "/api/copy", api_models.copy),
    Route("GET", "/api/ps", api_models.ps),
    Route("POST", "/api/generate", api_inference.generate),
    Route("POST", "/api/chat", api_inference.chat),
    Route("POST", "/api/embed", api_inference.embed),
    Route("POST", "/api/embeddings", api_inference.embeddings),
    Route("POST", "/v1/chat/completions", api_openai.chat_completions),
    Route("POST", "/v1/completions", api_openai.completions),
    Route("POST", "/v1/embeddings", api_openai.embeddings),
    Route("GET", "/v1/models", api_openai.models),
    Route("GET", "/v1/models/:model", api_openai.model),
    Route("GET", "/__standin/stats", stats),
)

INTROSPECTION_PREFIX = "/__standin/"
