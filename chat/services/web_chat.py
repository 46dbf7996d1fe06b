"""The web chat: conversations sent whole to the model, each turn stored with its trace.

Calls go through the inference service like every other call; this module adds the thread
(history, system prompt, model) and the messages it stores.
"""

import logging
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.db import transaction

from chat.models import Conversation, Message, Role
from chat.openai_format import usage_from
from chat.serializers import message_data
from chat.services.inference import InferenceCall, complete_chat, open_chat_stream
from models_app.services import resolve_model_name
from ollama_bridge.errors import OllamaError
from premrunner.errors import ApiError

logger = logging.getLogger(__name__)

TITLE_LENGTH = 80
HISTORY_LIMIT = 500


@dataclass
class ChatTurn:
    """One message of the web chat about to be sent, with the thread it continues."""

    message: str
    model: str  # as the person named it
    ollama_model: str
    system_prompt: str
    conversation: Conversation | None  # None for a new conversation, created once Ollama answers
    messages: list[dict]  # the whole thread as Ollama messages, this message last


@dataclass
class ChatReply:
    """A finished turn of the web chat."""

    conversation: Conversation
    prompt: Message
    reply: Message
    usage: dict
    trace_id: str


def get_conversation(conversation_id: str) -> Conversation:
    """The conversation with that id; raises ApiError 404 when there is none."""
    try:
        return Conversation.objects.get(id=uuid.UUID(str(conversation_id)))
    except (ValueError, Conversation.DoesNotExist):
        raise ApiError(
            f"No conversation with id {conversation_id!r}.",
            status=404,
            code="conversation_not_found",
            param="conversationId",
        ) from None


def prepare_turn(
    *, message: str, conversation_id: str | None, model: str | None, system_prompt: str | None
) -> ChatTurn:
    """The turn for `message`: its conversation's history, system prompt and model resolved.

    A new conversation uses `model` or DEFAULT_MODEL; an existing one its own model unless
    `model` names another, and its stored system prompt unless one is given. Raises ApiError
    (404 unknown conversation, 400 no model) or ModelNotFound.
    """
    conversation = get_conversation(conversation_id) if conversation_id else None
    if conversation is not None:
        model = model or conversation.model
        system_prompt = system_prompt if system_prompt is not None else conversation.system_prompt
    ollama_model = resolve_model_name(model)
    messages = [{"role": Role.SYSTEM, "content": system_prompt}] if system_prompt else []
    if conversation is not None:
        messages += [
            {"role": role, "content": content}
            for role, content in conversation.messages.values_list("role", "content")
        ]
    messages.append({"role": Role.USER, "content": message})
    return ChatTurn(
        message=message,
        model=model or ollama_model,
        ollama_model=ollama_model,
        system_prompt=system_prompt or "",
        conversation=conversation,
        messages=messages,
    )


def store_prompt(*, turn: ChatTurn) -> Message:
    """Save the person's message, creating the conversation when the turn starts one."""
    with transaction.atomic():
        if turn.conversation is None:
            turn.conversation = Conversation.objects.create(
                title=turn.message.strip()[:TITLE_LENGTH] or "New chat",
                model=turn.model,
                system_prompt=turn.system_prompt,
            )
        else:
            turn.conversation.model = turn.model
            turn.conversation.system_prompt = turn.system_prompt
            turn.conversation.save(update_fields=["model", "system_prompt", "updated_at"])
        return Message.objects.create(
            conversation=turn.conversation, role=Role.USER, content=turn.message, model=turn.model
        )


def store_reply(*, turn: ChatTurn, reply_id: uuid.UUID, content: str, trace_id: str) -> Message:
    """Save the model's reply (whole, or as far as it got) and touch its conversation."""
    with transaction.atomic():
        reply = Message.objects.create(
            id=reply_id,
            conversation=turn.conversation,
            role=Role.ASSISTANT,
            content=content,
            model=turn.model,
            trace_id=trace_id,
        )
        turn.conversation.save(update_fields=["updated_at"])
    return reply


def _turn_call(
    turn: ChatTurn, *, endpoint: str, options: dict, stream: bool, trace_id: str
) -> InferenceCall:
    return InferenceCall(
        endpoint=endpoint,
        model=turn.ollama_model,
        input=turn.messages,
        request_params=options,
        stream=stream,
        trace_id=trace_id,
    )


def _turn_payload(turn: ChatTurn, options: dict) -> dict:
    payload: dict[str, Any] = {"model": turn.ollama_model, "messages": turn.messages}
    if options:
        payload["options"] = options
    return payload


async def send_chat_message(
    *, turn: ChatTurn, options: dict, endpoint: str, trace_id: str
) -> ChatReply:
    """Send a web-chat turn and store both messages once the whole reply is in.

    `options` are Ollama options (temperature, num_predict, ...); the call is traced under
    `trace_id`. Nothing is stored when the call fails. Raises the ollama_bridge errors.
    """
    call = _turn_call(turn, endpoint=endpoint, options=options, stream=False, trace_id=trace_id)
    answer = await complete_chat(call=call, payload=_turn_payload(turn, options))
    content = (answer.get("message") or {}).get("content") or ""
    prompt = await sync_to_async(store_prompt)(turn=turn)
    reply = await sync_to_async(store_reply)(
        turn=turn, reply_id=uuid.uuid4(), content=content, trace_id=call.trace_id
    )
    return ChatReply(
        conversation=turn.conversation,
        prompt=prompt,
        reply=reply,
        usage=usage_from(answer),
        trace_id=call.trace_id,
    )


async def stream_chat_message(
    *, turn: ChatTurn, options: dict, endpoint: str, trace_id: str
) -> AsyncGenerator[dict, None]:
    """Start a streamed web-chat turn; return its events once Ollama has begun answering.

    The events are `start` (conversation and message ids), one `token` per piece of text,
    then `done` (the stored reply, usage, trace id) or `error`. The reply is stored however
    the stream ends, with what was generated, when the client goes away too. Raises the
    ollama_bridge errors for a failure before the first token.
    """
    call = _turn_call(turn, endpoint=endpoint, options=options, stream=True, trace_id=trace_id)
    lines = await open_chat_stream(call=call, payload=_turn_payload(turn, options))
    return _chat_events(turn=turn, call=call, lines=lines)


async def _chat_events(
    *, turn: ChatTurn, call: InferenceCall, lines: AsyncGenerator[dict, None]
) -> AsyncGenerator[dict, None]:
    reply_id = uuid.uuid4()
    parts: list[str] = []
    stored = False
    try:
        prompt = await sync_to_async(store_prompt)(turn=turn)
        yield {
            "type": "start",
            "conversationId": str(turn.conversation.id),
            "messageId": str(reply_id),
            "userMessageId": str(prompt.id),
        }
        final: dict = {}
        async for line in lines:
            content = (line.get("message") or {}).get("content")
            if content:
                parts.append(content)
                yield {"type": "token", "content": content}
            if line.get("done"):
                final = line
        stored = True
        reply = await sync_to_async(store_reply)(
            turn=turn, reply_id=reply_id, content="".join(parts), trace_id=call.trace_id
        )
        yield {
            "type": "done",
            "message": message_data(reply),
            "usage": usage_from(final),
            "traceId": call.trace_id,
        }
    except OllamaError as exc:
        yield {"type": "error", "message": exc.message}
    finally:
        await lines.aclose()
        if not stored and turn.conversation is not None and parts:
            await sync_to_async(store_reply)(
                turn=turn, reply_id=reply_id, content="".join(parts), trace_id=call.trace_id
            )


def list_conversations() -> list[Conversation]:
    """Every conversation with its `message_count`, most recently active first."""
    # Meta.ordering does not apply to a query with an aggregate, so it is spelled out here.
    return list(Conversation.objects.with_message_count().order_by("-updated_at", "-id"))


def list_messages(*, conversation_id: str | None) -> list[Message]:
    """A conversation's messages oldest first; without an id, the latest HISTORY_LIMIT of all."""
    if conversation_id:
        return list(get_conversation(conversation_id).messages.all())
    latest = Message.objects.order_by("-created_at", "-id")[:HISTORY_LIMIT]
    return list(latest)[::-1]


def delete_history(*, conversation_id: str | None) -> None:
    """Remove one conversation with its messages, or every conversation when no id is given."""
    if conversation_id:
        get_conversation(conversation_id).delete()
    else:
        Conversation.objects.all().delete()
