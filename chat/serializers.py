"""The web chat's records as the JSON the UI reads (camelCase, as the seed's API had it)."""

from chat.models import Conversation, Message


def message_data(message: Message) -> dict:
    """`{id, conversationId, role, content, model, createdAt, traceId}` of one message."""
    return {
        "id": str(message.id),
        "conversationId": str(message.conversation_id),
        "role": message.role,
        "content": message.content,
        "model": message.model,
        "createdAt": message.created_at.isoformat(),
        "traceId": str(message.trace_id) if message.trace_id else None,
    }


def conversation_data(conversation: Conversation) -> dict:
    """`{id, title, model, createdAt, updatedAt, messageCount}`; needs `with_message_count()`."""
    return {
        "id": str(conversation.id),
        "title": conversation.title,
        "model": conversation.model,
        "createdAt": conversation.created_at.isoformat(),
        "updatedAt": conversation.updated_at.isoformat(),
        "messageCount": conversation.message_count,
    }
