"""The official `openai` SDK against a live PremRunner: every call it makes must just work."""

import asyncio
import json

import openai
import pytest

from tests.conftest import CHAT_MODEL, EMBED_MODEL

HELLO = [{"role": "user", "content": "Say hello"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def test_a_completion(openai_client):
    completion = openai_client.chat.completions.create(model=CHAT_MODEL, messages=HELLO)
    assert completion.object == "chat.completion"
    assert completion.model == CHAT_MODEL
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens > 0


def test_a_streamed_completion(openai_client):
    stream = openai_client.chat.completions.create(
        model=CHAT_MODEL,
        messages=HELLO,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    whole = openai_client.chat.completions.create(model=CHAT_MODEL, messages=HELLO)
    assert text == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_the_async_client_whole_and_streamed(async_openai_client):
    async def run() -> tuple[str, str]:
        async with async_openai_client as client:
            whole = await client.chat.completions.create(model=CHAT_MODEL, messages=HELLO)
            stream = await client.chat.completions.create(
                model=CHAT_MODEL, messages=HELLO, stream=True
            )
            streamed = "".join([c.choices[0].delta.content or "" async for c in stream])
            return whole.choices[0].message.content, streamed

    whole, streamed = asyncio.run(run())
    assert whole
    assert streamed == whole


def test_concurrent_async_streams_all_complete(async_openai_client):
    async def one(client) -> str:
        stream = await client.chat.completions.create(model=CHAT_MODEL, messages=HELLO, stream=True)
        return "".join([c.choices[0].delta.content or "" async for c in stream])

    async def run() -> list[str]:
        async with async_openai_client as client:
            return await asyncio.gather(*(one(client) for _ in range(8)))

    texts = asyncio.run(run())
    assert len(set(texts)) == 1 and texts[0]


def test_a_tool_call_round_trip(openai_client):
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = openai_client.chat.completions.create(
        model=CHAT_MODEL, messages=messages, tools=[WEATHER_TOOL]
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.type == "function"
    assert call.id
    assert call.function.name == "get_weather"
    assert set(json.loads(call.function.arguments)) == {"city"}

    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 18}'})
    second = openai_client.chat.completions.create(
        model=CHAT_MODEL, messages=messages, tools=[WEATHER_TOOL]
    )
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content


def test_a_streamed_tool_call(openai_client):
    stream = openai_client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    chunks = list(stream)
    calls = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or []]
    assert [call.function.name for call in calls] == ["get_weather"]
    assert calls[0].index == 0
    assert json.loads(calls[0].function.arguments)
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tool_choice_none_means_a_plain_answer(openai_client):
    completion = openai_client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "Weather in Rome?"}],
        tools=[WEATHER_TOOL],
        tool_choice="none",
    )
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.tool_calls is None


def test_json_schema_output(openai_client):
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    completion = openai_client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "Invent a person."}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": schema, "strict": True},
        },
    )
    person = json.loads(completion.choices[0].message.content)
    assert isinstance(person["name"], str)
    assert isinstance(person["age"], int)


def test_json_object_output(openai_client):
    completion = openai_client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "Answer in JSON."}],
        response_format={"type": "json_object"},
    )
    assert isinstance(json.loads(completion.choices[0].message.content), dict)


def test_embeddings_decoded_from_the_sdks_default_base64(openai_client):
    result = openai_client.embeddings.create(model=EMBED_MODEL, input=["one", "two"])
    assert [item.index for item in result.data] == [0, 1]
    first, second = (item.embedding for item in result.data)
    assert len(first) == len(second) > 0
    assert abs(sum(x * x for x in first) - 1) < 1e-3  # Ollama's vectors are unit length
    assert result.usage.prompt_tokens > 0
    assert result.model == EMBED_MODEL


def test_embeddings_as_floats_with_fewer_dimensions(openai_client):
    result = openai_client.embeddings.create(
        model=EMBED_MODEL, input="one", encoding_format="float", dimensions=4
    )
    (item,) = result.data
    assert len(item.embedding) == 4
    assert all(isinstance(x, float) for x in item.embedding)


def test_models_list_and_retrieve(openai_client):
    ids = [model.id for model in openai_client.models.list()]
    assert any(model_id.startswith(CHAT_MODEL) for model_id in ids)
    model = openai_client.models.retrieve(next(i for i in ids if i.startswith(CHAT_MODEL)))
    assert model.object == "model"


def test_a_bad_request_raises_bad_request_error(openai_client):
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.chat.completions.create(model=CHAT_MODEL, messages=HELLO, n=2)
    assert caught.value.body["param"] == "n"
    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(model=CHAT_MODEL, messages=[])


def test_a_wrong_key_raises_authentication_error(premrunner_server):
    client = openai.OpenAI(
        base_url=f"{premrunner_server.url}/v1", api_key="wrong-key", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model=CHAT_MODEL, messages=HELLO)


def test_an_unknown_model_raises_not_found_error(openai_client):
    with pytest.raises(openai.NotFoundError) as caught:
        openai_client.chat.completions.create(model="no-such-model", messages=HELLO)
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        openai_client.embeddings.create(model="no-such-model", input="x")
