"""WebSocket routes of the Ollama bridge."""

from django.urls import path

from ollama_bridge.consumers import StatusConsumer

websocket_urlpatterns = [
    path("ws/status", StatusConsumer.as_asgi()),
]
