"""Recording traces off the request path, and the queries the traces API answers.

`record_trace` only puts the row on a queue; one daemon thread writes what it finds there,
several rows to a statement when calls arrive faster than one write. A failed write is logged
and dropped: a trace must never fail or slow the call it describes.
"""

import atexit
import logging
import math
import queue
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import close_old_connections
from django.utils import timezone

from premrunner.errors import ApiError
from traces.models import Trace, TraceQuerySet, period_start

logger = logging.getLogger(__name__)

# Rows waiting beyond this are dropped (and logged) rather than held in memory without bound.
MAX_PENDING_TRACES = 10_000
# The most rows one INSERT carries when the writer has fallen behind.
MAX_BATCH_SIZE = 500


def new_trace_id() -> str:
    """A fresh trace id, for the `X-Trace-Id` header before the trace is recorded."""
    return str(uuid.uuid4())


class TraceWriter:
    """One daemon thread that writes queued traces, batching them when it falls behind."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Trace | threading.Event] = queue.Queue(MAX_PENDING_TRACES)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, trace: Trace) -> None:
        """Queue `trace` for writing; never blocks. A full queue drops it with a warning."""
        self._ensure_started()
        try:
            self._queue.put_nowait(trace)
        except queue.Full:
            logger.warning("Trace queue full; dropped trace %s of %s", trace.id, trace.endpoint)

    def flush(self, timeout: float) -> bool:
        """Wait until every trace queued before this call is written; False on timeout."""
        if self._thread is None:
            return True
        written = threading.Event()
        try:
            self._queue.put(written, timeout=timeout)
        except queue.Full:
            return False
        return written.wait(timeout)

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="trace-writer", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        while True:
            batch, markers = self._next_batch()
            try:
                if batch:
                    self._write(batch)
            except Exception:  # the writer must outlive any failure, or tracing stops silently
                logger.exception("Trace writer failed on %d traces", len(batch))
            for marker in markers:
                marker.set()

    def _next_batch(self) -> tuple[list[Trace], list[threading.Event]]:
        """Block for one item, then take whatever else is already waiting, up to a batch."""
        batch: list[Trace] = []
        markers: list[threading.Event] = []
        item = self._queue.get()
        while True:
            if isinstance(item, threading.Event):
                markers.append(item)
                break  # a flush waits only for what came before it
            batch.append(item)
            if len(batch) >= MAX_BATCH_SIZE:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
        return batch, markers

    def _write(self, batch: list[Trace]) -> None:
        close_old_connections()  # drop a connection the server closed while the writer idled
        try:
            self._insert(batch)
        finally:
            close_old_connections()  # like a request, hold none between writes (CONN_MAX_AGE)

    def _insert(self, batch: list[Trace]) -> None:
        try:
            Trace.objects.bulk_create(batch)
            return
        except Exception:
            if len(batch) == 1:
                logger.exception("Could not write trace %s", batch[0].id)
                return
            logger.warning("Could not write %d traces at once; writing one by one", len(batch))
        close_old_connections()
        for trace in batch:  # one bad row must not cost the others
            try:
                trace.save(force_insert=True)
            except Exception:
                logger.exception("Could not write trace %s", trace.id)


_writer = TraceWriter()


def record_trace(
    *,
    trace_id: str | uuid.UUID,
    endpoint: str,
    model: str,
    input: Any,
    output: str,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    total_tokens: int | None,
    duration_ms: int | None,
    ttft_ms: int | None = None,
    load_duration_ms: int | None = None,
    tokens_per_second: float | None = None,
    status: str,
    error: str = "",
    stream: bool = False,
    request_params: dict | None = None,
) -> None:
    """Record one inference call without waiting for the database.

    Takes the call's facts (`input` is the JSON the client sent: messages or embedding inputs;
    `status` one of TraceStatus; durations in milliseconds). The trace's created_at is now.
    Cheap and non-blocking, so sync and async views alike call it directly; the row is written
    by a background thread moments later. `input` and `request_params` are stored as given:
    the caller must not change them afterwards. Never raises for a failed write.
    """
    _writer.submit(
        Trace(
            id=trace_id,
            endpoint=endpoint,
            model=model,
            input=input,
            output=output or "",
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=total_tokens,
            duration_ms=duration_ms,
            ttft_ms=ttft_ms,
            load_duration_ms=load_duration_ms,
            tokens_per_second=tokens_per_second,
            status=status,
            error=error or "",
            stream=stream,
            request_params=request_params or {},
            created_at=timezone.now(),
        )
    )


def flush_traces(timeout: float = 5.0) -> bool:
    """Wait up to `timeout` seconds for every recorded trace to be written; True if all were."""
    return _writer.flush(timeout)


atexit.register(flush_traces)


@dataclass(frozen=True)
class TracePage:
    """One page of traces, newest first, with the counts the seed's list answer carries."""

    traces: list[Trace]
    total: int
    page: int
    limit: int

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.limit)


def filter_traces(
    *,
    model: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> TraceQuerySet:
    """All traces matching the filters, newest first."""
    return Trace.objects.matching(model=model, status=status, since=since, until=until)


def get_trace(*, trace_id: str) -> Trace:
    """The trace with `trace_id`; raises ApiError (404) for an unknown or malformed id."""
    try:
        return Trace.objects.get(id=uuid.UUID(trace_id))
    except (ValueError, Trace.DoesNotExist):
        raise ApiError(
            f"No trace with id '{trace_id}'.", status=404, code="trace_not_found", param="id"
        ) from None


def list_traces(
    *,
    page: int,
    limit: int,
    model: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> TracePage:
    """Page `page` (from 1) of `limit` traces matching the filters, newest first.

    `total` is exact, except for the unfiltered list of a big table on PostgreSQL, where it is
    the planner's estimate (see TraceQuerySet.count_fast). A page past the end is empty.
    """
    traces = filter_traces(model=model, status=status, since=since, until=until)
    offset = (page - 1) * limit
    # The page's ids come from the index alone, then only those rows are read: a deep page
    # skips index entries, not table rows (PostgreSQL would read every row it skips).
    page_ids = traces.values_list("id", flat=True)[offset : offset + limit]
    return TracePage(
        traces=list(Trace.objects.filter(id__in=page_ids)),
        total=traces.count_fast(),
        page=page,
        limit=limit,
    )


@dataclass(frozen=True)
class StatsBucket:
    """Calls that started in one hour or day."""

    start: datetime
    requests: int
    tokens: int
    errors: int


BUCKET_SIZES = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
# With no `since`, the chart shows the last day by hour or the last 30 days by day.
DEFAULT_STATS_SPANS = {"hour": timedelta(days=1), "day": timedelta(days=30)}
MAX_STATS_BUCKETS = 2_000


def trace_stats(
    *,
    bucket: str,
    since: datetime | None = None,
    until: datetime | None = None,
    model: str | None = None,
) -> list[StatsBucket]:
    """Requests, tokens and errors per `bucket` ("hour" or "day", UTC) in [since, until).

    Aggregated in the database. Every bucket of the range is returned, oldest first, empty ones
    with zeros. `until` defaults to now and `since` to a day (hours) or 30 days (days) before it.
    Raises ApiError (400) for a range of more than MAX_STATS_BUCKETS buckets.
    """
    size = BUCKET_SIZES[bucket]
    until = until or timezone.now()
    since = since or until - DEFAULT_STATS_SPANS[bucket]
    first = period_start(since, bucket)
    if (until - first) / size > MAX_STATS_BUCKETS:
        raise ApiError(
            f"That range has more than {MAX_STATS_BUCKETS} {bucket}s; narrow it or use days.",
            param="since",
            code="range_too_large",
        )
    rows = filter_traces(model=model, since=since, until=until).counts_per(bucket)
    found = {row["start"]: row for row in rows}
    buckets = []
    start = first
    while start < until:
        row = found.get(start, {})
        buckets.append(
            StatsBucket(
                start=start,
                requests=row.get("requests", 0),
                tokens=row.get("tokens", 0),
                errors=row.get("errors", 0),
            )
        )
        start += size
    return buckets
