"""Live events for the `/ws/status` WebSocket: Ollama status changes and model-import progress.

Publishers call `publish_event` (from threads and sync code) or `apublish_event` (from async
code); the status consumer relays each event to every connected client as JSON.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

STATUS_GROUP = "premrunner-status"
# The channel-layer message type; the consumer's `status_event` method receives it.
MESSAGE_TYPE = "status.event"


async def apublish_event(event: dict) -> None:
    """Send `event` (a JSON-ready dict with a "type" key) to every status subscriber."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(STATUS_GROUP, {"type": MESSAGE_TYPE, "event": event})
    except Exception:  # a down Redis must never break the work that publishes
        logger.warning("Could not publish %s event", event.get("type"), exc_info=True)


def publish_event(event: dict) -> None:
    """Sync form of `apublish_event`, for worker threads and management commands."""
    async_to_sync(apublish_event)(event)
