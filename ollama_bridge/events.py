"""Live events for the `/ws/status` WebSocket: Ollama status changes and model-import progress.

Publishers call `publish_event` (from threads and sync code) or `apublish_event` (from async
code); the status consumer relays each event to every connected client as JSON.
"""

import asyncio
import logging

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

STATUS_GROUP = "premrunner-status"
# The channel-layer message type; the consumer's `status_event` method receives it.
MESSAGE_TYPE = "status.event"
# Longest wait of a publishing thread for the server's event loop to take its event.
HANDOFF_TIMEOUT = 5.0

# The event loop that serves the WebSocket consumers, once one has connected. Threads hand their
# events to it: the in-memory layer's queues belong to that loop and wake no other.
_server_loop: asyncio.AbstractEventLoop | None = None
_unfinished: set[asyncio.Task] = set()


def attach_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Make `publish_event` deliver through `loop`, the loop the status consumers run on."""
    global _server_loop
    _server_loop = loop


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
    """Sync form of `apublish_event`, for worker threads and management commands.

    Runs on the consumers' event loop when there is one (so in-memory subscribers wake at once),
    else on a loop of its own (Redis subscribers in other processes still get it).
    """
    try:
        own_loop = asyncio.get_running_loop()
    except RuntimeError:
        own_loop = None
    if own_loop is not None:  # sync code on an event loop's thread (a shutdown hook): never block
        task = own_loop.create_task(apublish_event(event))
        _unfinished.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(_unfinished.discard)
        return
    loop = _server_loop
    if loop is not None and loop.is_running():
        future = asyncio.run_coroutine_threadsafe(apublish_event(event), loop)
        try:
            future.result(timeout=HANDOFF_TIMEOUT)
        except TimeoutError:
            future.cancel()
            logger.warning("The event loop did not take the %s event in time", event.get("type"))
        return
    asyncio.run(apublish_event(event))
