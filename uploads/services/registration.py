"""Registering a model to come: its options for Ollama's create, a free valid name, room on disk."""

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError

from models_app.models import Model, ModelOrigin, ModelStatus
from models_app.services import name_is_taken, publish_progress
from ollama_bridge.names import canonical_name, is_valid_name, make_valid_name
from premrunner.errors import ApiError
from uploads.bodies import disk_can_hold

logger = logging.getLogger(__name__)

# Quantization types Ollama's create accepts (for F16/BF16/F32 sources).
QUANTIZE_TYPES = ("Q4_K_M", "Q4_K_S", "Q8_0", "F16", "F32")

# The model parameters Ollama's create takes, by the JSON type it needs: checked at upload so
# that a typo fails before gigabytes are sent, not when the import finally runs.
INTEGER_PARAMETERS = frozenset(
    {
        "num_keep",
        "seed",
        "num_predict",
        "top_k",
        "repeat_last_n",
        "num_ctx",
        "num_batch",
        "num_gpu",
        "main_gpu",
        "num_thread",
    }
)
NUMBER_PARAMETERS = frozenset(
    {
        "top_p",
        "min_p",
        "typical_p",
        "temperature",
        "repeat_penalty",
        "presence_penalty",
        "frequency_penalty",
    }
)


@dataclass(frozen=True)
class ModelOptions:
    """What a person may choose at upload; all optional."""

    name: str = ""
    system: str = ""
    template: str = ""
    parameters: dict = field(default_factory=dict)
    quantize: str = ""
    base_model: str = ""


def _text(data: Mapping, *keys: str) -> str:
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ApiError(f"'{key}' must be a string.", param=key)
        return value.strip()
    return ""


KNOWN_PARAMETERS = INTEGER_PARAMETERS | NUMBER_PARAMETERS | {"use_mmap", "stop"}


def _checked_parameters(parameters: dict) -> dict:
    """Ollama model parameters with the types create needs; `stop` may be one string."""
    checked = {}
    for key, value in parameters.items():
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if key in INTEGER_PARAMETERS and not (is_number and float(value).is_integer()):
            raise ApiError(f"Parameter '{key}' must be an integer.", param="parameters")
        if key in NUMBER_PARAMETERS and not is_number:
            raise ApiError(f"Parameter '{key}' must be a number.", param="parameters")
        if key == "use_mmap" and not isinstance(value, bool):
            raise ApiError("Parameter 'use_mmap' must be true or false.", param="parameters")
        if key == "stop":
            value = [value] if isinstance(value, str) else value
            if not (isinstance(value, list) and all(isinstance(s, str) for s in value)):
                raise ApiError(
                    "Parameter 'stop' must be a string or a list of strings.", param="parameters"
                )
        if key not in KNOWN_PARAMETERS:
            raise ApiError(f"Unknown model parameter '{key}'.", param="parameters")
        checked[key] = int(value) if key in INTEGER_PARAMETERS else value
    return checked


def options_from(data: Mapping) -> ModelOptions:
    """ModelOptions from a JSON body or form fields; raises ApiError 400 for a bad value.

    Fields: `name` (or the seed's `modelName`), `system`, `template`, `parameters` (an object,
    or its JSON text in a form), `quantize`, `baseModel`.
    """
    parameters = data.get("parameters") or {}
    if isinstance(parameters, str):
        try:
            parameters = json.loads(parameters)
        except ValueError:
            raise ApiError("'parameters' must be a JSON object.", param="parameters") from None
    if not isinstance(parameters, dict):
        raise ApiError("'parameters' must be a JSON object.", param="parameters")
    quantize = _text(data, "quantize").upper()
    if quantize and quantize not in QUANTIZE_TYPES:
        raise ApiError(f"'quantize' must be one of {', '.join(QUANTIZE_TYPES)}.", param="quantize")
    base_model = _text(data, "baseModel")
    if base_model and not is_valid_name(base_model):
        raise ApiError(f"'{base_model}' is not a valid Ollama model name.", param="baseModel")
    return ModelOptions(
        name=_text(data, "name", "modelName"),
        system=_text(data, "system"),
        template=_text(data, "template"),
        parameters=_checked_parameters(parameters),
        quantize=quantize,
        base_model=base_model,
    )


def check_room(size: int) -> None:
    """Refuse a file over MAX_UPLOAD_SIZE (413) or one the disk cannot take (507)."""
    if size > settings.MAX_UPLOAD_SIZE:
        raise ApiError(
            f"The file is {size} bytes; the largest accepted is {settings.MAX_UPLOAD_SIZE} "
            "bytes (MAX_UPLOAD_SIZE).",
            status=413,
            code="file_too_large",
        )
    if not disk_can_hold(size):
        raise ApiError(
            f"Not enough free disk space for a file of {size} bytes "
            f"(UPLOAD_DISK_RESERVE keeps {settings.UPLOAD_DISK_RESERVE} bytes free).",
            status=507,
            code="insufficient_storage",
        )


def model_name_for(*, options: ModelOptions, file_name: str) -> str:
    """The canonical Ollama name for an upload: the name given (or the file's), made valid.

    Raises ApiError 400 when neither holds a character Ollama accepts in a name.
    """
    raw = options.name or file_name
    try:
        return canonical_name(make_valid_name(raw))
    except ValueError:
        raise ApiError(
            f"'{raw}' cannot become an Ollama model name: give a modelName with letters, "
            "digits, '.', '-' or '_'.",
            param="modelName",
            code="invalid_model_name",
        ) from None


def register_model(
    *,
    options: ModelOptions,
    file_name: str,
    size: int | None,
    origin: str = ModelOrigin.UPLOAD,
    status: str = ModelStatus.UPLOADING,
    model_id: uuid.UUID | None = None,
    **fields,
) -> Model:
    """Create the Model row of a file to come (or just come).

    Raises ApiError 409 (`model_exists`) when an uploaded model or a model in Ollama already
    has the name.
    """
    name = model_name_for(options=options, file_name=file_name)
    taken = ApiError(
        f"A model named '{name}' already exists; choose another name.",
        status=409,
        code="model_exists",
        param="name",
    )
    if name_is_taken(name):
        raise taken
    try:
        model = Model.objects.create(
            id=model_id or uuid.uuid4(),
            name=name,
            alias=options.name or file_name,
            source_filename=file_name[:255],
            size=size,
            origin=origin,
            status=status,
            system_prompt=options.system,
            template=options.template,
            parameters=options.parameters,
            quantize=options.quantize,
            base_model=options.base_model,
            **fields,
        )
    except IntegrityError:
        raise taken from None
    logger.info("Registered model %s (%s) from %s", model.name, model.pk, file_name)
    publish_progress(model)
    return model
