"""OpenAPI descriptions of the chat app's bodies, for the schema only.

The views validate with chat.openai_format and answer plain JSON; these serializers only tell
/docs/openapi.json what travels, in OpenAI's and the web UI's words.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

MODEL_HELP = "An uploaded model's id or name, or any model Ollama has; DEFAULT_MODEL when left out."


class ChatMessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(["system", "developer", "user", "assistant", "tool"])
    content = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="A string, or parts: {type: text, text} and "
        "{type: image_url, image_url: {url: 'data:image/png;base64,...'}}.",
    )
    tool_calls = serializers.ListField(child=serializers.DictField(), required=False)
    tool_call_id = serializers.CharField(required=False, help_text="For role tool.")

    class Meta:
        ref_name = "ChatMessage"


class ChatCompletionRequestSerializer(serializers.Serializer):
    model = serializers.CharField(required=False, help_text=MODEL_HELP)
    messages = ChatMessageSerializer(many=True)
    stream = serializers.BooleanField(required=False, default=False)
    stream_options = serializers.DictField(
        required=False, help_text='{"include_usage": true} adds a last chunk with the usage.'
    )
    temperature = serializers.FloatField(required=False)
    top_p = serializers.FloatField(required=False)
    max_tokens = serializers.IntegerField(required=False)
    max_completion_tokens = serializers.IntegerField(required=False)
    stop = serializers.JSONField(required=False, help_text="A string or a list of strings.")
    seed = serializers.IntegerField(required=False)
    presence_penalty = serializers.FloatField(required=False)
    frequency_penalty = serializers.FloatField(required=False)
    response_format = serializers.DictField(
        required=False,
        help_text='{"type": "json_object"} or {"type": "json_schema", "json_schema": {...}}.',
    )
    tools = serializers.ListField(child=serializers.DictField(), required=False)
    tool_choice = serializers.JSONField(required=False)
    n = serializers.IntegerField(required=False, help_text="Only 1 is supported.")

    class Meta:
        ref_name = "ChatCompletionRequest"


class UsageSerializer(serializers.Serializer):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()

    class Meta:
        ref_name = "Usage"


class ChatChoiceSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    message = ChatMessageSerializer()
    finish_reason = serializers.ChoiceField(["stop", "length", "tool_calls"])

    class Meta:
        ref_name = "ChatChoice"


class ChatCompletionSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="chat.completion")
    created = serializers.IntegerField()
    model = serializers.CharField()
    system_fingerprint = serializers.CharField()
    choices = ChatChoiceSerializer(many=True)
    usage = UsageSerializer()

    class Meta:
        ref_name = "ChatCompletion"


class EmbeddingRequestSerializer(serializers.Serializer):
    model = serializers.CharField(required=False, help_text=MODEL_HELP)
    input = serializers.JSONField(help_text="A string or a list of strings.")
    dimensions = serializers.IntegerField(required=False)
    encoding_format = serializers.ChoiceField(["float", "base64"], required=False)

    class Meta:
        ref_name = "EmbeddingRequest"


class EmbeddingSerializer(serializers.Serializer):
    object = serializers.CharField(default="embedding")
    index = serializers.IntegerField()
    embedding = serializers.JSONField(help_text="Floats, or base64 of little-endian float32.")

    class Meta:
        ref_name = "Embedding"


class EmbeddingListSerializer(serializers.Serializer):
    object = serializers.CharField(default="list")
    data = EmbeddingSerializer(many=True)
    model = serializers.CharField()
    usage = serializers.DictField(help_text="{prompt_tokens, total_tokens}")

    class Meta:
        ref_name = "EmbeddingList"


class ModelReferenceSerializer(serializers.Serializer):
    model = serializers.CharField(help_text=MODEL_HELP)


class MessageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    conversationId = serializers.UUIDField()
    role = serializers.ChoiceField(["user", "assistant", "system"])
    content = serializers.CharField()
    model = serializers.CharField()
    createdAt = serializers.DateTimeField()
    traceId = serializers.UUIDField(allow_null=True)

    class Meta:
        ref_name = "ChatHistoryMessage"


class ConversationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    model = serializers.CharField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    messageCount = serializers.IntegerField()

    class Meta:
        ref_name = "Conversation"


class ChatTurnRequestSerializer(serializers.Serializer):
    message = serializers.CharField()
    conversationId = serializers.UUIDField(
        required=False, help_text="Continue this conversation; a new one starts without it."
    )
    model = serializers.CharField(required=False, help_text=MODEL_HELP)
    system = serializers.CharField(required=False, help_text="A system prompt.")
    temperature = serializers.FloatField(required=False)
    top_p = serializers.FloatField(required=False)
    max_tokens = serializers.IntegerField(required=False)
    seed = serializers.IntegerField(required=False)

    class Meta:
        ref_name = "ChatTurnRequest"


class ChatTurnSerializer(serializers.Serializer):
    conversationId = serializers.UUIDField()
    message = MessageSerializer(help_text="The assistant's reply.")
    userMessage = MessageSerializer()
    traceId = serializers.UUIDField()
    usage = UsageSerializer()

    class Meta:
        ref_name = "ChatTurn"


class MessageListSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True)


class ConversationListSerializer(serializers.Serializer):
    conversations = ConversationSerializer(many=True)


class SuccessSerializer(serializers.Serializer):
    success = serializers.BooleanField()


class ResultMessageSerializer(serializers.Serializer):
    message = serializers.CharField()


class RunningSerializer(serializers.Serializer):
    status = serializers.BooleanField(help_text="True while the model is loaded in memory.")


MODEL_PARAMETER = OpenApiParameter("model", str, required=True, description=MODEL_HELP)
CONVERSATION_PARAMETER = OpenApiParameter(
    "conversationId", str, description="One conversation; every conversation without it."
)
EVENT_STREAM = OpenApiResponse(
    OpenApiTypes.STR, description="Server-Sent Events, one `data: {json}` line per event."
)
