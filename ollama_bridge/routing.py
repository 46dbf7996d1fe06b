"""WebSocket routes of the Ollama bridge."""

websocket_urlpatterns: list = []
