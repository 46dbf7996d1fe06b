"""Streaming end to end: tokens as they come, a client that leaves, an Ollama that fails."""

import time

import openai
import pytest

from tests.chat.conftest import SLOW_TOKEN_DELAY, SLOW_TOKENS, sse_events, wait_for_trace
from tests.conftest import CHAT_MODEL

STREAM = {
    "model": CHAT_MODEL,
    "messages": [{"role": "user", "content": "Tell me a story"}],
    "stream": True,
}


def token_text(event: dict) -> str:
    """The text an OpenAI chunk or a web-chat `token` event carries ("" for any other event)."""
    if event.get("type") == "token":
        return event["content"]
    choices = event.get("choices") or [{}]
    return choices[0].get("delta", {}).get("content") or ""


def wait_for(predicate, *, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/api/chat/stream"])
def test_the_first_token_arrives_while_the_model_is_still_generating(slow_runner, path):
    api = slow_runner.session()
    body = {**STREAM, "message": "Tell me a story"}
    started = time.monotonic()
    arrivals = []
    with api.post(f"{api.base_url}{path}", json=body, stream=True, timeout=30) as response:
        assert response.status_code == 200
        for event in sse_events(response):
            if event == "[DONE]":
                break
            if token_text(event):
                arrivals.append(time.monotonic() - started)
    generation = SLOW_TOKENS * SLOW_TOKEN_DELAY
    assert len(arrivals) >= SLOW_TOKENS - 1
    # The first token leaves with the stand-in's first line, long before its last one.
    assert arrivals[0] < generation / 2
    # ... and the tokens keep their spacing instead of arriving in one burst at the end.
    assert arrivals[-1] - arrivals[0] > generation * 0.6


def test_a_client_that_disconnects_stops_generation_upstream(slow_runner):
    api = slow_runner.session()
    before = slow_runner.standin_stats()["cancelled_generations"]
    with api.post(
        f"{api.base_url}/v1/chat/completions", json=STREAM, stream=True, timeout=30
    ) as response:
        trace_id = response.headers["X-Trace-Id"]
        events = sse_events(response)
        next(events)
        next(events)
    # The connection is closed here, well before the stand-in's two seconds are up.
    assert wait_for(lambda: slow_runner.standin_stats()["cancelled_generations"] > before)
    trace = wait_for_trace(api, trace_id)
    assert trace["status"] == "cancelled"
    assert trace["stream"] is True
    assert trace["output"]


def test_ollama_failing_mid_stream_ends_the_stream_with_an_error_event(failing_runner):
    api = failing_runner.session()
    with api.post(
        f"{api.base_url}/v1/chat/completions", json=STREAM, stream=True, timeout=30
    ) as response:
        assert response.status_code == 200
        trace_id = response.headers["X-Trace-Id"]
        events = list(sse_events(response))
    *chunks, last = events
    assert "[DONE]" not in events
    assert chunks, "the tokens before the failure still reach the client"
    assert set(last) == {"error"}
    assert set(last["error"]) == {"message", "type", "param", "code"}
    trace = wait_for_trace(api, trace_id)
    assert trace["status"] == "error"
    assert trace["error"]
    assert trace["output"] == "".join(
        chunk["choices"][0]["delta"].get("content", "") for chunk in chunks
    )


def test_the_openai_sdk_raises_for_a_mid_stream_failure(failing_runner):
    client = openai.OpenAI(
        base_url=f"{failing_runner.server.url}/v1",
        api_key=failing_runner.server.token,
        max_retries=0,
    )
    stream = client.chat.completions.create(
        model=CHAT_MODEL, messages=STREAM["messages"], stream=True
    )
    with pytest.raises(openai.APIError):
        for _chunk in stream:
            pass


def test_the_web_chat_stream_reports_a_mid_stream_failure_and_keeps_the_partial_reply(
    failing_runner,
):
    api = failing_runner.session()
    with api.post(
        f"{api.base_url}/api/chat/stream", json={"message": "Hi"}, stream=True, timeout=30
    ) as response:
        events = list(sse_events(response))
    start, *tokens, error = events
    assert start["type"] == "start"
    assert tokens and {token["type"] for token in tokens} == {"token"}
    assert error["type"] == "error"
    assert error["message"]
    history = api.get(
        f"{api.base_url}/api/chat/history", params={"conversationId": start["conversationId"]}
    ).json()["messages"]
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[1]["content"] == "".join(token["content"] for token in tokens)


def test_a_web_chat_stream_stopped_mid_way_stores_what_was_generated(slow_runner):
    api = slow_runner.session()
    with api.post(
        f"{api.base_url}/api/chat/stream",
        json={"message": "Tell me a story"},
        stream=True,
        timeout=30,
    ) as response:
        events = sse_events(response)
        start = next(events)
        first_tokens = [next(events)["content"], next(events)["content"]]
    history_url = f"{api.base_url}/api/chat/history"
    params = {"conversationId": start["conversationId"]}

    def reply_stored() -> bool:
        return len(api.get(history_url, params=params).json()["messages"]) == 2

    assert wait_for(reply_stored)
    prompt, reply = api.get(history_url, params=params).json()["messages"]
    assert prompt["content"] == "Tell me a story"
    assert reply["id"] == start["messageId"]
    assert reply["content"].startswith("".join(first_tokens))
    # It stopped: the stored reply is shorter than a whole answer would be.
    assert len(reply["content"].split()) < SLOW_TOKENS
    trace = wait_for_trace(api, reply["traceId"])
    assert trace["status"] == "cancelled"
