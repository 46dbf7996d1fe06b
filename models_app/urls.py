"""HTTP routes of the models_app app (mounted by premrunner.urls)."""

urlpatterns: list = []
