"""HTTP routes of the ollama_bridge app (mounted by premrunner.urls)."""

urlpatterns: list = []
