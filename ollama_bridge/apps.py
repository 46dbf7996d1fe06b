"""App configuration for ollama_bridge."""

from django.apps import AppConfig


class OllamaBridgeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ollama_bridge"
    verbose_name = "Ollama bridge"
