"""The upload API: chunked uploads (the seed's, made resumable), whole uploads, server imports.

Views that take files never read `request.body`: they read the file daphne spooled to disk
(uploads.bodies) or, elsewhere, the request stream, in bounded pieces.
"""

import contextlib
import uuid
from collections.abc import Iterator
from typing import BinaryIO

from django.conf import settings
from django.http import HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from models_app.payloads import model_item
from premrunner.errors import ApiError
from uploads.bodies import request_body_path
from uploads.services import chunked
from uploads.services.direct import (
    FilePartHandler,
    import_server_path,
    parse_multipart,
    receive_whole_upload,
)
from uploads.services.registration import options_from


class StartSerializer(serializers.Serializer):
    fileName = serializers.CharField(max_length=255)
    fileSize = serializers.IntegerField(min_value=1)
    modelName = serializers.CharField(required=False, allow_blank=True)
    system = serializers.CharField(required=False, allow_blank=True)
    template = serializers.CharField(required=False, allow_blank=True)
    parameters = serializers.DictField(required=False)
    quantize = serializers.CharField(required=False, allow_blank=True)
    baseModel = serializers.CharField(required=False, allow_blank=True)


class CompleteSerializer(serializers.Serializer):
    modelId = serializers.CharField()


class ImportSerializer(serializers.Serializer):
    path = serializers.CharField()
    name = serializers.CharField(required=False, allow_blank=True)
    system = serializers.CharField(required=False, allow_blank=True)
    template = serializers.CharField(required=False, allow_blank=True)
    parameters = serializers.DictField(required=False)
    quantize = serializers.CharField(required=False, allow_blank=True)
    baseModel = serializers.CharField(required=False, allow_blank=True)


def _valid(serializer_class: type, request: Request) -> dict:
    if not isinstance(request.data, dict):
        raise ApiError("The request body must be a JSON object.")
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _int(value: object, name: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise ApiError(f"'{name}' must be a whole number.", param=name) from None


@contextlib.contextmanager
def _body(request: HttpRequest) -> Iterator[tuple[BinaryIO, int]]:
    """The request body as a readable stream, and its length in bytes."""
    path = request_body_path(request)
    if path is None:
        yield request, int(request.META.get("CONTENT_LENGTH") or 0)
        return
    with path.open("rb") as handle:
        yield handle, path.stat().st_size


@contextlib.contextmanager
def _chunk(request: HttpRequest) -> Iterator[tuple[dict, chunked.ChunkSource]]:
    """(fields, chunk) of a chunk request: multipart (the seed's fields), or raw bytes with
    modelId, chunkIndex and totalChunks in the query string."""
    with _body(request) as (body, length):
        if not request.content_type.startswith("multipart/"):
            yield request.GET, chunked.ChunkSource(stream=body, length=length)
            return
        spooled = settings.UPLOAD_TMP_DIR / f"chunk-{uuid.uuid4()}.part"
        handler = FilePartHandler(
            field_name="chunk",
            destination=spooled,
            limit=settings.UPLOAD_CHUNK_SIZE,
            hash_it=False,
        )
        meta = {**request.META, "CONTENT_LENGTH": str(length)}
        try:
            fields, part = parse_multipart(meta=meta, body=body, handler=handler)
            if part is None:
                raise ApiError("Send the chunk's bytes in the multipart field 'chunk'.")
            with part.path.open("rb") as chunk_file:
                yield fields, chunked.ChunkSource(stream=chunk_file, length=part.size)
        finally:
            spooled.unlink(missing_ok=True)


class ChunkedStartView(APIView):
    @extend_schema(
        operation_id="startChunkedUpload",
        request=StartSerializer,
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="`{modelId, name, chunkSize, totalChunks, fileSize}`",
            ),
            409: OpenApiResponse(description="The model name is taken."),
            413: OpenApiResponse(description="Over MAX_UPLOAD_SIZE."),
            507: OpenApiResponse(description="Not enough free disk."),
        },
        tags=["uploads"],
    )
    def post(self, request: Request) -> Response:
        """Begin a chunked upload: the model is registered and its file reserved on disk."""
        data = _valid(StartSerializer, request)
        upload = chunked.start_upload(
            file_name=data["fileName"], file_size=data["fileSize"], options=options_from(data)
        )
        return Response(
            {
                "modelId": str(upload.model_id),
                "name": upload.model.name,
                "chunkSize": upload.chunk_size,
                "totalChunks": upload.total_chunks,
                "fileSize": upload.file_size,
            }
        )


class ChunkView(APIView):
    parser_classes: list = []  # the body is a file, read here in bounded pieces

    @extend_schema(
        operation_id="uploadChunk",
        request={
            "multipart/form-data": OpenApiTypes.OBJECT,
            "application/octet-stream": OpenApiTypes.BINARY,
        },
        parameters=[
            OpenApiParameter("modelId", str, description="Raw bodies: the upload's id."),
            OpenApiParameter("chunkIndex", int, description="Raw bodies: 0-based index."),
            OpenApiParameter("totalChunks", int, description="Raw bodies: optional check."),
        ],
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="`{success, modelId, chunkIndex, receivedChunks, totalChunks, "
                "complete}`",
            ),
            422: OpenApiResponse(description="The file cannot be a model; upload deleted."),
        },
        tags=["uploads"],
    )
    def post(self, request: Request) -> Response:
        """Write one chunk into place. Multipart fields `chunk`, `modelId`, `chunkIndex`,
        `totalChunks`; or a raw body with those (but `chunk`) in the query string."""
        with _chunk(request._request) as (fields, source):
            model_id = chunked.parse_model_id(fields.get("modelId"))
            index = _int(fields.get("chunkIndex"), "chunkIndex")
            total = fields.get("totalChunks")
            upload, received = chunked.receive_chunk(
                model_id=model_id,
                index=index,
                total_chunks=None if total in (None, "") else _int(total, "totalChunks"),
                source=source,
            )
        return Response(
            {
                "success": True,
                "modelId": str(model_id),
                "chunkIndex": index,
                "receivedChunks": received,
                "totalChunks": upload.total_chunks,
                "complete": received == upload.total_chunks,
            }
        )


class ChunkedCompleteView(APIView):
    @extend_schema(
        operation_id="completeChunkedUpload",
        request=CompleteSerializer,
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="`{success, model}`"),
            409: OpenApiResponse(description="Chunks are missing (code upload_incomplete)."),
        },
        tags=["uploads"],
    )
    def post(self, request: Request) -> Response:
        """Finish an upload: every chunk there, SHA-256 computed, the import queued."""
        model_id = chunked.parse_model_id(_valid(CompleteSerializer, request)["modelId"])
        return Response(
            {"success": True, "model": model_item(chunked.complete_upload(model_id=model_id))}
        )


class ChunkedUploadView(APIView):
    @extend_schema(
        operation_id="chunkedUploadState",
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="`{modelId, name, fileName, fileSize, chunkSize, totalChunks, "
                "receivedChunks: [indexes], status, expiresAt}`",
            ),
            404: OpenApiResponse(description="No such upload in progress."),
        },
        tags=["uploads"],
    )
    def get(self, request: Request, model_id: str) -> Response:
        """The chunks received so far, to resume an interrupted upload."""
        upload = chunked.get_upload(model_id=chunked.parse_model_id(model_id))
        return Response(
            {
                "modelId": str(upload.model_id),
                "name": upload.model.name,
                "fileName": upload.file_name,
                "fileSize": upload.file_size,
                "chunkSize": upload.chunk_size,
                "totalChunks": upload.total_chunks,
                "receivedChunks": upload.received_indexes(),
                "status": upload.model.status,
                "expiresAt": upload.expires_at.isoformat().replace("+00:00", "Z"),
            }
        )

    @extend_schema(
        operation_id="abortChunkedUpload",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="`{success, modelId}`")},
        tags=["uploads"],
    )
    def delete(self, request: Request, model_id: str) -> Response:
        """Cancel an upload in progress and remove everything it stored."""
        parsed = chunked.parse_model_id(model_id)
        chunked.abort_upload(model_id=parsed)
        return Response({"success": True, "modelId": str(parsed)})


class ModelUploadView(APIView):
    parser_classes: list = []  # the body is read here, streamed to disk

    @extend_schema(
        operation_id="uploadModel",
        request={"multipart/form-data": OpenApiTypes.OBJECT},
        responses={
            201: OpenApiResponse(OpenApiTypes.OBJECT, description="`{success, model}`"),
            413: OpenApiResponse(description="Over MAX_UPLOAD_SIZE (nothing stored)."),
            422: OpenApiResponse(description="Not a model file."),
            507: OpenApiResponse(description="Not enough free disk (nothing stored)."),
        },
        tags=["uploads"],
    )
    def post(self, request: Request) -> Response:
        """Upload a whole model file: multipart field `file`, plus `name`, `system`,
        `template`, `parameters` (JSON text), `quantize`, `baseModel`."""
        http = request._request
        if not http.content_type.startswith("multipart/"):
            raise ApiError("Send the model as multipart/form-data with the file in 'file'.")
        with _body(http) as (body, length):
            meta = {**http.META, "CONTENT_LENGTH": str(length)}
            model = receive_whole_upload(meta=meta, body=body)
        return Response({"success": True, "model": model_item(model)}, status=201)


class ModelImportView(APIView):
    @extend_schema(
        operation_id="importServerModel",
        request=ImportSerializer,
        responses={
            201: OpenApiResponse(OpenApiTypes.OBJECT, description="`{success, model}`"),
            403: OpenApiResponse(description="Outside IMPORT_DIRS, or IMPORT_DIRS unset."),
        },
        tags=["uploads"],
    )
    def post(self, request: Request) -> Response:
        """Import a model file (or folder) already on the server, from IMPORT_DIRS only."""
        data = _valid(ImportSerializer, request)
        model = import_server_path(
            path=data["path"], options=options_from(data), allowed_dirs=settings.IMPORT_DIRS
        )
        return Response({"success": True, "model": model_item(model)}, status=201)
