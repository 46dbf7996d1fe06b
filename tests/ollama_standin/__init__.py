"""A faithful stand-in for the Ollama server, used by the test suite and the benchmarks.

It speaks Ollama's HTTP wire contract (native `/api/*` and the OpenAI-compatible `/v1/*` layer)
with the standard library only, generates deterministic text and embeddings, and keeps a real
on-disk model store (`blobs/` and `manifests/`) under `OLLAMA_MODELS`.
"""
