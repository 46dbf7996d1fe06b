"""The traces API: list with filters, one trace, and counts over time for the UI's chart."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from premrunner.openapi import error_responses
from traces.serializers import (
    TraceListParams,
    TracePageSerializer,
    TraceSerializer,
    TraceStatsParams,
    TraceStatsSerializer,
)
from traces.services import get_trace, list_traces, trace_stats


def _query_params(serializer_class: type, request: Request) -> dict:
    """The validated query string; a bad value raises DRF's ValidationError (an OpenAI 400)."""
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data


class TraceListView(APIView):
    @extend_schema(
        operation_id="listTraces",
        parameters=[TraceListParams],
        responses={200: TracePageSerializer, **error_responses(400, 401)},
        tags=["traces"],
    )
    def get(self, request: Request) -> Response:
        """Traces newest first, a page at a time, filtered by model, status and time range.

        On PostgreSQL the unfiltered `total` of more than 100,000 traces is an estimate.
        """
        page = list_traces(**_query_params(TraceListParams, request))
        return Response(TracePageSerializer(page).data)


class TraceStatsView(APIView):
    @extend_schema(
        operation_id="traceStats",
        parameters=[TraceStatsParams],
        responses={200: TraceStatsSerializer, **error_responses(400, 401)},
        tags=["traces"],
    )
    def get(self, request: Request) -> Response:
        """Requests, tokens and errors per hour or day, for the chart of use over time."""
        buckets = trace_stats(**_query_params(TraceStatsParams, request))
        return Response(TraceStatsSerializer({"buckets": buckets}).data)


class TraceDetailView(APIView):
    @extend_schema(
        operation_id="getTrace",
        responses={200: TraceSerializer, **error_responses(401, 404)},
        tags=["traces"],
    )
    def get(self, request: Request, trace_id: str) -> Response:
        """One trace by its id (the `X-Trace-Id` header of the call it records)."""
        return Response(TraceSerializer(get_trace(trace_id=trace_id)).data)
