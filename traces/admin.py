"""The Django admin as the trace browser: a read-only list and detail of every call."""

import json

from django.contrib import admin
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString

from traces.models import Trace


def _pre(text: str) -> SafeString:
    """`text` escaped inside a wrapping <pre>, so long prompts stay readable."""
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


def _pretty_json(value: object) -> SafeString:
    return _pre(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))


class IndexedValuesFilter(admin.AllValuesFieldListFilter):
    """Filter by each value of an indexed column; the choices come from jumps through its index."""

    def __init__(self, field, request, params, model, model_admin, field_path) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = Trace.objects.distinct_values(field.name)


class TracePaginator(Paginator):
    """Counts with `count_fast`, so the unfiltered list of a big table is not counted row by row."""

    @cached_property
    def count(self) -> int:
        return self.object_list.count_fast()


@admin.register(Trace)
class TraceAdmin(admin.ModelAdmin):
    list_display = ["created_at", "endpoint", "model", "status", "tokens", "duration", "stream"]
    list_filter = [
        "status",
        ("model", IndexedValuesFilter),
        "stream",
        ("endpoint", IndexedValuesFilter),
    ]
    search_fields = ["input", "output"]
    date_hierarchy = "created_at"
    list_per_page = 50
    paginator = TracePaginator
    # A second, unfiltered count of a million rows would cost more than the page itself.
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["id", "created_at", "endpoint", "model", "status", "stream"]}),
        ("Conversation", {"fields": ["pretty_input", "pretty_output", "error"]}),
        (
            "Usage and timing",
            {
                "fields": [
                    "prompt_tokens",
                    "completion_tokens",
                    "total_tokens",
                    "duration_ms",
                    "ttft_ms",
                    "load_duration_ms",
                    "tokens_per_second",
                ]
            },
        ),
        ("Request parameters", {"fields": ["pretty_request_params"]}),
    ]
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]

    @admin.display(description="Tokens", ordering="total_tokens")
    def tokens(self, trace: Trace) -> int | None:
        return trace.total_tokens

    @admin.display(description="Duration (ms)", ordering="duration_ms")
    def duration(self, trace: Trace) -> int | None:
        return trace.duration_ms

    @admin.display(description="Input")
    def pretty_input(self, trace: Trace) -> SafeString:
        return _pretty_json(trace.input)

    @admin.display(description="Output")
    def pretty_output(self, trace: Trace) -> SafeString:
        return _pre(trace.output)

    @admin.display(description="Request parameters")
    def pretty_request_params(self, trace: Trace) -> SafeString:
        return _pretty_json(trace.request_params)

    # Traces are the record of what happened: they are read, never written by hand.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Trace | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Trace | None = None) -> bool:
        return False
