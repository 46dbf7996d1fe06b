"""Django admin as the model browser: status, size, format, digest, error; re-import, delete."""

from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat

from models_app import services
from models_app.models import Model
from ollama_bridge.errors import OllamaError
from premrunner.errors import ApiError


@admin.register(Model)
class ModelAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "format", "human_size", "percent", "created_at"]
    list_filter = ["status", "format", "origin", "container"]
    search_fields = ["name", "alias", "source_filename", "sha256", "error"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    actions = ["import_again", "delete_everywhere"]
    readonly_fields = [
        "id",
        "name",
        "status",
        "progress",
        "status_message",
        "error",
        "format",
        "container",
        "origin",
        "human_size",
        "sha256",
        "source_filename",
        "file_path",
        "base_model",
        "import_attempts",
        "import_owner",
        "created_at",
        "updated_at",
        "imported_at",
    ]
    fieldsets = [
        (None, {"fields": ["id", "name", "alias", "status", "progress", "status_message"]}),
        ("Failure", {"fields": ["error"]}),
        (
            "File",
            {
                "fields": [
                    "format",
                    "container",
                    "origin",
                    "human_size",
                    "sha256",
                    "source_filename",
                    "file_path",
                ]
            },
        ),
        (
            "Passed to Ollama's create",
            {"fields": ["system_prompt", "template", "parameters", "quantize", "base_model"]},
        ),
        (
            "Import",
            {
                "fields": [
                    "import_attempts",
                    "import_owner",
                    "created_at",
                    "updated_at",
                    "imported_at",
                ]
            },
        ),
    ]

    def has_add_permission(self, request) -> bool:
        return False  # models arrive by upload or import, never by form

    @admin.display(description="size", ordering="size")
    def human_size(self, model: Model) -> str:
        return filesizeformat(model.size) if model.size is not None else "—"

    @admin.display(description="progress", ordering="progress")
    def percent(self, model: Model) -> str:
        return f"{model.progress:.0%}"

    @admin.action(description="Import again into Ollama")
    def import_again(self, request, queryset) -> None:
        for model in queryset:
            try:
                services.retry_import(reference=str(model.pk))
            except ApiError as exc:
                self.message_user(request, f"{model.name}: {exc.message}", messages.WARNING)
            else:
                self.message_user(request, f"{model.name}: queued for import.")

    @admin.action(description="Delete from PremRunner and Ollama", permissions=["delete"])
    def delete_everywhere(self, request, queryset) -> None:
        self.delete_queryset(request, queryset)

    def delete_model(self, request, obj: Model) -> None:
        self.delete_queryset(request, [obj])

    def delete_queryset(self, request, queryset) -> None:
        """Every delete (the action, the page's button) removes the model everywhere."""
        for model in queryset:
            try:
                services.delete_model(reference=str(model.pk))
            except OllamaError as exc:
                self.message_user(request, f"{model.name}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{model.name}: deleted from Ollama and disk.")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # replaced by delete_everywhere
        return actions
