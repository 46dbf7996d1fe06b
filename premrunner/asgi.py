"""ASGI entry point: HTTP through Django, WebSockets through Channels with the bearer-token rule."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "premrunner.settings")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: the routing pulls in consumers and models.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from premrunner.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
