"""The durable record of every inference call (the seed's `traces` table, grown up)."""

import json
import uuid
from datetime import UTC, datetime, timedelta

from django.db import connections, models
from django.db.models.functions import Coalesce, Trunc
from django.utils import timezone


class TraceStatus(models.TextChoices):
    SUCCESS = "success", "Success"
    ERROR = "error", "Error"
    CANCELLED = "cancelled", "Cancelled"


class TextJSONEncoder(json.JSONEncoder):
    """Keeps text as itself rather than \\u escapes, so a search finds words in any language."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **(kwargs | {"ensure_ascii": False}))


def period_start(moment: datetime, kind: str) -> datetime:
    """The start (UTC) of the "year", "month", "day" or "hour" that holds `moment`."""
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if kind == "hour":
        return moment
    moment = moment.replace(hour=0)
    if kind == "day":
        return moment
    moment = moment.replace(day=1)
    return moment if kind == "month" else moment.replace(month=1)


def next_period(start: datetime, kind: str) -> datetime:
    """The start of the period after the one that begins at `start`."""
    if kind == "hour":
        return start + timedelta(hours=1)
    if kind == "day":
        return start + timedelta(days=1)
    if kind == "year" or start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


class TruncUTC(Trunc):
    """Trunc to the UTC day or hour, computed by SQLite itself.

    Django's SQLite Trunc calls a Python function per row, ten times slower over the hundreds
    of thousands of rows a month of traces holds; SQLite stores UTC text, which strftime cuts.
    """

    SQLITE_FORMATS = {"day": "%Y-%m-%d 00:00:00", "hour": "%Y-%m-%d %H:00:00"}

    def __init__(self, expression: str, kind: str) -> None:
        super().__init__(expression, kind, output_field=models.DateTimeField(), tzinfo=UTC)

    def as_sqlite(self, compiler, connection, **extra_context) -> tuple[str, tuple]:
        sql, params = compiler.compile(self.lhs)
        return f"strftime(%s, {sql})", (self.SQLITE_FORMATS[self.kind], *params)


# Below this many rows an exact count is fast enough on any database.
ESTIMATE_COUNTS_FROM = 100_000


class TraceQuerySet(models.QuerySet):
    def matching(
        self,
        *,
        model: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> "TraceQuerySet":
        """Traces of `model` with `status`, created in [since, until); None leaves a filter out."""
        traces = self
        if model:
            traces = traces.filter(model=model)
        if status:
            traces = traces.filter(status=status)
        if since is not None:
            traces = traces.filter(created_at__gte=since)
        if until is not None:
            traces = traces.filter(created_at__lt=until)
        return traces

    def datetimes(self, field_name: str, kind: str, order: str = "ASC", tzinfo=None):
        """The UTC years, months, days or hours that hold traces (the admin's date drill-down).

        Found by seeking the index once per period found instead of truncating every row:
        over a million traces that is milliseconds, not seconds. Returns a list.
        """
        if (
            field_name != "created_at"
            or kind not in ("year", "month", "day", "hour")
            or tzinfo is not None
            or timezone.get_current_timezone_name() != "UTC"
        ):
            return super().datetimes(field_name, kind, order, tzinfo)
        moments = self.order_by("created_at").values_list("created_at", flat=True)
        periods = []
        moment = moments.first()
        while moment is not None:
            periods.append(period_start(moment, kind))
            moment = moments.filter(created_at__gte=next_period(periods[-1], kind)).first()
        return periods if order == "ASC" else periods[::-1]

    def count_fast(self) -> int:
        """count(); for all traces on PostgreSQL, its planner's estimate once the table is big.

        PostgreSQL counts a million rows by visiting them all (hundreds of milliseconds);
        its statistics, which autovacuum keeps current, know the size already.
        """
        connection = connections[self.db]
        if self.query.where or connection.vendor != "postgresql":
            return self.count()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                [self.model._meta.db_table],
            )
            estimate = cursor.fetchone()[0]
        return estimate if estimate >= ESTIMATE_COUNTS_FROM else self.count()

    def distinct_values(self, field_name: str) -> list:
        """The distinct values of an indexed column over all traces, sorted.

        Jumps through the index from one value to the next (a recursive query), where
        SELECT DISTINCT would read every row: milliseconds instead of a third of a second
        over a million traces on PostgreSQL. For the admin's filter choices.
        """
        connection = connections[self.db]
        table = connection.ops.quote_name(self.model._meta.db_table)
        column = connection.ops.quote_name(self.model._meta.get_field(field_name).column)
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH RECURSIVE found(value) AS ("
                f" SELECT MIN({column}) FROM {table}"
                f" UNION ALL"
                f" SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > found.value)"
                f" FROM found WHERE found.value IS NOT NULL"
                f") SELECT value FROM found WHERE value IS NOT NULL"
            )
            return [row[0] for row in cursor.fetchall()]

    def counts_per(self, bucket: str) -> "TraceQuerySet":
        """Rows of {start, requests, tokens, errors} per UTC "hour" or "day" that has traces."""
        return (
            self.order_by()
            .annotate(start=TruncUTC("created_at", bucket))
            .values("start")
            .annotate(
                requests=models.Count("id"),
                tokens=Coalesce(models.Sum("total_tokens"), 0),
                errors=models.Count("id", filter=models.Q(status=TraceStatus.ERROR)),
            )
        )


class Trace(models.Model):
    """One inference call: what was asked, what came back, and how long it took."""

    # Chosen by the caller, so the response can name its trace before the row is written.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The route that was called, e.g. "/v1/chat/completions", "/v1/embeddings", "/api/chat/send".
    endpoint = models.CharField(max_length=100)
    model = models.CharField(max_length=200)
    # The conversation (chat) or the inputs (embeddings), as the client sent them.
    input = models.JSONField(default=list, blank=True, encoder=TextJSONEncoder)
    # The assistant's reply; empty for embeddings and for calls that failed before any output.
    output = models.TextField(blank=True)
    prompt_tokens = models.IntegerField(null=True, blank=True)
    completion_tokens = models.IntegerField(null=True, blank=True)
    total_tokens = models.IntegerField(null=True, blank=True)
    # Wall time of the whole call as the client saw it, in milliseconds (the seed's `duration`).
    duration_ms = models.IntegerField(null=True, blank=True)
    # Time to the first generated token; None when nothing streamed or nothing came back.
    ttft_ms = models.IntegerField(null=True, blank=True)
    # Ollama's own time spent loading the model for this call.
    load_duration_ms = models.IntegerField(null=True, blank=True)
    # Ollama's generation speed: eval_count / eval_duration.
    tokens_per_second = models.FloatField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=TraceStatus.choices, default=TraceStatus.SUCCESS
    )
    error = models.TextField(blank=True)
    stream = models.BooleanField(default=False)
    # Sampling and other options of the request (temperature, max_tokens, tools, ...).
    request_params = models.JSONField(default=dict, blank=True, encoder=TextJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TraceQuerySet.as_manager()

    class Meta:
        # The id breaks ties so that pages never overlap when two calls share a timestamp.
        ordering = ["-created_at", "-id"]
        # Each index ends in the ordering, so a page (filtered or not) is an index range scan.
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="trace_created_idx"),
            models.Index(fields=["model", "-created_at", "-id"], name="trace_model_created_idx"),
            models.Index(fields=["status", "-created_at", "-id"], name="trace_status_created_idx"),
            # Also lets the admin list the distinct endpoints without reading every row.
            models.Index(
                fields=["endpoint", "-created_at", "-id"], name="trace_endpoint_created_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.model} ({self.status})"
