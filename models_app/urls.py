"""HTTP routes of the models_app app (mounted by premrunner.urls, after uploads')."""

from django.urls import path

from models_app import views

urlpatterns = [
    path("v1/models", views.ModelListView.as_view(), name="models"),
    path("api/v1/models", views.ModelListView.as_view(), name="prem-models"),
    path("v1/models/<str:reference>/status", views.ModelStatusView.as_view(), name="model-status"),
    path("v1/models/<str:reference>/retry", views.ModelRetryView.as_view(), name="model-retry"),
    # Last: model names may hold `/` and `:`.
    path("v1/models/<path:reference>", views.ModelDetailView.as_view(), name="model-detail"),
]
