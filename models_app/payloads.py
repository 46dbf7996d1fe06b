"""The JSON shapes of models: the UI's model entries (the seed's, grown up) and OpenAI's model."""

from datetime import datetime

from models_app.models import Model
from ollama_bridge.names import split_name

UPLOADED_OWNER = "premrunner"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _epoch(text: str | None) -> int:
    """Unix seconds of Ollama's RFC 3339 time (nanoseconds allowed); 0 when unreadable."""
    try:
        return int(datetime.fromisoformat(text or "").timestamp())
    except ValueError:
        return 0


def model_item(model: Model) -> dict:
    """An uploaded model as the UI lists it, whatever its status."""
    return {
        "id": str(model.pk),
        "name": model.name,
        "alias": model.alias,
        "size": model.size,
        "format": model.format,
        "status": model.status,
        "progress": round(model.progress, 4),
        "statusMessage": model.status_message,
        "error": model.error,
        "downloaded": model.downloaded,
        "source": "uploaded",
        "fileName": model.source_filename,
        "sha256": model.sha256,
        "baseModel": model.base_model,
        "createdAt": _iso(model.created_at),
        "updatedAt": _iso(model.updated_at),
        "importedAt": _iso(model.imported_at),
    }


def ollama_item(tag: dict) -> dict:
    """A model that is in Ollama but was not uploaded here, in the same shape."""
    details = tag.get("details") or {}
    return {
        "id": tag["name"],
        "name": tag["name"],
        "alias": tag["name"],
        "size": tag.get("size"),
        "format": details.get("format", ""),
        "status": "ready",
        "progress": 1.0,
        "statusMessage": "",
        "error": "",
        "downloaded": True,
        "source": "ollama",
        "fileName": "",
        "sha256": tag.get("digest", ""),
        "baseModel": "",
        "createdAt": tag.get("modified_at"),
        "updatedAt": tag.get("modified_at"),
        "importedAt": None,
        "details": details,
    }


def openai_model(name: str, *, uploaded: Model | None, tag: dict | None) -> dict:
    """OpenAI's model object for a callable model."""
    if uploaded is not None:
        created, owned_by = int(uploaded.created_at.timestamp()), UPLOADED_OWNER
    else:
        parts = split_name(name)
        created, owned_by = _epoch((tag or {}).get("modified_at")), parts[1] if parts else ""
    return {"id": name, "object": "model", "created": created, "owned_by": owned_by}
