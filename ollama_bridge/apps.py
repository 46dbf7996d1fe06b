"""App configuration for ollama_bridge: starts the Ollama supervisor in server processes."""

from django.apps import AppConfig


class OllamaBridgeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ollama_bridge"
    verbose_name = "Ollama bridge"

    def ready(self) -> None:
        from ollama_bridge.status import publish_current_status
        from ollama_bridge.supervisor import manages_ollama_here, start_supervisor
        from premrunner.lifecycle import runs_background_work

        if runs_background_work() and manages_ollama_here():
            start_supervisor(on_change=publish_current_status)
