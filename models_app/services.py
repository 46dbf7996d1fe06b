"""Finding models: which Ollama model a request's `model` field means."""

import contextlib
import uuid

from django.conf import settings
from django.db.models import Q

from models_app.models import Model, ModelStatus
from ollama_bridge.errors import ModelNotFound
from premrunner.errors import ApiError


def find_uploaded_model(reference: str) -> Model | None:
    """The uploaded model whose id, Ollama name (tag optional) or alias is `reference`."""
    query = Q(name__iexact=reference) | Q(name__iexact=f"{reference}:latest")
    with contextlib.suppress(ValueError):
        query |= Q(id=uuid.UUID(reference))
    return Model.objects.filter(query).first()


def resolve_model_name(requested: str | None) -> str:
    """The Ollama model name to call for a request's `model` field.

    An uploaded model may be named by id or name; any other name is passed to Ollama as it is
    (Ollama answers 404 for one it does not have). No model given means DEFAULT_MODEL.
    Raises ApiError 400 when no model is given and none is configured, 409 when the uploaded
    model is not ready yet.
    """
    if requested is not None and not isinstance(requested, str):
        raise ApiError("'model' must be a string.", param="model")
    requested = (requested or "").strip() or settings.DEFAULT_MODEL
    if not requested:
        raise ApiError(
            "No model given: set 'model' in the request, or DEFAULT_MODEL on the server.",
            param="model",
        )
    uploaded = find_uploaded_model(requested)
    if uploaded is None:
        return requested
    if uploaded.status == ModelStatus.READY:
        return uploaded.name
    if uploaded.status == ModelStatus.FAILED:
        raise ModelNotFound(f"Model '{requested}' failed to import: {uploaded.error}")
    raise ApiError(
        f"Model '{requested}' is not ready yet (status: {uploaded.status}).",
        status=409,
        code="model_not_ready",
        param="model",
    )
