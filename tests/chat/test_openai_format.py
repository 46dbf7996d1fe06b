"""The OpenAI ⇄ Ollama translation, field by field (pure functions, no server)."""

import base64
import json
import struct

import pytest

from chat import openai_format as fmt
from premrunner.errors import ApiError

PNG_B64 = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


def translate(**body) -> dict:
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    return fmt.chat_request_to_ollama(body, model="tiny-llama:latest")


def refused(**body) -> ApiError:
    with pytest.raises(ApiError) as caught:
        translate(**body)
    assert caught.value.status == 400
    return caught.value


# -- requests --------------------------------------------------------------------------------


def test_a_plain_conversation_keeps_every_role_and_its_text():
    payload = translate(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi!"},
            {"role": "developer", "content": "Answer in French."},
        ]
    )
    assert payload == {
        "model": "tiny-llama:latest",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi!"},
            {"role": "system", "content": "Answer in French."},
        ],
    }


def test_content_parts_become_one_message_with_text_and_base64_images():
    payload = translate(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                    {"type": "text", "text": "Be precise."},
                    {"type": "image_url", "image_url": PNG_B64},
                ],
            }
        ]
    )
    assert payload["messages"] == [
        {"role": "user", "content": "What is this?\nBe precise.", "images": [PNG_B64, PNG_B64]}
    ]


def test_remote_image_urls_are_refused_with_the_part_named():
    error = refused(
        messages=[
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
            }
        ]
    )
    assert error.param == "messages[0].content[0]"
    assert "base64" in error.message


def test_tool_calls_get_object_arguments_and_tool_results_get_the_tool_name():
    payload = translate(
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_9", "name": "other", "content": "x"},
        ]
    )
    assistant, first_result, second_result = payload["messages"][1:]
    assert assistant == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_1",
                "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}},
            }
        ],
    }
    assert first_result == {
        "role": "tool",
        "content": "18C",
        "tool_call_id": "call_1",
        "tool_name": "get_weather",
    }
    assert second_result["tool_name"] == "other"


def test_tool_call_arguments_that_are_not_json_are_refused():
    error = refused(
        messages=[
            {
                "role": "assistant",
                "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{oops"}}],
            }
        ]
    )
    assert error.param == "messages[0].tool_calls[0].function.arguments"


def test_sampling_fields_map_onto_ollama_options():
    payload = translate(
        temperature=0.2,
        top_p=0.9,
        max_tokens=10,
        seed=42,
        stop="END",
        presence_penalty=0.5,
        frequency_penalty=0.25,
    )
    assert payload["options"] == {
        "temperature": 0.2,
        "top_p": 0.9,
        "num_predict": 10,
        "seed": 42,
        "stop": ["END"],
        "presence_penalty": 0.5,
        "frequency_penalty": 0.25,
    }


def test_max_completion_tokens_is_honoured_and_wins_over_max_tokens():
    assert translate(max_completion_tokens=7)["options"] == {"num_predict": 7}
    assert translate(max_tokens=50, max_completion_tokens=7)["options"] == {"num_predict": 7}


def test_absent_sampling_fields_leave_the_models_own_defaults():
    assert "options" not in translate()


def test_stop_as_a_list_passes_through():
    assert translate(stop=["a", "b"])["options"]["stop"] == ["a", "b"]


def test_response_formats_become_ollamas_format():
    assert translate(response_format={"type": "json_object"})["format"] == "json"
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    json_schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    assert translate(response_format=json_schema)["format"] == schema
    assert "format" not in translate(response_format={"type": "text"})


def test_a_json_schema_format_without_a_schema_is_refused():
    assert refused(response_format={"type": "json_schema"}).param == "response_format"


TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
]


def test_tools_pass_through_and_tool_choice_none_drops_them():
    assert translate(tools=TOOLS)["tools"] == TOOLS
    assert translate(tools=TOOLS, tool_choice="auto")["tools"] == TOOLS
    assert "tools" not in translate(tools=TOOLS, tool_choice="none")


def test_tool_choice_naming_a_function_offers_only_that_one():
    choice = {"type": "function", "function": {"name": "get_time"}}
    assert translate(tools=TOOLS, tool_choice=choice)["tools"] == [TOOLS[1]]


def test_unknown_fields_are_ignored():
    assert translate(user="someone", logit_bias={"1": 2}, metadata={"a": 1}) == translate()


@pytest.mark.parametrize("n", [2, 5])
def test_more_than_one_choice_is_refused(n):
    assert refused(n=n).param == "n"


def test_one_choice_is_fine():
    assert translate(n=1) == translate()


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": None}, "messages"),
        ({"messages": "hello"}, "messages"),
        ({"messages": ["hello"]}, "messages[0]"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 42}]}, "messages[0].content"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"temperature": "hot"}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_completion_tokens": 2.5}, "max_completion_tokens"),
        ({"seed": True}, "seed"),
        ({"stop": [1, 2]}, "stop"),
        ({"tools": [{"type": "function"}]}, "tools"),
        ({"tool_choice": "always", "tools": TOOLS}, "tool_choice"),
        ({"response_format": {"type": "xml"}}, "response_format"),
    ],
)
def test_malformed_requests_are_refused_naming_the_field(body, param):
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    with pytest.raises(ApiError) as caught:
        fmt.chat_request_to_ollama(body, model="m")
    assert caught.value.status == 400
    assert caught.value.param == param


def test_stream_flags_are_read_strictly():
    assert fmt.wants_stream({"stream": True})
    assert not fmt.wants_stream({})
    assert fmt.wants_usage_chunk({"stream_options": {"include_usage": True}})
    assert not fmt.wants_usage_chunk({"stream_options": {}})
    with pytest.raises(ApiError):
        fmt.wants_stream({"stream": "yes"})


def test_request_params_keep_everything_but_the_conversation():
    body = {"model": "m", "messages": [], "temperature": 0.1, "tools": TOOLS}
    assert fmt.request_params(body) == {"model": "m", "temperature": 0.1, "tools": TOOLS}


# -- responses -------------------------------------------------------------------------------

FINAL = {
    "model": "tiny-llama",
    "created_at": "2026-08-21T17:00:01.9Z",
    "message": {"role": "assistant", "content": "Hello there"},
    "done": True,
    "done_reason": "stop",
    "prompt_eval_count": 26,
    "eval_count": 41,
}


def test_a_whole_answer_has_openais_exact_shape():
    completion = fmt.chat_completion(
        FINAL, completion_id="chatcmpl-abc", model="tiny-llama", created=1700000000
    )
    assert completion == {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "tiny-llama",
        "system_fingerprint": fmt.SYSTEM_FINGERPRINT,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 26, "completion_tokens": 41, "total_tokens": 67},
    }


def test_tool_calls_come_back_with_string_arguments_ids_and_finish_reason_tool_calls():
    answer = {
        **FINAL,
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Tokyo"}}}],
        },
    }
    choice = fmt.chat_completion(answer, completion_id="c", model="m", created=0)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_")
    assert call["type"] == "function"
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Tokyo"}'}


def test_length_stays_length_even_with_tool_calls():
    assert fmt.finish_reason("length", tool_calls=True) == "length"
    assert fmt.finish_reason("stop", tool_calls=False) == "stop"
    assert fmt.finish_reason(None, tool_calls=False) == "stop"


def test_usage_comes_from_ollamas_counts_and_absent_counts_are_zero():
    assert fmt.usage_from({"eval_count": 3}) == {
        "prompt_tokens": 0,
        "completion_tokens": 3,
        "total_tokens": 3,
    }


def test_completion_ids_look_like_openais():
    assert fmt.new_completion_id().startswith("chatcmpl-")
    assert fmt.new_completion_id() != fmt.new_completion_id()


# -- streamed chunks -------------------------------------------------------------------------


def line(content: str = "", **extra) -> dict:
    return {"message": {"role": "assistant", "content": content}, "done": False, **extra}


def test_stream_chunks_carry_the_role_first_then_content_then_finish_and_usage():
    encoder = fmt.ChunkEncoder(completion_id="chatcmpl-x", model="m", include_usage=True)
    chunks = [
        *encoder.chunks(line("Hel")),
        *encoder.chunks(line("lo")),
        *encoder.chunks({**FINAL, "message": {"role": "assistant", "content": ""}}),
    ]
    deltas = [chunk["choices"][0]["delta"] if chunk["choices"] else None for chunk in chunks]
    assert deltas == [{"role": "assistant", "content": "Hel"}, {"content": "lo"}, {}, None]
    assert [c["choices"][0]["finish_reason"] for c in chunks[:3]] == [None, None, "stop"]
    assert chunks[3]["choices"] == []
    assert chunks[3]["usage"] == {"prompt_tokens": 26, "completion_tokens": 41, "total_tokens": 67}
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert {c["id"] for c in chunks} == {"chatcmpl-x"}
    assert len({c["created"] for c in chunks}) == 1


def test_a_final_line_with_text_yields_that_text_before_the_finish_chunk():
    encoder = fmt.ChunkEncoder(completion_id="c", model="m", include_usage=False)
    chunks = encoder.chunks({**FINAL, "done_reason": "length"})
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": "Hello there"},
        {},
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_streamed_tool_calls_are_indexed_across_the_stream_and_finish_as_tool_calls():
    encoder = fmt.ChunkEncoder(completion_id="c", model="m", include_usage=False)
    call = {"function": {"name": "f", "arguments": {"a": 1}}}
    first = encoder.chunks(
        {"message": {"role": "assistant", "content": "", "tool_calls": [call]}, "done": False}
    )
    final = {**FINAL, "message": {"role": "assistant", "content": "", "tool_calls": [call]}}
    *_, tool_chunk, finish = encoder.chunks(final)
    assert first[0]["choices"][0]["delta"]["tool_calls"][0]["index"] == 0
    assert tool_chunk["choices"][0]["delta"]["tool_calls"][0]["index"] == 1
    assert tool_chunk["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] == '{"a": 1}'
    assert finish["choices"][0]["finish_reason"] == "tool_calls"


# -- embeddings ------------------------------------------------------------------------------


def test_embedding_input_is_a_string_or_a_list_of_strings():
    assert fmt.embedding_inputs({"input": "one"}) == ["one"]
    assert fmt.embedding_inputs({"input": ["a", "b"]}) == ["a", "b"]
    for bad in (None, [], [1, 2], 3):
        with pytest.raises(ApiError):
            fmt.embedding_inputs({"input": bad})


def test_embedding_options_check_dimensions_and_encoding_format():
    assert fmt.embedding_options({}) == (None, "float")
    assert fmt.embedding_options({"dimensions": 8, "encoding_format": "base64"}) == (8, "base64")
    with pytest.raises(ApiError) as caught:
        fmt.embedding_options({"encoding_format": "hex"})
    assert caught.value.param == "encoding_format"


def test_embeddings_come_back_as_floats_or_little_endian_float32_base64():
    answer = {"embeddings": [[0.5, -0.25], [1.0, 0.0]], "prompt_eval_count": 6}
    floats = fmt.embeddings_response(answer, model="e", encoding_format="float")
    assert floats == {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": [0.5, -0.25]},
            {"object": "embedding", "index": 1, "embedding": [1.0, 0.0]},
        ],
        "model": "e",
        "usage": {"prompt_tokens": 6, "total_tokens": 6},
    }
    encoded = fmt.embeddings_response(answer, model="e", encoding_format="base64")
    raw = base64.b64decode(encoded["data"][0]["embedding"])
    assert struct.unpack("<2f", raw) == (0.5, -0.25)
    assert json.dumps(encoded)  # stays JSON-ready
