"""Top-level routes. Each app's urls.py spells out its own full paths under /api and /v1."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularJSONAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from premrunner import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("docs/openapi.json", SpectacularJSONAPIView.as_view(), name="openapi-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="api-docs"),
    path(
        "docs/redoc/",
        SpectacularRedocView.as_view(url_name="openapi-schema", template_name="docs/redoc.html"),
        name="api-redoc",
    ),
    path("api/hello", views.hello, name="hello"),
    path("api/auth/verify", views.verify_token, name="verify-token"),
    # Order matters where paths overlap: the more specific app comes first.
    path("", include("ollama_bridge.urls")),
    path("", include("chat.urls")),
    path("", include("traces.urls")),
    path("", include("uploads.urls")),
    path("", include("models_app.urls")),
    re_path(r"^(?:api|v1)(?:/.*)?$", views.api_not_found),
    path("", views.index, name="index"),
]
