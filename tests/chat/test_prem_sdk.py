"""The `premai` SDK (0.18.0) against a live PremRunner: every call prem-sdk.md lists."""

import json
import time

import premai
import pytest

from tests.conftest import CHAT_MODEL

HELLO = [{"role": "user", "content": "Say hello"}]


def test_chat_completions(prem_client):
    response = prem_client.chat.completions(
        messages=HELLO,
        model=CHAT_MODEL,
        max_completion_tokens=3,
        temperature=0.2,
        top_p=0.9,
        seed=7,
        stop=["never-appears"],
        frequency_penalty=0.1,
        presence_penalty=0.1,
    )
    assert response.object == "chat.completion"
    assert response.model == CHAT_MODEL
    assert response.choices[0].message.role == "assistant"
    assert response.choices[0].message.content
    assert response.choices[0].finish_reason == "length"
    assert response.usage.completion_tokens == 3


def test_chat_completions_with_tools_and_json_schema(prem_client):
    tool = {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }
    called = prem_client.chat.completions(messages=HELLO, model=CHAT_MODEL, tools=[tool])
    assert called.choices[0].finish_reason == "tool_calls"
    assert called.choices[0].message.tool_calls[0].function.name == "lookup"

    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    structured = prem_client.chat.completions(
        messages=HELLO,
        model=CHAT_MODEL,
        response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
    )
    assert isinstance(json.loads(structured.choices[0].message.content)["ok"], bool)


def test_streaming_with_streaming_response(prem_client):
    with prem_client.chat.with_streaming_response.completions(
        messages=HELLO, model=CHAT_MODEL, stream=True
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert (
        text
        == prem_client.chat.completions(messages=HELLO, model=CHAT_MODEL).choices[0].message.content
    )


def test_models_list(prem_client):
    models = prem_client.models.list()
    assert models.object == "list"
    assert any(model.id.startswith(CHAT_MODEL) for model in models.data)


def wait_for_status(prem_client, model: str, wanted: bool) -> bool:
    deadline = time.monotonic() + 5
    while prem_client.models.check_status(model=model).status != wanted:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_load_check_status_and_unload(prem_client):
    loaded = prem_client.models.load(model="qwen3:0.6b")
    assert "qwen3:0.6b" in loaded.message
    assert wait_for_status(prem_client, "qwen3:0.6b", True)
    unloaded = prem_client.models.unload(model="qwen3:0.6b")
    assert "qwen3:0.6b" in unloaded.message
    # Ollama drops an unloaded model from /api/ps shortly after answering.
    assert wait_for_status(prem_client, "qwen3:0.6b", False)


def test_check_status_matches_names_with_or_without_the_tag(prem_client):
    prem_client.models.load(model=CHAT_MODEL)
    assert prem_client.models.check_status(model=f"{CHAT_MODEL}:latest").status is True
    assert prem_client.models.check_status(model=CHAT_MODEL.upper()).status is True


def test_errors_keep_their_status(prem_client, premrunner_server):
    with pytest.raises(premai.NotFoundError):
        prem_client.chat.completions(messages=HELLO, model="no-such-model")
    with pytest.raises(premai.NotFoundError):
        prem_client.models.load(model="no-such-model")
    with pytest.raises(premai.BadRequestError):
        prem_client.chat.completions(messages=[], model=CHAT_MODEL)
    stranger = premai.PremAI(api_key="wrong-key", base_url=premrunner_server.url, max_retries=0)
    with pytest.raises(premai.AuthenticationError):
        stranger.chat.completions(messages=HELLO, model=CHAT_MODEL)
