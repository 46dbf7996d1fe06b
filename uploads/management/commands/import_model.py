"""`manage.py import_model PATH --name NAME`: import a model on this machine, with a bar."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from models_app.models import Model, ModelStatus
from premrunner.errors import ApiError
from uploads.services.direct import import_server_path
from uploads.services.importing import run_import
from uploads.services.registration import options_from

BAR_WIDTH = 30


class ProgressBar:
    """A one-line text bar on a stream, redrawn in place: `[#####-----]  50%  message`."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self._last = ""

    def __call__(self, model: Model) -> None:
        filled = round(model.progress * BAR_WIDTH)
        line = (
            f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {model.progress:4.0%}  "
            f"{model.status_message}"[:100]
        )
        if line != self._last:
            self.stream.write("\r" + line.ljust(len(self._last)), ending="")
            self.stream.flush()
            self._last = line

    def finish(self) -> None:
        if self._last:
            self.stream.write("")


class Command(BaseCommand):
    help = (
        "Import a model file (GGUF, or a ZIP/tar holding a GGUF, a Hugging Face safetensors "
        "model or a LoRA adapter) or a model folder on this machine into Ollama. The file "
        "stays where it is."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="The model file or folder.")
        parser.add_argument("--name", default="", help="Model name in Ollama (default: file's).")
        parser.add_argument("--system", default="", help="System prompt baked into the model.")
        parser.add_argument("--template", default="", help="Chat template (Go template).")
        parser.add_argument("--parameters", default="", help="JSON, e.g. '{\"num_ctx\": 4096}'.")
        parser.add_argument("--quantize", default="", help="Q4_K_M, Q4_K_S, Q8_0, F16 or F32.")
        parser.add_argument("--base-model", default="", help="Base model of a LoRA adapter.")

    def handle(self, *args, path: str, **options) -> None:
        try:
            model_options = options_from(
                {
                    "name": options["name"],
                    "system": options["system"],
                    "template": options["template"],
                    "parameters": options["parameters"],
                    "quantize": options["quantize"],
                    "baseModel": options["base_model"],
                }
            )
            model = import_server_path(
                path=str(Path(path).absolute()),
                options=model_options,
                allowed_dirs=None,
                claim=True,
            )
        except ApiError as exc:
            raise CommandError(exc.message) from None
        bar = ProgressBar(self.stderr)
        run_import(model, on_progress=bar)
        bar.finish()
        if model.status != ModelStatus.READY:
            raise CommandError(f"The import of {model.name} failed: {model.error}")
        self.stdout.write(f"{model.name} is ready in Ollama (id {model.pk}).")
