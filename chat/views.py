"""Inference endpoints: OpenAI/Prem chat completions and embeddings, model residency, web chat.

The inference views are async and stream from an async iterator, so a token leaves as soon as
Ollama sends it and concurrent streams never wait on one another (house-style pattern 4). Every
traced call answers with its trace id in `X-Trace-Id`, errors included.
"""

import json
import logging
import time
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chat import openai_format
from chat import openapi as doc
from chat.serializers import conversation_data, message_data
from chat.services import inference, web_chat
from ollama_bridge.errors import OllamaError
from premrunner.errors import ApiError, api_error_from_exception, error_body, error_response
from premrunner.json_body import parse_json_object
from premrunner.openapi import api_operation, error_responses
from traces.services import new_trace_id

logger = logging.getLogger(__name__)


# -- helpers ---------------------------------------------------------------------------------


def _sse(data: dict) -> bytes:
    """One Server-Sent Event carrying `data` as compact JSON."""
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def _event_stream(events: AsyncIterator[bytes], trace_id: str) -> StreamingHttpResponse:
    """An SSE response that no proxy buffers."""
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    response["X-Trace-Id"] = trace_id
    return response


def _traced_error(exc: OllamaError, trace_id: str) -> JsonResponse:
    api_error = api_error_from_exception(exc)  # 404 model_not_found, 503, 502, ...
    response = error_response(
        api_error.message, status=api_error.status, code=api_error.code, param=api_error.param
    )
    response["X-Trace-Id"] = trace_id
    return response


def _sse_error(exc: OllamaError) -> bytes:
    api_error = api_error_from_exception(exc)
    return _sse(error_body(api_error.message, status=api_error.status, code=api_error.code))


def _shown_model(requested: object, resolved: str) -> str:
    """The model name answers echo: the client's own spelling, or the default it got."""
    return requested.strip() if isinstance(requested, str) and requested.strip() else resolved


def _optional_string(body: dict, field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise ApiError(f"'{field}' must be a string.", param=field)
    return value


# -- OpenAI / Prem chat completions ----------------------------------------------------------


@api_operation(
    "post",
    operation_id="createChatCompletion",
    request=doc.ChatCompletionRequestSerializer,
    responses={
        (200, "application/json"): doc.ChatCompletionSerializer,
        (200, "text/event-stream"): doc.EVENT_STREAM,
        **error_responses(400, 401, 404, 413, 502, 503),
    },
    tags=["inference"],
)
@csrf_exempt
@require_POST
async def chat_completions(request: HttpRequest) -> HttpResponse:
    """`POST /v1/chat/completions` (and `/api/v1/...` for the Prem SDK), whole or streamed."""
    body = parse_json_object(request)
    model = await inference.resolve_model(body.get("model"))
    payload = openai_format.chat_request_to_ollama(body, model=model)
    stream = openai_format.wants_stream(body)
    include_usage = openai_format.wants_usage_chunk(body)
    call = inference.InferenceCall(
        endpoint=request.path,
        model=model,
        input=body["messages"],
        request_params=openai_format.request_params(body),
        stream=stream,
    )
    shown = _shown_model(body.get("model"), model)
    try:
        if stream:
            lines = await inference.open_chat_stream(call=call, payload=payload)
            encoder = openai_format.ChunkEncoder(
                completion_id=openai_format.new_completion_id(),
                model=shown,
                include_usage=include_usage,
            )
            return _event_stream(_completion_chunks(lines, encoder), call.trace_id)
        answer = await inference.complete_chat(call=call, payload=payload)
    except OllamaError as exc:
        return _traced_error(exc, call.trace_id)
    completion = openai_format.chat_completion(
        answer,
        completion_id=openai_format.new_completion_id(),
        model=shown,
        created=int(time.time()),
    )
    response = JsonResponse(completion)
    response["X-Trace-Id"] = call.trace_id
    return response


async def _completion_chunks(
    lines: AsyncIterator[dict], encoder: openai_format.ChunkEncoder
) -> AsyncIterator[bytes]:
    """OpenAI's SSE chunks for Ollama's lines, then `[DONE]`; an error event if Ollama fails."""
    try:
        async for line in lines:
            for chunk in encoder.chunks(line):
                yield _sse(chunk)
        yield b"data: [DONE]\n\n"
    except OllamaError as exc:
        yield _sse_error(exc)
    finally:
        await lines.aclose()


# -- embeddings ------------------------------------------------------------------------------


@api_operation(
    "post",
    operation_id="createEmbeddings",
    request=doc.EmbeddingRequestSerializer,
    responses={200: doc.EmbeddingListSerializer, **error_responses(400, 401, 404, 413, 502, 503)},
    tags=["inference"],
)
@csrf_exempt
@require_POST
async def embeddings(request: HttpRequest) -> HttpResponse:
    """`POST /v1/embeddings` (and `/api/v1/embeddings`): OpenAI's embeddings list."""
    body = parse_json_object(request)
    model = await inference.resolve_model(body.get("model"))
    inputs = openai_format.embedding_inputs(body)
    dimensions, encoding_format = openai_format.embedding_options(body)
    call = inference.InferenceCall(
        endpoint=request.path,
        model=model,
        input=inputs,
        request_params=openai_format.request_params(body),
    )
    try:
        answer = await inference.embed_texts(
            call=call, model=model, inputs=inputs, dimensions=dimensions
        )
    except OllamaError as exc:
        return _traced_error(exc, call.trace_id)
    response = JsonResponse(
        openai_format.embeddings_response(
            answer, model=_shown_model(body.get("model"), model), encoding_format=encoding_format
        )
    )
    response["X-Trace-Id"] = call.trace_id
    return response


# -- Prem SDK: model residency ---------------------------------------------------------------


@api_operation(
    "get",
    operation_id="modelRunning",
    parameters=[doc.MODEL_PARAMETER],
    responses={200: doc.RunningSerializer, **error_responses(400, 401, 404, 503)},
    tags=["models"],
)
@require_GET
async def model_running(request: HttpRequest) -> JsonResponse:
    """`GET /api/v1/models/running?model=` → `{"status": <loaded in memory now>}`."""
    requested = request.GET.get("model", "").strip()
    if not requested:
        raise ApiError("Give the model to check: ?model=<id or name>.", param="model")
    model = await inference.resolve_model(requested)
    return JsonResponse({"status": await inference.is_model_running(model=model)})


async def _model_from_body(request: HttpRequest) -> tuple[str, str]:
    """(requested, Ollama name) of a `{"model": ...}` body."""
    requested = parse_json_object(request).get("model")
    if not isinstance(requested, str) or not requested.strip():
        raise ApiError("'model' is required.", param="model")
    return requested, await inference.resolve_model(requested)


@api_operation(
    "post",
    operation_id="loadModel",
    request=doc.ModelReferenceSerializer,
    responses={200: doc.ResultMessageSerializer, **error_responses(400, 401, 404, 503)},
    tags=["models"],
)
@csrf_exempt
@require_POST
async def model_up(request: HttpRequest) -> JsonResponse:
    """`POST /api/v1/models/up {"model"}`: load the model into memory."""
    requested, model = await _model_from_body(request)
    await inference.load_model(model=model)
    return JsonResponse({"message": f"Model {requested} is loaded."})


@api_operation(
    "post",
    operation_id="unloadModel",
    request=doc.ModelReferenceSerializer,
    responses={200: doc.ResultMessageSerializer, **error_responses(400, 401, 404, 503)},
    tags=["models"],
)
@csrf_exempt
@require_POST
async def model_down(request: HttpRequest) -> JsonResponse:
    """`POST /api/v1/models/down {"model"}`: free the model's memory."""
    requested, model = await _model_from_body(request)
    await inference.unload_model(model=model)
    return JsonResponse({"message": f"Model {requested} is unloaded."})


# -- the web chat ----------------------------------------------------------------------------


async def _chat_turn(body: dict) -> tuple[web_chat.ChatTurn, dict]:
    """The turn and Ollama options of a `/api/chat/send` or `/api/chat/stream` body."""
    message = body.get("message")
    if not isinstance(message, str) or not message.strip():
        raise ApiError("'message' must be a non-empty string.", param="message")
    options = openai_format.sampling_options(body)
    turn = await sync_to_async(web_chat.prepare_turn)(
        message=message,
        conversation_id=_optional_string(body, "conversationId"),
        model=_optional_string(body, "model"),
        system_prompt=_optional_string(body, "system"),
    )
    return turn, options


@api_operation(
    "post",
    operation_id="sendChatMessage",
    request=doc.ChatTurnRequestSerializer,
    responses={200: doc.ChatTurnSerializer, **error_responses(400, 401, 404, 502, 503)},
    tags=["chat"],
)
@csrf_exempt
@require_POST
async def chat_send(request: HttpRequest) -> JsonResponse:
    """`POST /api/chat/send`: one turn of the web chat, answered whole."""
    turn, options = await _chat_turn(parse_json_object(request))
    trace_id = new_trace_id()
    try:
        reply = await web_chat.send_chat_message(
            turn=turn, options=options, endpoint=request.path, trace_id=trace_id
        )
    except OllamaError as exc:
        return _traced_error(exc, trace_id)
    response = JsonResponse(
        {
            "conversationId": str(reply.conversation.id),
            "message": message_data(reply.reply),
            "userMessage": message_data(reply.prompt),
            "traceId": trace_id,
            "usage": reply.usage,
        }
    )
    response["X-Trace-Id"] = trace_id
    return response


@api_operation(
    "post",
    operation_id="streamChatMessage",
    request=doc.ChatTurnRequestSerializer,
    responses={200: doc.EVENT_STREAM, **error_responses(400, 401, 404, 502, 503)},
    tags=["chat"],
)
@csrf_exempt
@require_POST
async def chat_stream(request: HttpRequest) -> HttpResponse:
    """`POST /api/chat/stream`: one turn of the web chat as SSE events (start, token, done)."""
    turn, options = await _chat_turn(parse_json_object(request))
    trace_id = new_trace_id()
    try:
        events = await web_chat.stream_chat_message(
            turn=turn, options=options, endpoint=request.path, trace_id=trace_id
        )
    except OllamaError as exc:
        return _traced_error(exc, trace_id)
    return _event_stream(_chat_events(events), trace_id)


async def _chat_events(events: AsyncIterator[dict]) -> AsyncIterator[bytes]:
    try:
        async for event in events:
            yield _sse(event)
    finally:
        await events.aclose()


@api_operation(
    "get",
    operation_id="chatHistory",
    parameters=[doc.CONVERSATION_PARAMETER],
    responses={200: doc.MessageListSerializer, **error_responses(401, 404)},
    tags=["chat"],
)
@api_operation(
    "delete",
    operation_id="deleteChatHistory",
    parameters=[doc.CONVERSATION_PARAMETER],
    responses={200: doc.SuccessSerializer, **error_responses(401, 404)},
    tags=["chat"],
)
@csrf_exempt
@require_http_methods(["GET", "DELETE"])
def chat_history(request: HttpRequest) -> JsonResponse:
    """`GET /api/chat/history?conversationId=`: messages oldest first; `DELETE` removes them.

    Without `conversationId`, GET answers the latest messages of all conversations and DELETE
    removes every conversation.
    """
    conversation_id = request.GET.get("conversationId") or None
    if request.method == "DELETE":
        web_chat.delete_history(conversation_id=conversation_id)
        return JsonResponse({"success": True})
    messages = web_chat.list_messages(conversation_id=conversation_id)
    return JsonResponse({"messages": [message_data(message) for message in messages]})


@api_operation(
    "get",
    operation_id="listConversations",
    responses={200: doc.ConversationListSerializer, **error_responses(401)},
    tags=["chat"],
)
@require_GET
def conversations(request: HttpRequest) -> JsonResponse:
    """`GET /api/chat/conversations`: every conversation, most recently active first."""
    rows = web_chat.list_conversations()
    return JsonResponse({"conversations": [conversation_data(row) for row in rows]})


@api_operation(
    "delete",
    operation_id="deleteConversation",
    responses={200: doc.SuccessSerializer, **error_responses(401, 404)},
    tags=["chat"],
)
@csrf_exempt
@require_http_methods(["DELETE"])
def conversation_detail(request: HttpRequest, conversation_id: str) -> JsonResponse:
    """`DELETE /api/chat/conversations/{id}`: remove one conversation and its messages."""
    web_chat.get_conversation(conversation_id).delete()
    return JsonResponse({"success": True})
