"""HTTP views of the Ollama bridge."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from ollama_bridge.status import aollama_status


@require_GET
async def ollama_status_view(request: HttpRequest) -> JsonResponse:
    """`{status, version, host, managed, pid, models_loaded, message}` of Ollama right now."""
    return JsonResponse(await aollama_status())
