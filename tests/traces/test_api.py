"""GET /v1/traces, /v1/traces/{id} and /v1/traces/stats: the seed's shapes, filters and errors."""

import uuid

import pytest

from tests.traces.factories import at, make_trace
from traces.models import TraceStatus

pytestmark = pytest.mark.django_db


def test_trace_list_is_the_seed_shape_newest_first(api_client):
    older = make_trace(created_at=at("2025-03-01 10:00"))
    newer = make_trace(created_at=at("2025-03-01 11:00"))

    response = api_client.get("/v1/traces")

    assert response.status_code == 200
    body = response.json()
    assert [t["id"] for t in body["traces"]] == [str(newer.id), str(older.id)]
    assert {k: body[k] for k in ("total", "page", "limit", "pages")} == {
        "total": 2,
        "page": 1,
        "limit": 20,
        "pages": 1,
    }


def test_a_trace_in_json_carries_every_field_in_camel_case(api_client):
    trace = make_trace(
        endpoint="/v1/chat/completions",
        input=[{"role": "user", "content": "Hi"}],
        output="Hello!",
        ttft_ms=42,
        load_duration_ms=9,
        tokens_per_second=61.5,
        stream=True,
        request_params={"temperature": 0.3},
        created_at=at("2025-03-01 10:00"),
    )

    listed = api_client.get("/v1/traces").json()["traces"][0]
    detail = api_client.get(f"/v1/traces/{trace.id}").json()

    assert (
        listed
        == detail
        == {
            "id": str(trace.id),
            "endpoint": "/v1/chat/completions",
            "model": "tiny-llama",
            "input": [{"role": "user", "content": "Hi"}],
            "output": "Hello!",
            "promptTokens": 5,
            "completionTokens": 3,
            "totalTokens": 8,
            "duration": 120,
            "ttft": 42,
            "loadDuration": 9,
            "tokensPerSecond": 61.5,
            "status": "success",
            "error": "",
            "stream": True,
            "requestParams": {"temperature": 0.3},
            "createdAt": "2025-03-01T10:00:00Z",
        }
    )


def test_pages_split_the_list_without_overlap(api_client):
    made = [make_trace(created_at=at(f"2025-03-01 10:{minute:02}")) for minute in range(25)]
    newest_first = [str(t.id) for t in reversed(made)]

    first = api_client.get("/v1/traces?page=1&limit=10").json()
    third = api_client.get("/v1/traces?page=3&limit=10").json()
    beyond = api_client.get("/v1/traces?page=4&limit=10").json()

    assert [t["id"] for t in first["traces"]] == newest_first[:10]
    assert [t["id"] for t in third["traces"]] == newest_first[20:]
    assert (first["total"], first["pages"], third["page"]) == (25, 3, 3)
    assert beyond["traces"] == [] and beyond["total"] == 25


def test_traces_with_the_same_timestamp_keep_a_stable_order_across_pages(api_client):
    moment = at("2025-03-01 10:00")
    made = {str(make_trace(created_at=moment).id) for _ in range(6)}

    pages = [api_client.get(f"/v1/traces?page={n}&limit=2").json()["traces"] for n in (1, 2, 3)]

    assert {t["id"] for page in pages for t in page} == made


def test_traces_filter_by_model_status_and_time_range(api_client):
    make_trace(model="tiny-llama", created_at=at("2025-03-01 09:00"))
    wanted = make_trace(
        model="qwen3:0.6b", status=TraceStatus.ERROR, created_at=at("2025-03-01 10:00")
    )
    make_trace(model="qwen3:0.6b", created_at=at("2025-03-01 10:30"))
    make_trace(model="qwen3:0.6b", status=TraceStatus.ERROR, created_at=at("2025-03-01 12:00"))

    def ids(query: str) -> list[str]:
        return [t["id"] for t in api_client.get(f"/v1/traces?{query}").json()["traces"]]

    assert len(ids("model=qwen3:0.6b")) == 3
    assert len(ids("status=error")) == 2
    assert len(ids("since=2025-03-01T10:00:00Z")) == 3
    assert len(ids("until=2025-03-01T10:00:00Z")) == 1  # until is exclusive
    assert ids(
        "model=qwen3:0.6b&status=error&since=2025-03-01T09:30:00%2B00:00&until=2025-03-01T11:00"
    ) == [str(wanted.id)]


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("page=0", "page"),
        ("page=two", "page"),
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("status=maybe", "status"),
        ("since=yesterday", "since"),
        ("since=2025-03-02T00:00:00Z&until=2025-03-01T00:00:00Z", "until"),
    ],
)
def test_bad_list_parameters_get_an_openai_shaped_400(api_client, query, param):
    response = api_client.get(f"/v1/traces?{query}")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert param in error["message"]


@pytest.mark.parametrize("trace_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_an_unknown_trace_is_a_json_404(api_client, trace_id):
    response = api_client.get(f"/v1/traces/{trace_id}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "trace_not_found"


def test_the_traces_api_needs_the_token(client):
    assert client.get("/v1/traces").status_code == 401
    assert client.get("/v1/traces/stats").status_code == 401


def test_stats_count_requests_tokens_and_errors_per_hour(api_client):
    make_trace(total_tokens=10, created_at=at("2025-03-01 10:05"))
    make_trace(total_tokens=None, status=TraceStatus.ERROR, created_at=at("2025-03-01 10:55"))
    make_trace(total_tokens=7, created_at=at("2025-03-01 12:00"))
    make_trace(total_tokens=99, created_at=at("2025-03-01 13:00"))  # outside: until is exclusive

    response = api_client.get(
        "/v1/traces/stats?since=2025-03-01T10:30:00Z&until=2025-03-01T13:00:00Z&bucket=hour"
    )

    assert response.status_code == 200
    assert response.json() == {
        "buckets": [
            {"start": "2025-03-01T10:00:00Z", "requests": 1, "tokens": 0, "errors": 1},
            {"start": "2025-03-01T11:00:00Z", "requests": 0, "tokens": 0, "errors": 0},
            {"start": "2025-03-01T12:00:00Z", "requests": 1, "tokens": 7, "errors": 0},
        ]
    }


def test_stats_by_day_cover_the_whole_range(api_client):
    make_trace(total_tokens=4, created_at=at("2025-03-01 23:59"))
    make_trace(total_tokens=6, created_at=at("2025-03-03 00:00"))

    buckets = api_client.get(
        "/v1/traces/stats?since=2025-03-01T00:00:00Z&until=2025-03-04T00:00:00Z&bucket=day"
    ).json()["buckets"]

    assert [(b["start"][:10], b["requests"], b["tokens"]) for b in buckets] == [
        ("2025-03-01", 1, 4),
        ("2025-03-02", 0, 0),
        ("2025-03-03", 1, 6),
    ]


def test_stats_default_to_the_last_day_by_hour(api_client):
    make_trace()

    buckets = api_client.get("/v1/traces/stats").json()["buckets"]

    assert len(buckets) in (24, 25)  # 24 hours back from now, the first one partial
    assert buckets[-1]["requests"] == 1


@pytest.mark.parametrize(
    ("query", "param"),
    [("bucket=week", "bucket"), ("since=2020-01-01T00:00:00Z&bucket=hour", "since")],
)
def test_bad_stats_parameters_get_an_openai_shaped_400(api_client, query, param):
    response = api_client.get(f"/v1/traces/stats?{query}")

    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_stats_filter_by_model(api_client):
    make_trace(model="qwen3:0.6b", total_tokens=5, created_at=at("2025-03-01 10:00"))
    make_trace(model="tiny-llama", total_tokens=50, created_at=at("2025-03-01 10:00"))

    buckets = api_client.get(
        "/v1/traces/stats?model=qwen3:0.6b&since=2025-03-01T10:00:00Z&until=2025-03-01T11:00:00Z"
    ).json()["buckets"]

    assert buckets == [{"start": "2025-03-01T10:00:00Z", "requests": 1, "tokens": 5, "errors": 0}]
