"""The Trace QuerySet's filters, counts and distinct values."""

import pytest

from tests.traces.factories import at, make_trace
from traces.models import Trace, TraceStatus

pytestmark = pytest.mark.django_db


def test_matching_combines_model_status_and_a_half_open_time_range():
    make_trace(model="a", created_at=at("2025-03-01 10:00"))
    wanted = make_trace(model="a", status=TraceStatus.ERROR, created_at=at("2025-03-01 11:00"))
    make_trace(model="a", status=TraceStatus.ERROR, created_at=at("2025-03-01 12:00"))
    make_trace(model="b", status=TraceStatus.ERROR, created_at=at("2025-03-01 11:00"))

    found = Trace.objects.matching(
        model="a", status="error", since=at("2025-03-01 11:00"), until=at("2025-03-01 12:00")
    )

    assert list(found) == [wanted]


def test_count_fast_is_the_exact_count_for_a_small_or_filtered_table():
    for model in ["a", "a", "b"]:
        make_trace(model=model)

    assert Trace.objects.count_fast() == 3
    assert Trace.objects.filter(model="a").count_fast() == 2


def test_distinct_values_lists_each_value_once_in_order():
    for model in ["qwen3:0.6b", "tiny-llama", "qwen3:0.6b", "llama3.2:1b"]:
        make_trace(model=model)

    assert Trace.objects.distinct_values("model") == ["llama3.2:1b", "qwen3:0.6b", "tiny-llama"]


def test_distinct_values_of_an_empty_table_is_empty():
    assert Trace.objects.distinct_values("endpoint") == []


def test_counts_per_hour_group_by_the_utc_hour():
    make_trace(total_tokens=3, created_at=at("2025-03-01 10:00"))
    make_trace(total_tokens=4, status=TraceStatus.ERROR, created_at=at("2025-03-01 10:59:59.999"))
    make_trace(total_tokens=None, created_at=at("2025-03-01 11:00"))

    rows = sorted(Trace.objects.counts_per("hour"), key=lambda row: row["start"])

    assert rows == [
        {"start": at("2025-03-01 10:00"), "requests": 2, "tokens": 7, "errors": 1},
        {"start": at("2025-03-01 11:00"), "requests": 1, "tokens": 0, "errors": 0},
    ]
