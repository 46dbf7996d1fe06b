"""record_trace: one row per call, written by the background writer, never by the caller."""

import threading

import pytest

from traces.models import Trace, TraceStatus
from traces.services import flush_traces, new_trace_id, record_trace


def record(**overrides) -> str:
    """Record a successful chat trace; keyword overrides change any field."""
    fields = {
        "trace_id": new_trace_id(),
        "endpoint": "/v1/chat/completions",
        "model": "tiny-llama",
        "input": [{"role": "user", "content": "Hello"}],
        "output": "Hi there",
        "prompt_tokens": 5,
        "completion_tokens": 3,
        "total_tokens": 8,
        "duration_ms": 120,
        "status": TraceStatus.SUCCESS,
    } | overrides
    record_trace(**fields)
    return fields["trace_id"]


# The writer thread uses its own connection, so the rows must be committed for real.
pytestmark = pytest.mark.django_db(transaction=True)


def test_record_trace_writes_exactly_one_row():
    trace_id = record(
        ttft_ms=40,
        load_duration_ms=7,
        tokens_per_second=52.5,
        stream=True,
        request_params={"temperature": 0.2},
    )

    assert flush_traces(5)
    trace = Trace.objects.get()
    assert str(trace.id) == trace_id
    assert trace.endpoint == "/v1/chat/completions"
    assert trace.input == [{"role": "user", "content": "Hello"}]
    assert trace.output == "Hi there"
    assert (trace.prompt_tokens, trace.completion_tokens, trace.total_tokens) == (5, 3, 8)
    assert (trace.duration_ms, trace.ttft_ms, trace.load_duration_ms) == (120, 40, 7)
    assert trace.tokens_per_second == 52.5
    assert trace.stream is True
    assert trace.request_params == {"temperature": 0.2}
    assert trace.status == TraceStatus.SUCCESS


def test_record_trace_leaves_the_write_to_the_background_writer(django_assert_num_queries):
    with django_assert_num_queries(0):  # counts this thread's queries: the caller's
        record()

    assert flush_traces(5)
    assert Trace.objects.count() == 1


def test_record_trace_never_raises_when_the_write_fails(caplog):
    trace_id = record()
    assert flush_traces(5)

    record(trace_id=trace_id, output="the same id twice")  # violates the primary key

    assert flush_traces(5)
    assert Trace.objects.count() == 1
    assert f"Could not write trace {trace_id}" in caplog.text


def test_a_trace_that_cannot_be_written_costs_no_other_trace(caplog):
    duplicate = record()
    assert flush_traces(5)

    for n in range(20):  # recorded in a burst, so likely written as one batch with the bad one
        record(output=f"fine {n}")
        if n == 10:
            record(trace_id=duplicate)

    assert flush_traces(5)
    assert Trace.objects.count() == 21
    assert f"Could not write trace {duplicate}" in caplog.text


def test_a_burst_of_traces_from_many_threads_is_written_in_full():
    threads = [threading.Thread(target=lambda: [record() for _ in range(50)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert flush_traces(10)
    assert Trace.objects.count() == 400
