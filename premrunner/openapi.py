"""OpenAPI description helpers: the shared error shape, and schema entries for plain Django views.

drf-spectacular documents DRF views by itself. The streaming and async inference views are plain
Django views, which it skips; `api_operation` gives such a view a documentation-only DRF class,
so that it is listed with the same `extend_schema` vocabulary (request, responses, parameters,
examples) as every other endpoint. That class is never called: Django still routes to the view.
"""

from collections.abc import Callable
from typing import TypeVar

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

View = TypeVar("View", bound=Callable)

ERROR_DESCRIPTIONS = {
    400: "Invalid request: malformed JSON, a missing or wrongly typed field, or a bad value.",
    401: "Missing or invalid bearer token.",
    404: "No such resource (or model: code `model_not_found`).",
    413: "The request body is over MAX_JSON_BODY_SIZE.",
    502: "Ollama answered with an error.",
    503: "Ollama is not reachable.",
}


class ErrorDetailSerializer(serializers.Serializer):
    message = serializers.CharField()
    type = serializers.CharField(help_text="e.g. invalid_request_error, api_error.")
    param = serializers.CharField(allow_null=True, help_text="The parameter at fault, if one.")
    code = serializers.CharField(allow_null=True, help_text="A machine-readable reason.")


class ErrorSerializer(serializers.Serializer):
    """OpenAI's error shape, which every API error uses."""

    error = ErrorDetailSerializer()

    class Meta:
        ref_name = "Error"


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """`responses` entries in the shared error shape for each of `statuses`."""
    return {
        status: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[status])
        for status in statuses
    }


def api_operation(method: str, **schema) -> Callable[[View], View]:
    """Describe `method` of a plain Django view, with `extend_schema`'s keyword arguments.

    Stack one per method a view answers. The view's docstring becomes the description.
    """

    def decorate(view: View) -> View:
        if not hasattr(view, "cls"):
            # DRF and drf-spectacular recognise an API view by `cls` and `initkwargs`.
            view.cls = type(view.__name__, (APIView,), {"__doc__": view.__doc__})
            view.initkwargs = {}

        def documented_method(self, request, *args, **kwargs):
            # Only the schema reads this method: Django routes requests to the view itself.
            return view(request, *args, **kwargs)

        documented_method.__doc__ = view.__doc__
        setattr(view.cls, method.lower(), extend_schema(**schema)(documented_method))
        return view

    return decorate


def name_prem_twins(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: `/api/v1/...` twins of `/v1/...` routes get their own operation ids.

    The Prem SDK calls the same views under /api/v1; "prem" before the id keeps ids unique.
    """
    paths = result["paths"]
    for path, operations in paths.items():
        if path.startswith("/api/v1/") and path.removeprefix("/api") in paths:
            for operation in operations.values():
                name = operation["operationId"]
                operation["operationId"] = f"prem{name[:1].upper()}{name[1:]}"
    return result
