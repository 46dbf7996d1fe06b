"""`/ws/status`: Ollama status changes and model-import progress, pushed as JSON text frames."""

import asyncio
import logging
from urllib.parse import urlsplit

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from ollama_bridge.events import STATUS_GROUP, attach_server_loop
from ollama_bridge.status import STATUS_EVENT, aollama_status, status_watcher
from premrunner.auth import token_is_valid, websocket_token

logger = logging.getLogger(__name__)

# Close codes a browser can read: the 4000 range mirrors the HTTP status.
CLOSE_UNAUTHORIZED = 4401


def origin_is_allowed(scope: dict) -> bool:
    """True when the handshake has no Origin (not a browser) or one whose host is in
    ALLOWED_HOSTS, so that no other web site can open the socket from a visitor's browser."""
    origin = dict(scope.get("headers") or []).get(b"origin")
    if origin is None:
        return True
    domain, _ = split_domain_port(urlsplit(origin.decode("latin-1")).netloc)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


class StatusConsumer(AsyncJsonWebsocketConsumer):
    """Sends `{"type": "ollama.status", "status": {...}}` on connect, then every event published
    to the status group (`ollama.status`, `model.progress`). Clients only listen."""

    listening = False

    async def connect(self) -> None:
        if not origin_is_allowed(self.scope):
            logger.warning("Refused /ws/status from a foreign origin")
            await self.close()  # before accept: the handshake is rejected (HTTP 403)
            return
        if not token_is_valid(websocket_token(self.scope)):
            # Accepted first so that a browser sees why: close code 4401.
            await self.accept()
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        attach_server_loop(asyncio.get_running_loop())
        await self.channel_layer.group_add(STATUS_GROUP, self.channel_name)
        await self.accept()
        self.listening = True
        status_watcher.subscribe()
        await self.send_json({"type": STATUS_EVENT, "status": await aollama_status()})

    async def disconnect(self, code: int) -> None:
        if self.listening:
            self.listening = False
            status_watcher.unsubscribe()
            await self.channel_layer.group_discard(STATUS_GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Messages from clients are ignored, JSON or not: this socket only reports."""

    async def status_event(self, message: dict) -> None:
        """Relay one published event to this client."""
        await self.send_json(message["event"])
