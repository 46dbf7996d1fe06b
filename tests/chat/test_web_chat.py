"""The web UI's chat API: turns sent with their whole conversation, stored and listed."""

import pytest

from tests.chat.conftest import sse_events, wait_for_trace
from tests.conftest import CHAT_MODEL

MESSAGE_FIELDS = {"id", "conversationId", "role", "content", "model", "createdAt", "traceId"}


def send(api, **body) -> dict:
    response = api.post(f"{api.base_url}/api/chat/send", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["X-Trace-Id"] == response.json()["traceId"]
    return response.json()


def history(api, conversation_id: str | None = None) -> list[dict]:
    params = {"conversationId": conversation_id} if conversation_id else {}
    response = api.get(f"{api.base_url}/api/chat/history", params=params)
    assert response.status_code == 200
    return response.json()["messages"]


def test_sending_a_message_starts_a_conversation_and_stores_both_messages(api):
    answer = send(api, message="Hello there")
    reply = answer["message"]
    assert reply["role"] == "assistant"
    assert reply["content"]
    assert reply["model"] == CHAT_MODEL
    assert reply["conversationId"] == answer["conversationId"]
    assert reply["traceId"] == answer["traceId"]
    assert set(reply) == MESSAGE_FIELDS
    assert answer["usage"]["completion_tokens"] > 0
    stored = history(api, answer["conversationId"])
    assert [(m["role"], m["content"]) for m in stored] == [
        ("user", "Hello there"),
        ("assistant", reply["content"]),
    ]
    assert stored[1]["id"] == reply["id"]


def test_every_turn_sends_the_whole_conversation_with_the_system_prompt_first(api):
    first = send(api, message="My name is Ada.", system="You are terse.")
    second = send(api, message="What is my name?", conversationId=first["conversationId"])
    assert second["conversationId"] == first["conversationId"]
    trace = wait_for_trace(api, second["traceId"])
    assert trace["endpoint"] == "/api/chat/send"
    assert trace["input"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": first["message"]["content"]},
        {"role": "user", "content": "What is my name?"},
    ]
    assert trace["output"] == second["message"]["content"]
    assert len(history(api, first["conversationId"])) == 4


def test_temperature_and_max_tokens_reach_the_model(api):
    answer = send(api, message="Count", temperature=0.1, max_tokens=3)
    assert answer["usage"]["completion_tokens"] == 3
    trace = wait_for_trace(api, answer["traceId"])
    assert trace["requestParams"] == {"temperature": 0.1, "num_predict": 3}


def test_the_streamed_form_sends_start_tokens_and_done(api):
    with api.post(
        f"{api.base_url}/api/chat/stream", json={"message": "Stream please"}, stream=True
    ) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        trace_id = response.headers["X-Trace-Id"]
        events = list(sse_events(response))
    start, *tokens, done = events
    assert set(start) == {"type", "conversationId", "messageId", "userMessageId"}
    assert start["type"] == "start"
    assert tokens and all(set(t) == {"type", "content"} and t["type"] == "token" for t in tokens)
    assert done["type"] == "done"
    assert done["traceId"] == trace_id
    assert done["message"]["id"] == start["messageId"]
    assert done["message"]["content"] == "".join(t["content"] for t in tokens)
    assert done["usage"]["completion_tokens"] > 0
    stored = history(api, start["conversationId"])
    assert [m["id"] for m in stored] == [start["userMessageId"], start["messageId"]]
    trace = wait_for_trace(api, trace_id)
    assert trace["stream"] is True
    assert trace["endpoint"] == "/api/chat/stream"


def test_conversations_are_listed_most_recent_first_with_their_counts(api):
    older = send(api, message="First topic")
    newer = send(api, message="Second topic")
    send(api, message="Back to the first", conversationId=older["conversationId"])
    response = api.get(f"{api.base_url}/api/chat/conversations")
    listed = response.json()["conversations"]
    ids = [c["id"] for c in listed]
    assert ids.index(older["conversationId"]) < ids.index(newer["conversationId"])
    entry = listed[ids.index(older["conversationId"])]
    assert entry["title"] == "First topic"
    assert entry["model"] == CHAT_MODEL
    assert entry["messageCount"] == 4
    assert set(entry) == {"id", "title", "model", "createdAt", "updatedAt", "messageCount"}


def test_deleting_one_conversation_leaves_the_others(api):
    kept = send(api, message="Keep me")
    dropped = send(api, message="Drop me")
    response = api.delete(
        f"{api.base_url}/api/chat/history", params={"conversationId": dropped["conversationId"]}
    )
    assert response.json() == {"success": True}
    assert history(api, kept["conversationId"])
    missing = api.get(
        f"{api.base_url}/api/chat/history", params={"conversationId": dropped["conversationId"]}
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "conversation_not_found"


def test_a_conversation_can_be_deleted_by_id(api):
    answer = send(api, message="Short-lived")
    url = f"{api.base_url}/api/chat/conversations/{answer['conversationId']}"
    assert api.delete(url).json() == {"success": True}
    assert api.delete(url).status_code == 404


def test_deleting_the_history_without_an_id_removes_everything(api):
    send(api, message="One")
    assert api.delete(f"{api.base_url}/api/chat/history").status_code == 200
    assert history(api) == []
    assert api.get(f"{api.base_url}/api/chat/conversations").json() == {"conversations": []}


def test_history_without_an_id_lists_the_latest_messages_oldest_first(api):
    answer = send(api, message="Most recent question")
    latest = history(api)
    assert [m["content"] for m in latest[-2:]] == [
        "Most recent question",
        answer["message"]["content"],
    ]


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({}, 400, "message"),
        ({"message": "   "}, 400, "message"),
        ({"message": 5}, 400, "message"),
        ({"message": "hi", "conversationId": "not-a-uuid"}, 404, "conversationId"),
        ({"message": "hi", "temperature": "warm"}, 400, "temperature"),
        ({"message": "hi", "model": "no-such-model"}, 404, "model"),
    ],
)
def test_bad_turns_are_refused_and_store_nothing(api, body, status, param):
    before = api.get(f"{api.base_url}/api/chat/conversations").json()["conversations"]
    response = api.post(f"{api.base_url}/api/chat/send", json=body)
    assert response.status_code == status
    assert response.json()["error"]["param"] == param
    after = api.get(f"{api.base_url}/api/chat/conversations").json()["conversations"]
    assert after == before
