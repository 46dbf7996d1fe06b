"""ASGI entry point: HTTP through Django, WebSockets through Channels with the bearer-token rule."""

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress

import django
from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "premrunner.settings")
django.setup(set_prefix=False)

# Imported after Django is set up: the routing pulls in consumers and models.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from premrunner.routing import websocket_urlpatterns  # noqa: E402

# Idle request threads kept for reuse; more concurrent requests than this start new ones.
IDLE_REQUEST_THREADS = 32


class PooledThreadASGIHandler(ASGIHandler):
    """Django's ASGI handler, with each request's thread taken from a pool instead of started.

    Django runs a request's synchronous work (the request_started and request_finished signals,
    any sync view or middleware, database access) on one thread of its own. It starts that
    thread for every request and joins it afterwards in yet another new thread: two thread
    starts per request, each waiting for the new thread to run. Here each request still has a
    thread to itself for as long as it runs, but the thread is reused, as a threaded WSGI server
    reuses its workers; Django's signals close stale database connections per request either way.
    """

    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # raises Django's error
            return
        executor = self._idle.pop() if self._idle else ThreadPoolExecutor(max_workers=1)
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self._release(executor)

    def _release(self, executor: ThreadPoolExecutor) -> None:
        """Return `executor` to the pool once its thread has finished this request's work.

        Work still running (a sync call whose request was cancelled) finishes first, so the
        next request never waits behind it.
        """
        loop = asyncio.get_running_loop()

        def idle() -> None:
            if len(self._idle) < IDLE_REQUEST_THREADS:
                self._idle.append(executor)
            else:
                executor.shutdown(wait=False)

        def finished(_future) -> None:
            with suppress(RuntimeError):  # the server has stopped and closed its loop
                loop.call_soon_threadsafe(idle)

        executor.submit(lambda: None).add_done_callback(finished)


application = ProtocolTypeRouter(
    {
        "http": PooledThreadASGIHandler(),
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
