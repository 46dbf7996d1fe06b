"""The models API: the catalogue (OpenAI's list plus the UI's entries), one model, status,
delete and retry."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from models_app.payloads import model_item, ollama_item, openai_model
from models_app.services import (
    delete_model,
    find_callable_model,
    get_catalogue,
    get_uploaded_model,
    retry_import,
)

NOT_FOUND = OpenApiResponse(description="No such model (code `model_not_found`).")


class ModelListView(APIView):
    @extend_schema(
        operation_id="listModels",
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="`object: list`, OpenAI's `data` (callable models), the UI's "
                "`models` (uploads in any status and Ollama's own) and `ollamaError`.",
            )
        },
        tags=["models"],
    )
    def get(self, request: Request) -> Response:
        """Every model: OpenAI's list of callable ones, plus all entries for the UI."""
        catalogue = get_catalogue()
        return Response(
            {
                "object": "list",
                "data": [
                    openai_model(name, uploaded=uploaded, tag=tag)
                    for name, uploaded, tag in catalogue.callable_models()
                ],
                "models": [model_item(model) for model in catalogue.uploaded]
                + [ollama_item(tag) for tag in catalogue.ollama_only()],
                "ollamaError": catalogue.ollama_error or None,
            }
        )


class ModelDetailView(APIView):
    @extend_schema(
        operation_id="retrieveModel",
        responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND},
        tags=["models"],
    )
    def get(self, request: Request, reference: str) -> Response:
        """OpenAI's model object of a callable model (ids may hold `:` and `/`)."""
        name, uploaded, tag = find_callable_model(reference=reference)
        return Response(openai_model(name, uploaded=uploaded, tag=tag))

    @extend_schema(
        operation_id="deleteModel",
        responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND},
        tags=["models"],
    )
    def delete(self, request: Request, reference: str) -> Response:
        """Delete a model from Ollama, the database and disk (OpenAI's `deleted` answer)."""
        name = delete_model(reference=reference)
        return Response({"id": name, "object": "model", "deleted": True, "success": True})


class ModelStatusView(APIView):
    @extend_schema(
        operation_id="modelStatus",
        responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND},
        tags=["models"],
    )
    def get(self, request: Request, reference: str) -> Response:
        """Where an uploaded model stands: status, progress, its message and any error."""
        return Response(model_item(get_uploaded_model(reference=reference)))


class ModelRetryView(APIView):
    @extend_schema(
        operation_id="retryModelImport",
        request=None,
        responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND},
        tags=["models"],
    )
    def post(self, request: Request, reference: str) -> Response:
        """Import a failed (or ready) uploaded model into Ollama again."""
        return Response({"success": True, "model": model_item(retry_import(reference=reference))})
