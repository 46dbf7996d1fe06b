"""HTTP views of the Ollama bridge."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from ollama_bridge.status import aollama_status
from ollama_bridge.supervisor import OllamaState
from premrunner.openapi import api_operation, error_responses


@api_operation(
    "get",
    operation_id="ollamaStatus",
    responses={
        200: inline_serializer(
            "OllamaStatus",
            {
                "status": serializers.ChoiceField([state.value for state in OllamaState]),
                "version": serializers.CharField(allow_null=True),
                "host": serializers.CharField(),
                "managed": serializers.BooleanField(),
                "pid": serializers.IntegerField(allow_null=True),
                "models_loaded": serializers.ListField(child=serializers.DictField()),
                "message": serializers.CharField(allow_null=True),
            },
        ),
        **error_responses(401),
    },
    tags=["ollama"],
)
@require_GET
async def ollama_status_view(request: HttpRequest) -> JsonResponse:
    """`{status, version, host, managed, pid, models_loaded, message}` of Ollama right now."""
    return JsonResponse(await aollama_status())
