"""The admin as the trace browser: list, filters, search, date drill-down, read-only detail."""

import pytest

from tests.traces.factories import at, make_trace
from traces.models import Trace, TraceStatus

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/traces/trace/"


def listed_ids(response) -> set[str]:
    """Ids of the traces a changelist page shows."""
    return {str(trace.id) for trace in response.context["cl"].result_list}


def test_the_trace_list_shows_model_status_tokens_duration_and_date(admin_client):
    make_trace(model="qwen3:0.6b", total_tokens=1234, duration_ms=5678)

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    page = response.content.decode()
    for text in ("qwen3:0.6b", "Success", "1234", "5678", "Tokens", "Duration (ms)", "Created at"):
        assert text in page


def test_the_model_and_endpoint_filters_offer_each_value_once(admin_client):
    for model in ["tiny-llama", "qwen3:0.6b", "tiny-llama"]:
        make_trace(model=model)
    make_trace(endpoint="/v1/embeddings")

    page = admin_client.get(CHANGELIST).content.decode()

    assert page.count("?model=qwen3%3A0.6b") == 1
    assert page.count("?model=tiny-llama") == 1
    assert page.count("?endpoint=%2Fv1%2Fembeddings") == 1
    assert page.count("?endpoint=%2Fv1%2Fchat%2Fcompletions") == 1


def test_search_looks_into_input_and_output(admin_client):
    by_input = make_trace(input=[{"role": "user", "content": "tell me about zebras"}])
    by_output = make_trace(output="Zebras have stripes.")
    make_trace(input=[{"role": "user", "content": "horses"}], output="Neigh")

    response = admin_client.get(CHANGELIST, {"q": "zebras"})

    assert listed_ids(response) == {str(by_input.id), str(by_output.id)}


def test_search_finds_words_in_any_language(admin_client):
    trace = make_trace(input=[{"role": "user", "content": "Où est le café ?"}])
    make_trace()

    response = admin_client.get(CHANGELIST, {"q": "café"})

    assert listed_ids(response) == {str(trace.id)}


@pytest.mark.parametrize(
    ("query", "field", "value"),
    [
        ({"status__exact": "error"}, "status", TraceStatus.ERROR),
        ({"model": "qwen3:0.6b"}, "model", "qwen3:0.6b"),
        ({"stream__exact": "1"}, "stream", True),
        ({"endpoint": "/v1/embeddings"}, "endpoint", "/v1/embeddings"),
    ],
)
def test_the_list_filters_by_status_model_stream_and_endpoint(admin_client, query, field, value):
    wanted = make_trace(**{field: value})
    make_trace()

    response = admin_client.get(CHANGELIST, query)

    assert listed_ids(response) == {str(wanted.id)}


def test_the_date_hierarchy_offers_the_days_that_have_traces(admin_client):
    make_trace(created_at=at("2025-03-01 10:00"))
    make_trace(created_at=at("2025-03-03 23:59"))

    page = admin_client.get(CHANGELIST).content.decode()

    assert "created_at__day=1" in page
    assert "created_at__day=3" in page
    assert "created_at__day=2" not in page


def test_the_date_hierarchy_offers_the_months_of_a_year(admin_client):
    make_trace(created_at=at("2025-01-31 23:59"))
    make_trace(created_at=at("2025-03-01 00:00"))

    page = admin_client.get(CHANGELIST).content.decode()

    assert "created_at__month=1" in page
    assert "created_at__month=3" in page
    assert "created_at__month=2" not in page


def test_the_date_hierarchy_drills_down_to_a_day(admin_client):
    that_day = make_trace(created_at=at("2025-03-01 10:00"))
    make_trace(created_at=at("2025-03-02 10:00"))

    response = admin_client.get(
        CHANGELIST, {"created_at__year": 2025, "created_at__month": 3, "created_at__day": 1}
    )

    assert listed_ids(response) == {str(that_day.id)}


def test_the_detail_shows_input_and_parameters_as_escaped_pretty_json(admin_client):
    trace = make_trace(
        input=[{"role": "user", "content": "<script>alert(1)</script> café"}],
        request_params={"temperature": 0.5},
    )

    response = admin_client.get(f"{CHANGELIST}{trace.id}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; café" in page
    assert "<script>alert(1)</script>" not in page
    assert "&quot;temperature&quot;: 0.5" in page
    assert "&quot;role&quot;: &quot;user&quot;" in page  # indented JSON, one key a line
    assert 'name="_save"' not in page  # no save button: the detail is read-only


def test_traces_cannot_be_added_changed_or_deleted_in_the_admin(admin_client):
    trace = make_trace(output="as recorded")

    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    admin_client.post(f"{CHANGELIST}{trace.id}/change/", {"output": "rewritten"})
    assert admin_client.post(f"{CHANGELIST}{trace.id}/delete/", {"post": "yes"}).status_code == 403

    assert Trace.objects.get().output == "as recorded"


def test_the_trace_browser_needs_a_staff_login(client):
    make_trace()

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
