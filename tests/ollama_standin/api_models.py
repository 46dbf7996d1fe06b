"""Native model-management endpoints: liveness, version, tags, ps, show, blobs, create, pull,
copy and delete."""

from collections.abc import Iterator
from contextlib import closing
from typing import Any

from . import create, wire
from .app import Standin
from .config import VERSION
from .formats import go_quote, go_time, go_value
from .httpio import JSON_PLAIN, NDJSON, ApiError, BadRequestBody, Exchange
from .names import ModelName, ModelRefError, parse_model_ref, parse_pull_ref
from .pull import pull_events
from .store import ADAPTER, MODEL, PROJECTOR, InvalidDigest, StoredModel

_STRING, _BOOL, _OBJECT = wire.STRING, wire.BOOL, wire.OBJECT
SHOW_REQUEST = {
    "model": _STRING,
    "system": _STRING,
    "template": _STRING,
    "verbose": _BOOL,
    "options": _OBJECT,
    "name": _STRING,
}
DELETE_REQUEST = {"model": _STRING, "name": _STRING}
COPY_REQUEST = {"source": _STRING, "destination": _STRING}
PULL_REQUEST = {
    "model": _STRING,
    "insecure": _BOOL,
    "username": _STRING,
    "password": _STRING,
    "stream": _BOOL,
    "name": _STRING,
}
_MESSAGE = wire.expect_struct(
    "api.Message",
    {"role": _STRING, "content": _STRING, "thinking": _STRING, "tool_name": _STRING},
)
CREATE_REQUEST = {
    "model": _STRING,
    "stream": _BOOL,
    "quantize": _STRING,
    "draft_quantize": _STRING,
    "from": _STRING,
    "remote_host": _STRING,
    "files": wire.STRING_MAP,
    "draft_files": wire.STRING_MAP,
    "adapters": wire.STRING_MAP,
    "template": _STRING,
    "license": wire.ANY,
    "system": _STRING,
    "parameters": _OBJECT,
    "messages": wire.expect_list("[]api.Message", _MESSAGE),
    "renderer": _STRING,
    "parser": _STRING,
    "requires": _STRING,
    "info": _OBJECT,
    "name": _STRING,
    "quantization": _STRING,
}
_MAX_SHOWN_ARRAY = 5


def read_request(ex: Exchange, go_type: str, fields: dict[str, wire.FieldCheck]) -> dict[str, Any]:
    """The body decoded and checked against a Go request struct; 400 with Go's text if not."""
    try:
        return wire.decode_struct(ex.read_json(), go_type, fields)
    except wire.DecodeError as error:
        raise ApiError(400, str(error)) from None


def root(ex: Exchange, app: Standin) -> None:
    """`GET`/`HEAD /`: the liveness answer clients poll for."""
    ex.text(200, "Ollama is running")


def version(ex: Exchange, app: Standin) -> None:
    """`GET`/`HEAD /api/version`: the version without a `v` prefix."""
    ex.json(200, {"version": VERSION})


def status(ex: Exchange, app: Standin) -> None:
    """`GET /api/status`: cloud features are reported enabled, as with no configuration."""
    ex.json(200, {"cloud": {"disabled": False, "source": "none"}})


def tags(ex: Exchange, app: Standin) -> None:
    """`GET /api/tags`: every local model, newest first."""
    ex.json(200, {"models": [_tag(model) for model in app.store.models()]})


def _tag(model: StoredModel) -> dict[str, Any]:
    entry = {
        "name": model.name.short,
        "model": model.name.short,
        "modified_at": go_time(model.modified_ns, utc=False),
        "size": model.size,
        "digest": model.manifest_digest,
        "details": model.details(lengths=True),
    }
    if model.capabilities:
        entry["capabilities"] = model.capabilities
    return entry


def ps(ex: Exchange, app: Standin) -> None:
    """`GET /api/ps`: loaded models, longest remaining keep-alive first."""
    models = [
        {
            "name": runner.name.short,
            "model": runner.name.short,
            "size": runner.size,
            "digest": runner.digest,
            "details": runner.details,
            "expires_at": go_time(runner.expires_ns, utc=False),
            "size_vram": 0,
            "context_length": runner.context_length,
        }
        for runner in app.scheduler.running()
    ]
    ex.json(200, {"models": models})


def show(ex: Exchange, app: Standin) -> None:
    """`POST /api/show`; unknown models are 404 `model 'x:latest' not found`."""
    request = read_request(ex, "api.ShowRequest", SHOW_REQUEST)
    requested = request.get("model") or request.get("name") or ""
    if not requested:
        raise ApiError(400, "model is required")
    ex.json(200, _show_response(find_shown_model(app, requested), request))


def find_shown_model(app: Standin, requested: str) -> StoredModel:
    """The model `/api/show` describes; raises `ApiError` 400, or 404 for an unknown name."""
    try:
        ref = parse_model_ref(requested)
    except ModelRefError as error:
        raise ApiError(400, str(error)) from None
    name = app.store.canonical(ref.name)
    model = None if ref.source == "cloud" else app.store.get_exact(name)
    if model is None:
        raise ApiError(404, f"model '{name.short}' not found")
    return model


def _show_response(model: StoredModel, request: dict[str, Any]) -> dict[str, Any]:
    model_layer = model.layer(MODEL)
    system = request.get("system") or model.system
    response: dict[str, Any] = {
        "license": "\n".join(model.licenses),
        "modelfile": _modelfile(model, system, {**model.params, **(request.get("options") or {})}),
        "parameters": _parameters_text(model.params),
        "template": model.template,
        "system": system,
        "renderer": model.config.get("renderer", ""),
        "parser": model.config.get("parser", ""),
    }
    response = {key: value for key, value in response.items() if value}
    response["details"] = model.details(
        lengths=False, parent=model_layer.source if model_layer else ""
    )
    if model.messages:
        response["messages"] = [
            {"role": message.get("role", ""), "content": message.get("content", "")}
            for message in model.messages
        ]
    response["model_info"] = _model_info(model.metadata, verbose=bool(request.get("verbose")))
    if model.header.tensors:
        response["tensors"] = model.header.tensors
    response["capabilities"] = model.capabilities
    response["modified_at"] = go_time(model.modified_ns, utc=False)
    if model.config.get("requires"):
        response["requires"] = model.config["requires"]
    return response


def _parameters_text(params: dict[str, Any]) -> str:
    """One `key  value` line per parameter (lists expanded), key padded to 30 columns."""
    lines = []
    for key, value in sorted(params.items()):
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key:<30} {go_value(item, quoted=True)}")
    return "\n".join(lines)


def _model_info(metadata: dict[str, Any], *, verbose: bool) -> dict[str, Any]:
    info = {}
    for key, value in sorted(metadata.items()):
        if key in ("general.name", "tokenizer.chat_template"):
            continue
        if isinstance(value, list) and len(value) > _MAX_SHOWN_ARRAY and not verbose:
            value = []
        info[key] = value
    return info


def _modelfile(model: StoredModel, system: str, options: dict[str, Any]) -> str:
    """The text `ollama show --modelfile` prints."""
    lines = [
        '# Modelfile generated by "ollama show"',
        "# To build a new Modelfile based on this, replace FROM with:",
        f"# FROM {model.name.short}",
        "",
    ]
    blob = model.store.blob_path
    lines += [f"FROM {blob(layer.digest)}" for layer in model.layers if layer.media_type == MODEL]
    lines += [
        f"ADAPTER {_quote(str(blob(layer.digest)))}"
        for layer in model.layers
        if layer.media_type == ADAPTER
    ]
    lines += [
        f"FROM {blob(layer.digest)}" for layer in model.layers if layer.media_type == PROJECTOR
    ]
    lines.append(f"TEMPLATE {_quote(model.template)}")
    if system:
        lines.append(f"SYSTEM {_quote(system)}")
    for key in ("renderer", "parser"):
        if model.config.get(key):
            lines.append(f"{key.upper()} {_quote(model.config[key])}")
    for key, value in sorted(options.items()):
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"PARAMETER {key} {_quote(go_value(item, quoted=False))}")
    lines += [f"LICENSE {_quote(text)}" for text in model.licenses]
    lines += [
        f"MESSAGE {message.get('role', '')} {_quote(message.get('content', ''))}"
        for message in model.messages
    ]
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    """The Modelfile parser's `quote`: triple quotes only when needed."""
    if "\n" in text or text.startswith(" ") or text.endswith(" "):
        return f'"""{text}"""' if '"' in text else f'"{text}"'
    return text


def blob_head(ex: Exchange, app: Standin) -> None:
    """`HEAD /api/blobs/:digest`: 200 if stored, 404 if not, 400 for a malformed digest."""
    digest = ex.params["digest"]
    try:
        path = app.store.blob_path(digest)
    except InvalidDigest as error:
        raise ApiError(400, str(error)) from None
    if not path.is_file():
        raise ApiError(404, f"blob {go_quote(digest)} not found")
    ex.respond(200)


def blob_upload(ex: Exchange, app: Standin) -> None:
    """`POST /api/blobs/:digest`: store the body under its computed digest.

    201 when stored, 200 (body not read) when already present, 400 on a digest mismatch (the
    data is kept under its real digest).
    """
    expected = ex.params["digest"]
    try:
        path = app.store.blob_path(expected)
    except InvalidDigest as error:
        raise ApiError(400, str(error)) from None
    if path.is_file():
        ex.respond(200)
        return
    try:
        actual, _, _ = app.store.put_stream(ex.body_chunks())
    except BadRequestBody as error:
        raise ApiError(500, str(error)) from None
    if actual != expected:
        raise ApiError(
            400, f"digest mismatch, expected {go_quote(expected)}, got {go_quote(actual)}"
        )
    ex.respond(201)


def create_model(ex: Exchange, app: Standin) -> None:
    """`POST /api/create` (JSON form)."""
    request = read_request(ex, "api.CreateRequest", CREATE_REQUEST)
    name = create.check_request(app.store, request)
    events = create.create_events(app.store, request, name, prune=app.settings.prune)
    send_progress(ex, events, stream=request.get("stream", True), delay=app.knobs.create_delay)


def pull(ex: Exchange, app: Standin) -> None:
    """`POST /api/pull` from the built-in catalogue."""
    request = read_request(ex, "api.PullRequest", PULL_REQUEST)
    try:
        ref = parse_pull_ref(request.get("model") or request.get("name") or "")
    except ModelRefError as error:
        raise ApiError(
            400, str(error) if error.kind == "conflict" else "invalid model name"
        ) from None
    events = pull_events(app.store, app.store.canonical(ref.name))
    send_progress(ex, events, stream=request.get("stream", True), delay=app.knobs.pull_delay)


def delete(ex: Exchange, app: Standin) -> None:
    """`DELETE /api/delete`: 200 with an empty body; 404 `model 'x' not found` (name as sent)."""
    request = read_request(ex, "api.DeleteRequest", DELETE_REQUEST)
    raw = request.get("model") or request.get("name") or ""
    try:
        ref = parse_pull_ref(raw)
    except ModelRefError as error:
        message = f"name {go_quote(raw)} is invalid" if error.kind == "invalid" else str(error)
        raise ApiError(400, message) from None
    model = app.store.get(ref.name)
    if model is None:
        raise ApiError(404, f"model '{raw}' not found")
    app.store.remove(model)
    ex.respond(200)


def copy(ex: Exchange, app: Standin) -> None:
    """`POST /api/copy`: 200 with an empty body; 404 `model "x" not found` (double quotes)."""
    request = read_request(ex, "api.CopyRequest", COPY_REQUEST)
    names = {}
    for field in ("source", "destination"):
        name = ModelName.parse(request.get(field, ""))
        if not name.is_valid():
            raise ApiError(400, f"{field} {go_quote(request.get(field, ''))} is invalid")
        names[field] = app.store.canonical(name)
    model = app.store.get_exact(names["source"])
    if model is None:
        raise ApiError(404, f"model {go_quote(request.get('source', ''))} not found")
    app.store.copy(model, names["destination"])
    ex.respond(200)


def send_progress(
    ex: Exchange, events: Iterator[dict[str, Any]], *, stream: bool, delay: float
) -> None:
    """Ollama's `streamResponse` / `waitForStream` over progress objects.

    Streaming: one NDJSON line per object; an error before the first line is a real status,
    after it an `{"error"}` line. Not streaming: the last object, or the error with its status.
    `delay` seconds pass between objects (the create/pull knobs).
    """
    with closing(events):
        paced = _paced(ex, events, delay)
        if not stream:
            _wait_for_progress(ex, paced)
            return
        out = None
        try:
            for event in paced:
                out = out or ex.stream(NDJSON)
                out.line(event)
        except ApiError as error:
            if out is None:
                ex.error(error.status, error.message, content_type=JSON_PLAIN)
                return
            out.line({"error": error.message})
        (out or ex.stream(NDJSON)).finish()


def _wait_for_progress(ex: Exchange, events: Iterator[dict[str, Any]]) -> None:
    latest: dict[str, Any] = {}
    try:
        for event in events:
            latest = event
    except ApiError as error:
        ex.error(error.status, error.message, content_type=JSON_PLAIN)
        return
    ex.json(200, latest, content_type=JSON_PLAIN)


def _paced(
    ex: Exchange, events: Iterator[dict[str, Any]], delay: float
) -> Iterator[dict[str, Any]]:
    """The events, with `delay` seconds before each step after the first one."""
    yield next(events)
    while True:
        if delay:
            ex.pause(delay)
        try:
            event = next(events)
        except StopIteration:
            return
        yield event
