"""The web chat's record: conversations and their messages (the seed's `messages` table)."""

import uuid

from django.db import models


class Role(models.TextChoices):
    SYSTEM = "system", "System"
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"


class ConversationQuerySet(models.QuerySet):
    def with_message_count(self) -> "ConversationQuerySet":
        """Each conversation annotated with `message_count`."""
        return self.annotate(message_count=models.Count("messages"))


class Conversation(models.Model):
    """One thread of the web chat; every turn sends the whole thread to the model."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    # The model as the person named it (an uploaded model's id or name, or an Ollama name).
    model = models.CharField(max_length=200)
    # Sent first on every turn when set.
    system_prompt = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title


class Message(models.Model):
    """One message of a conversation, as the seed stored it, plus its thread and trace."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    content = models.TextField(blank=True)
    model = models.CharField(max_length=200)
    # The trace of the call that produced an assistant message.
    trace_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["conversation", "created_at"], name="message_thread_idx")]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:50]}"
