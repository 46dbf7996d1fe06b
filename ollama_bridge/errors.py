"""Typed failures of talking to Ollama: every client call raises one of these, never raw I/O."""


class OllamaError(Exception):
    """Base class: `message` is for a person; `status_code` is Ollama's HTTP status, if any."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class OllamaUnavailable(OllamaError):
    """Ollama could not be reached (refused, timed out, or dropped the connection)."""


class ModelNotFound(OllamaError):
    """The model named is neither in PremRunner nor in Ollama."""


class OllamaBadRequest(OllamaError):
    """Ollama refused the request as invalid (HTTP 400); the message is Ollama's own."""


class OllamaUpstreamError(OllamaError):
    """Ollama failed while serving the request (HTTP 5xx or an error line mid-stream)."""
