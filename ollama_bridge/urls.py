"""HTTP routes of the ollama_bridge app (mounted by premrunner.urls)."""

from django.urls import path

from ollama_bridge import views

urlpatterns = [
    path("api/ollama/status", views.ollama_status_view, name="ollama-status"),
]
