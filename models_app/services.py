"""Models known to PremRunner: which one a request means, the catalogue, progress, delete, retry."""

import contextlib
import logging
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from models_app.models import Model, ModelStatus
from ollama_bridge.client import get_client
from ollama_bridge.errors import ModelNotFound, OllamaError
from ollama_bridge.events import publish_event
from ollama_bridge.names import canonical_name, same_model
from premrunner.errors import ApiError

logger = logging.getLogger(__name__)

# States in which the model may exist in Ollama (and so must be deleted there too).
MAY_BE_IN_OLLAMA = (ModelStatus.IMPORTING, ModelStatus.READY)


def find_uploaded_model(reference: str) -> Model | None:
    """The uploaded model whose id, Ollama name (tag optional) or alias is `reference`."""
    query = Q(name__iexact=reference) | Q(name__iexact=f"{reference}:latest")
    with contextlib.suppress(ValueError):
        query |= Q(id=uuid.UUID(reference))
    return Model.objects.filter(query).first()


def get_uploaded_model(*, reference: str) -> Model:
    """The uploaded model `reference` names (id or name); raises ModelNotFound (404)."""
    model = find_uploaded_model(reference)
    if model is None:
        raise ModelNotFound(f"No uploaded model '{reference}'.")
    return model


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


# -- the catalogue ---------------------------------------------------------------------------


@dataclass
class Catalogue:
    """Every model: uploaded ones (any status) and Ollama's (`/api/tags` entries)."""

    uploaded: list[Model]
    ollama: list[dict]
    # Why Ollama's models are missing, when it could not be asked ("" when it answered).
    ollama_error: str = ""

    def ollama_only(self) -> list[dict]:
        """Ollama's models that are not uploaded ones."""
        names = [model.name for model in self.uploaded]
        return [tag for tag in self.ollama if not any(same_model(tag["name"], n) for n in names)]

    def callable_models(self) -> list[tuple[str, Model | None, dict | None]]:
        """(name, uploaded model or None, Ollama's entry or None) of each model a client can
        call: Ollama's models, or only the ready uploads when Ollama is away. No name twice."""
        ready = [model for model in self.uploaded if model.status == ModelStatus.READY]

        def uploaded_as(name: str) -> Model | None:
            return next((model for model in ready if same_model(model.name, name)), None)

        if self.ollama_error:
            return [(model.name, model, None) for model in ready]
        found, seen = [], set()
        for tag in self.ollama:
            key = canonical_name(tag["name"]).lower()
            if key not in seen:
                seen.add(key)
                found.append((tag["name"], uploaded_as(tag["name"]), tag))
        return found


def get_catalogue() -> Catalogue:
    """Uploaded models from the database and Ollama's own; Ollama being away is not an error."""
    uploaded = list(Model.objects.all())
    try:
        ollama = get_client().list_models()
    except OllamaError as exc:
        return Catalogue(uploaded=uploaded, ollama=[], ollama_error=exc.message)
    return Catalogue(uploaded=uploaded, ollama=ollama)


def find_callable_model(*, reference: str) -> tuple[str, Model | None, dict | None]:
    """(Ollama name, uploaded model or None, Ollama's tag entry or None) of a callable model.

    Raises ModelNotFound (404) for a model that does not exist or is not ready yet.
    """
    uploaded = find_uploaded_model(reference)
    if uploaded is not None and uploaded.status != ModelStatus.READY:
        raise ModelNotFound(
            f"The model '{reference}' is not ready to be called (status: {uploaded.status})."
        )
    name = uploaded.name if uploaded is not None else reference
    tag = next((t for t in get_client().list_models() if same_model(t["name"], name)), None)
    if tag is None:
        raise ModelNotFound(f"The model '{reference}' does not exist.")
    return tag["name"], uploaded, tag


# -- progress --------------------------------------------------------------------------------


def publish_progress(model: Model) -> None:
    """Tell WebSocket clients where `model` stands now."""
    publish_event({"type": "model.progress", "model": model.event_payload()})


def update_model(model: Model, **changes) -> Model:
    """Save `changes` on `model` and publish its progress.

    Raises Model.DoesNotExist when the model was deleted meanwhile (an import then stops).
    """
    changes["updated_at"] = timezone.now()
    if not Model.objects.filter(pk=model.pk).update(**changes):
        raise Model.DoesNotExist(f"Model {model.pk} was deleted.")
    for field_name, value in changes.items():
        setattr(model, field_name, value)
    publish_progress(model)
    return model


# -- delete and retry ------------------------------------------------------------------------


def remove_owned_files(model: Model) -> None:
    """Delete every file and folder PremRunner made for `model` (never a server file)."""
    for path in model.owned_paths():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def delete_model(*, reference: str) -> str:
    """Delete a model from Ollama, the database and disk; returns its name.

    An uploaded model (by id or name) goes everywhere; any other name is deleted from Ollama.
    Raises ModelNotFound (404), OllamaUnavailable (503) when Ollama must be asked and is away.
    """
    model = find_uploaded_model(reference)
    if model is None:
        get_client().delete_model(reference)
        logger.info("Deleted Ollama model %s", reference)
        return reference
    if model.status in MAY_BE_IN_OLLAMA:
        with contextlib.suppress(ModelNotFound):
            get_client().delete_model(model.name)
    remove_owned_files(model)
    model.delete()
    logger.info("Deleted model %s (%s)", model.name, model.pk)
    return model.name


def retry_import(*, reference: str) -> Model:
    """Queue a failed (or ready) uploaded model for import again.

    Raises ModelNotFound (404); ApiError 409 while it is still uploading or importing, or when
    its file is gone.
    """
    model = get_uploaded_model(reference=reference)
    if model.status not in (ModelStatus.FAILED, ModelStatus.READY):
        raise ApiError(
            f"Model '{model.name}' is {model.status}; only a failed or ready model can be "
            "imported again.",
            status=409,
            code="model_busy",
        )
    if not model.file_path or not Path(model.file_path).exists():
        raise ApiError(
            f"The file of model '{model.name}' is gone; upload it again.",
            status=409,
            code="file_missing",
        )
    return update_model(
        model,
        status=ModelStatus.UPLOADED,
        progress=0.0,
        error="",
        status_message="Queued for import",
        import_attempts=0,
    )


def ollama_has_model(name: str) -> bool:
    """True when Ollama lists a model of that name; False also when Ollama cannot be asked."""
    try:
        return any(same_model(tag["name"], name) for tag in get_client().list_models())
    except OllamaError:
        return False


def name_is_taken(name: str) -> bool:
    """True when an uploaded model or a model in Ollama already has this (canonical) name."""
    canonical = canonical_name(name)
    return Model.objects.filter(name__iexact=canonical).exists() or ollama_has_model(canonical)
