"""App configuration for uploads: starts the import worker in server processes."""

from django.apps import AppConfig


class UploadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "uploads"
    verbose_name = "Uploads"

    def ready(self) -> None:
        from premrunner.lifecycle import runs_background_work
        from uploads import checks  # noqa: F401  (registers the settings checks)
        from uploads.worker import start_worker

        if runs_background_work():
            start_worker()
