"""WebSocket routes of every app; each consumer checks the token in its `connect()`."""

from ollama_bridge.routing import websocket_urlpatterns as ollama_bridge_websockets

websocket_urlpatterns = [*ollama_bridge_websockets]
