"""HTTP routes of the uploads app (mounted by premrunner.urls, before models_app's)."""

from django.urls import path

from uploads import views

urlpatterns = [
    path("v1/chunked-upload/start", views.ChunkedStartView.as_view(), name="chunked-start"),
    path("v1/chunked-upload/chunk", views.ChunkView.as_view(), name="chunked-chunk"),
    path(
        "v1/chunked-upload/complete", views.ChunkedCompleteView.as_view(), name="chunked-complete"
    ),
    path(
        "v1/chunked-upload/<str:model_id>", views.ChunkedUploadView.as_view(), name="chunked-upload"
    ),
    path("v1/models/upload", views.ModelUploadView.as_view(), name="model-upload"),
    path("v1/models/import", views.ModelImportView.as_view(), name="model-import"),
]
