"""HTTP routes of the uploads app (mounted by premrunner.urls)."""

urlpatterns: list = []
