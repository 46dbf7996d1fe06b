"""App configuration for uploads: starts the import worker in server processes."""

import os
import sys

from django.apps import AppConfig


class UploadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "uploads"
    verbose_name = "Uploads"

    def ready(self) -> None:
        from ollama_bridge.apps import is_server_process
        from uploads import checks  # noqa: F401  (registers the settings checks)
        from uploads.worker import start_worker

        if is_server_process(sys.argv, os.environ):
            start_worker()
