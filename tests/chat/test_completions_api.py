"""`/v1/chat/completions` and `/api/v1/chat/completions` over plain HTTP: shapes, errors, traces."""

import pytest
import requests

from tests.chat.conftest import sse_events, wait_for_trace
from tests.conftest import CHAT_MODEL

HELLO = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(params=["/v1/chat/completions", "/api/v1/chat/completions"])
def completions_url(request, api) -> str:
    return f"{api.base_url}{request.param}"


def test_a_completion_has_openais_shape_and_ollamas_usage(api, completions_url):
    response = api.post(completions_url, json={"model": CHAT_MODEL, "messages": HELLO})
    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int)
    assert body["model"] == CHAT_MODEL
    (choice,) = body["choices"]
    assert choice["index"] == 0
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"]
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0
    assert usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_the_model_defaults_to_default_model(api, completions_url):
    response = api.post(completions_url, json={"messages": HELLO})
    assert response.status_code == 200
    assert response.json()["model"] == CHAT_MODEL


def test_max_completion_tokens_cuts_the_answer_short(api, completions_url):
    response = api.post(
        completions_url, json={"model": CHAT_MODEL, "messages": HELLO, "max_completion_tokens": 2}
    )
    body = response.json()
    assert body["usage"]["completion_tokens"] == 2
    assert body["choices"][0]["finish_reason"] == "length"


def test_unknown_fields_are_ignored(api, completions_url):
    response = api.post(
        completions_url,
        json={"model": CHAT_MODEL, "messages": HELLO, "user": "u1", "something_new": {"a": 1}},
    )
    assert response.status_code == 200


def test_each_call_is_traced_with_its_counts_and_named_in_x_trace_id(api, completions_url):
    body = {"model": CHAT_MODEL, "messages": HELLO, "temperature": 0.5}
    response = api.post(completions_url, json=body)
    completion = response.json()
    trace = wait_for_trace(api, response.headers["X-Trace-Id"])
    assert trace["endpoint"] == completions_url.removeprefix(api.base_url)
    assert trace["status"] == "success"
    assert trace["stream"] is False
    assert trace["input"] == HELLO
    assert trace["output"] == completion["choices"][0]["message"]["content"]
    assert trace["promptTokens"] == completion["usage"]["prompt_tokens"]
    assert trace["completionTokens"] == completion["usage"]["completion_tokens"]
    assert trace["totalTokens"] == completion["usage"]["total_tokens"]
    assert trace["requestParams"]["temperature"] == 0.5
    assert trace["duration"] >= 0
    assert trace["tokensPerSecond"] > 0


def test_an_unknown_model_is_a_traced_404_model_not_found(api, completions_url):
    response = api.post(completions_url, json={"model": "no-such-model", "messages": HELLO})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "model_not_found"
    assert "no-such-model" in error["message"]
    trace = wait_for_trace(api, response.headers["X-Trace-Id"])
    assert trace["status"] == "error"
    assert "no-such-model" in trace["error"]


def test_an_unknown_model_is_a_404_before_any_stream_starts(api, completions_url):
    response = api.post(
        completions_url, json={"model": "no-such-model", "messages": HELLO, "stream": True}
    )
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "model_not_found"


# -- streaming -------------------------------------------------------------------------------


def test_a_stream_is_openais_sse_ending_in_done(api, completions_url):
    body = {"model": CHAT_MODEL, "messages": HELLO, "stream": True}
    with api.post(completions_url, json=body, stream=True) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["Cache-Control"] == "no-cache"
        assert response.headers["X-Accel-Buffering"] == "no"
        trace_id = response.headers["X-Trace-Id"]
        events = list(sse_events(response))
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all("role" not in chunk["choices"][0]["delta"] for chunk in chunks[1:])
    assert chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks)
    trace = wait_for_trace(api, trace_id)
    assert trace["stream"] is True
    assert trace["status"] == "success"
    assert trace["output"] == text
    assert trace["completionTokens"] > 0
    assert trace["ttft"] is not None


def test_include_usage_adds_a_usage_chunk_without_choices(api, completions_url):
    body = {
        "model": CHAT_MODEL,
        "messages": HELLO,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with api.post(completions_url, json=body, stream=True) as response:
        events = list(sse_events(response))
    *_, finish, usage_chunk, done = events
    assert done == "[DONE]"
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] > 0
    assert usage_chunk["usage"]["total_tokens"] == (
        usage_chunk["usage"]["prompt_tokens"] + usage_chunk["usage"]["completion_tokens"]
    )


# -- bad input -------------------------------------------------------------------------------


def assert_openai_error(response, status: int, param: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["message"]
    if param is not None:
        assert error["param"] == param
    return error


def test_malformed_json_is_a_400(api, completions_url):
    response = api.post(
        completions_url, data=b'{"messages": [', headers={"Content-Type": "application/json"}
    )
    assert "not valid JSON" in assert_openai_error(response, 400)["message"]


def test_an_empty_body_is_a_400(api, completions_url):
    assert_openai_error(api.post(completions_url, data=b""), 400)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": CHAT_MODEL}, "messages"),
        ({"model": CHAT_MODEL, "messages": []}, "messages"),
        ({"model": CHAT_MODEL, "messages": "hi"}, "messages"),
        ({"model": CHAT_MODEL, "messages": [{"role": "wizard", "content": "x"}]}, None),
        ({"model": 42, "messages": HELLO}, "model"),
        ({"model": CHAT_MODEL, "messages": HELLO, "temperature": "hot"}, "temperature"),
        ({"model": CHAT_MODEL, "messages": HELLO, "n": 2}, "n"),
        ({"model": CHAT_MODEL, "messages": HELLO, "stream": "yes"}, "stream"),
    ],
)
def test_invalid_requests_are_openai_shaped_400s(api, completions_url, body, param):
    assert_openai_error(api.post(completions_url, json=body), 400, param)


def test_a_body_over_the_limit_is_a_413(api, completions_url):
    too_big = b'{"messages": "' + b"x" * (32 * 1024 * 1024 + 1) + b'"}'
    response = api.post(completions_url, data=too_big, headers={"Content-Type": "application/json"})
    assert_openai_error(response, 413)


def test_the_token_is_required(completions_url):
    response = requests.post(completions_url, json={"messages": HELLO}, timeout=10)
    assert response.status_code == 401
