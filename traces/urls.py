"""HTTP routes of the traces app (mounted by premrunner.urls)."""

from django.urls import path

from traces import views

urlpatterns = [
    path("v1/traces", views.TraceListView.as_view(), name="trace-list"),
    path("v1/traces/stats", views.TraceStatsView.as_view(), name="trace-stats"),
    path("v1/traces/<str:trace_id>", views.TraceDetailView.as_view(), name="trace-detail"),
]
