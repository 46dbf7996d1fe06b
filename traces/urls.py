"""HTTP routes of the traces app (mounted by premrunner.urls)."""

urlpatterns: list = []
