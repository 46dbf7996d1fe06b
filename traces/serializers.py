"""The traces API's JSON: the seed's camelCase trace shape and the query parameters it takes."""

from rest_framework import serializers

from traces.models import Trace, TraceStatus

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class TraceSerializer(serializers.ModelSerializer):
    """One trace, with the seed's field names (`promptTokens`, `duration`, `createdAt`, ...)."""

    input = serializers.JSONField(help_text="The messages or embedding inputs as sent.")
    promptTokens = serializers.IntegerField(source="prompt_tokens", allow_null=True)
    completionTokens = serializers.IntegerField(source="completion_tokens", allow_null=True)
    totalTokens = serializers.IntegerField(source="total_tokens", allow_null=True)
    duration = serializers.IntegerField(
        source="duration_ms", allow_null=True, help_text="Wall time of the call, milliseconds."
    )
    ttft = serializers.IntegerField(
        source="ttft_ms", allow_null=True, help_text="Time to the first token, milliseconds."
    )
    loadDuration = serializers.IntegerField(
        source="load_duration_ms",
        allow_null=True,
        help_text="Ollama's model load time for this call, milliseconds.",
    )
    tokensPerSecond = serializers.FloatField(source="tokens_per_second", allow_null=True)
    requestParams = serializers.JSONField(source="request_params")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Trace
        fields = [
            "id",
            "endpoint",
            "model",
            "input",
            "output",
            "promptTokens",
            "completionTokens",
            "totalTokens",
            "duration",
            "ttft",
            "loadDuration",
            "tokensPerSecond",
            "status",
            "error",
            "stream",
            "requestParams",
            "createdAt",
        ]
        read_only_fields = fields


class TracePageSerializer(serializers.Serializer):
    """The seed's list answer: `{traces, total, page, limit, pages}`."""

    traces = TraceSerializer(many=True)
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    pages = serializers.IntegerField()


class TimeRangeParams(serializers.Serializer):
    """`since` and `until` (ISO-8601; without an offset they mean UTC), and a `model` filter."""

    model = serializers.CharField(required=False, max_length=200)
    since = serializers.DateTimeField(required=False, help_text="ISO-8601; inclusive.")
    until = serializers.DateTimeField(required=False, help_text="ISO-8601; exclusive.")

    def validate(self, attrs: dict) -> dict:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and since >= until:
            raise serializers.ValidationError({"until": "must be later than since."})
        return attrs


class TraceListParams(TimeRangeParams):
    """The query string of `GET /v1/traces`."""

    page = serializers.IntegerField(required=False, default=1, min_value=1)
    limit = serializers.IntegerField(
        required=False, default=DEFAULT_PAGE_SIZE, min_value=1, max_value=MAX_PAGE_SIZE
    )
    status = serializers.ChoiceField(required=False, choices=TraceStatus.choices)


class TraceStatsParams(TimeRangeParams):
    """The query string of `GET /v1/traces/stats`."""

    bucket = serializers.ChoiceField(required=False, default="hour", choices=["hour", "day"])


class StatsBucketSerializer(serializers.Serializer):
    """Calls started in one hour or day: how many, their tokens, how many failed."""

    start = serializers.DateTimeField(help_text="Start of the hour or day (UTC).")
    requests = serializers.IntegerField()
    tokens = serializers.IntegerField(help_text="Sum of total tokens.")
    errors = serializers.IntegerField()

    class Meta:
        ref_name = "TraceStatsBucket"


class TraceStatsSerializer(serializers.Serializer):
    """`{buckets: [...]}`, oldest first, one per hour or day of the range, empty ones included."""

    buckets = StatsBucketSerializer(many=True)
