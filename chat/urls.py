"""HTTP routes of the chat app (mounted by premrunner.urls)."""

urlpatterns: list = []
