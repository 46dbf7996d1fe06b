"""The Ollama client against the stand-in over real HTTP: every call and every kind of failure."""

import asyncio
import hashlib
import logging
import time
import tracemalloc

import pytest

from ollama_bridge.client import AsyncOllamaClient, OllamaClient, sha256_of_file
from ollama_bridge.errors import (
    ModelNotFound,
    OllamaBadRequest,
    OllamaUnavailable,
    OllamaUpstreamError,
)
from tests.conftest import CHAT_MODEL, EMBED_MODEL
from tests.files import write_tiny_gguf
from tests.ollama_bridge.conftest import running_standin, standin_stats
from tests.support.server import TEST_TOKEN

CHAT = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Say hello."}]}


def run(coroutine_function, base_url: str, **client_options):
    """Run `coroutine_function(client)` with a fresh async client on a fresh event loop."""

    async def main():
        client = AsyncOllamaClient(base_url, **client_options)
        try:
            return await coroutine_function(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def wait_until(condition, *, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# -- the server ---------------------------------------------------------------------------------


def test_heartbeat_is_true_while_ollama_answers(ollama):
    assert ollama.heartbeat() is True


def test_heartbeat_is_false_on_a_closed_port(closed_url):
    assert OllamaClient(closed_url).heartbeat() is False


def test_version_has_no_v_prefix(ollama):
    version = ollama.version()
    assert version[0].isdigit()
    assert version.count(".") == 2


def test_probe_reports_version_and_loaded_models(ollama):
    ollama.load_model(CHAT_MODEL)
    probe = ollama.probe()
    assert probe["version"] == ollama.version()
    assert "tiny-llama:latest" in probe["models_loaded"]


def test_probe_is_none_on_a_closed_port(closed_url):
    assert OllamaClient(closed_url).probe() is None


def test_list_models_shows_the_stores_models_by_canonical_name(ollama):
    names = {model["name"] for model in ollama.list_models()}
    assert {"tiny-llama:latest", "nomic-embed-text:latest", "qwen3:0.6b"} <= names


def test_show_returns_details_and_model_info(ollama):
    shown = ollama.show(CHAT_MODEL)
    assert shown["details"]["format"] == "gguf"
    assert isinstance(shown["model_info"], dict)
    assert "modified_at" in shown


def test_show_of_an_unknown_model_raises_model_not_found(ollama):
    with pytest.raises(ModelNotFound) as caught:
        ollama.show("no-such-model")
    assert caught.value.message == "model 'no-such-model:latest' not found"
    assert caught.value.status_code == 404


def test_load_and_unload_are_reflected_in_running_models(ollama):
    loaded = ollama.load_model(CHAT_MODEL, keep_alive="5m")
    assert loaded["done_reason"] == "load"
    assert "tiny-llama:latest" in {model["name"] for model in ollama.running_models()}

    unloaded = ollama.unload_model(CHAT_MODEL)
    assert unloaded["done_reason"] == "unload"
    assert wait_until(
        lambda: "tiny-llama:latest" not in {m["name"] for m in ollama.running_models()}
    )


# -- blobs, create, delete, pull ----------------------------------------------------------------


def test_push_blob_uploads_a_file_under_its_sha256(ollama, tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"PremRunner blob " * 1000)
    expected = f"sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}"
    assert ollama.blob_exists(expected) is False

    progress = []
    digest = ollama.push_blob(path, on_progress=lambda sent, total: progress.append((sent, total)))

    assert digest == expected
    assert ollama.blob_exists(digest) is True
    assert progress[-1] == (path.stat().st_size, path.stat().st_size)


def test_push_blob_skips_a_blob_ollama_has(ollama, tmp_path):
    path = tmp_path / "again.bin"
    path.write_bytes(b"pushed twice")
    digest = ollama.push_blob(path)
    progress = []
    assert ollama.push_blob(path, digest, on_progress=lambda *p: progress.append(p)) == digest
    assert progress == [(path.stat().st_size, path.stat().st_size)]


def test_push_blob_with_a_wrong_digest_is_a_bad_request(ollama, tmp_path):
    path = tmp_path / "lying.bin"
    path.write_bytes(b"these bytes do not hash to zeros")
    wrong = "sha256:" + "0" * 64
    with pytest.raises(OllamaBadRequest) as caught:
        ollama.push_blob(path, wrong)
    assert caught.value.message.startswith('digest mismatch, expected "sha256:000')


def test_blob_exists_with_a_malformed_digest_is_a_bad_request(ollama):
    with pytest.raises(OllamaBadRequest):
        ollama.blob_exists("sha256:not-hex")


def test_push_blob_streams_the_file_in_bounded_blocks(ollama, tmp_path):
    path = tmp_path / "large.bin"
    with path.open("wb") as handle:
        for block in range(32):
            handle.write(bytes([block]) * 1024 * 1024)
    digest = sha256_of_file(path)

    tracemalloc.start()
    try:
        ollama.push_blob(path, digest)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert ollama.blob_exists(digest)
    assert peak < 8 * 1024 * 1024  # a 32 MiB file never sits in memory whole


def test_create_model_from_a_gguf_blob_streams_progress_to_success(ollama, tmp_path):
    gguf = write_tiny_gguf(tmp_path / "tiny.gguf")
    digest = ollama.push_blob(gguf)

    lines = list(ollama.create_model("bridge-created", files={"tiny.gguf": digest}))

    statuses = [line["status"] for line in lines]
    assert statuses[0] == "parsing GGUF"
    assert statuses[-2:] == ["writing manifest", "success"]
    assert "bridge-created:latest" in {model["name"] for model in ollama.list_models()}


def test_create_model_from_another_model_with_a_system_prompt(ollama):
    lines = list(
        ollama.create_model("bridge-derived", from_model=CHAT_MODEL, system="You are terse.")
    )
    assert lines[-1] == {"status": "success"}
    assert ollama.show("bridge-derived")["system"] == "You are terse."


def test_create_model_without_a_source_is_a_bad_request(ollama):
    with pytest.raises(OllamaBadRequest) as caught:
        list(ollama.create_model("no-source"))
    assert caught.value.message == "neither 'from' or 'files' was specified"


def test_create_model_from_a_file_that_is_not_gguf_fails_with_ollamas_message(ollama, tmp_path):
    path = tmp_path / "fake.gguf"
    path.write_bytes(b"not a model at all")
    digest = ollama.push_blob(path)
    with pytest.raises((OllamaBadRequest, OllamaUpstreamError)) as caught:
        list(ollama.create_model("not-gguf", files={"fake.gguf": digest}))
    assert "supplied file was not in GGUF format" in caught.value.message


def test_delete_model_removes_it(ollama):
    list(ollama.create_model("bridge-doomed", from_model=CHAT_MODEL))
    ollama.delete_model("bridge-doomed")
    assert "bridge-doomed:latest" not in {model["name"] for model in ollama.list_models()}


def test_delete_of_an_unknown_model_raises_model_not_found(ollama):
    with pytest.raises(ModelNotFound) as caught:
        ollama.delete_model("never-was")
    assert caught.value.message == "model 'never-was' not found"


def test_pull_streams_progress_and_the_model_arrives(ollama):
    lines = list(ollama.pull("gemma3:270m"))
    assert lines[0] == {"status": "pulling manifest"}
    assert lines[-1] == {"status": "success"}
    assert "gemma3:270m" in {model["name"] for model in ollama.list_models()}


def test_pull_of_an_unknown_model_raises_the_error_line_after_the_first_progress(ollama):
    seen = []
    with pytest.raises(OllamaUpstreamError) as caught:
        for line in ollama.pull("nobody/has-this-model"):
            seen.append(line)
    assert seen == [{"status": "pulling manifest"}]
    assert caught.value.message == "pull model manifest: file does not exist"


# -- inference ----------------------------------------------------------------------------------


def test_chat_returns_one_complete_answer(ollama):
    answer = ollama.chat({**CHAT, "stream": True})  # stream is forced off
    assert answer["done"] is True
    assert answer["message"]["role"] == "assistant"
    assert answer["message"]["content"]
    assert answer["eval_count"] > 0


def test_chat_stream_yields_lines_until_the_final_one_with_counts(ollama):
    lines = list(ollama.chat_stream(CHAT))
    assert len(lines) > 2
    assert all(line["done"] is False for line in lines[:-1])
    final = lines[-1]
    assert final["done"] is True
    assert final["done_reason"] == "stop"
    assert isinstance(final["total_duration"], int)
    assert final["eval_count"] > 0
    streamed = "".join(line["message"]["content"] for line in lines)
    assert streamed == ollama.chat(CHAT)["message"]["content"]


def test_chat_stream_yields_each_line_as_it_arrives_and_closing_it_stops_generation(
    slow_standin,
):
    before = standin_stats(slow_standin)["cancelled_generations"]
    # 200 tokens at 0.2 s each: the whole answer takes 40 s, its first lines a fraction of that.
    started = time.monotonic()
    stream = OllamaClient(slow_standin.url).chat_stream(CHAT)
    first, second = next(stream), next(stream)
    stream.close()

    assert time.monotonic() - started < 3
    assert first["done"] is False and second["done"] is False
    assert wait_until(lambda: standin_stats(slow_standin)["cancelled_generations"] == before + 1)


def test_chat_with_an_unknown_model_raises_model_not_found(ollama):
    with pytest.raises(ModelNotFound) as caught:
        ollama.chat({**CHAT, "model": "ghost"})
    assert caught.value.message == "model 'ghost' not found"


def test_chat_stream_with_an_unknown_model_raises_before_any_line(ollama):
    with pytest.raises(ModelNotFound):
        next(ollama.chat_stream({**CHAT, "model": "ghost"}))


def test_chat_that_ollama_refuses_raises_bad_request_with_its_message(ollama):
    with pytest.raises(OllamaBadRequest) as caught:
        ollama.chat({**CHAT, "top_logprobs": 99})
    assert caught.value.message == "top_logprobs must be between 0 and 20"
    assert caught.value.status_code == 400


def test_generate_returns_the_whole_response(ollama):
    answer = ollama.generate({"model": CHAT_MODEL, "prompt": "Once upon a time"})
    assert answer["done"] is True
    assert answer["response"]


def test_embed_returns_one_unit_vector_per_input(ollama):
    result = ollama.embed(EMBED_MODEL, ["first", "second"])
    vectors = result["embeddings"]
    assert len(vectors) == 2
    for vector in vectors:
        assert sum(value * value for value in vector) == pytest.approx(1.0, abs=1e-3)
    assert result["prompt_eval_count"] > 0


def test_embed_truncates_to_the_dimensions_asked(ollama):
    vectors = ollama.embed(EMBED_MODEL, "short", dimensions=16)["embeddings"]
    assert len(vectors[0]) == 16


def test_embed_with_an_unknown_model_raises_model_not_found(ollama):
    with pytest.raises(ModelNotFound) as caught:
        ollama.embed("ghost", "text")
    assert caught.value.message == 'model "ghost" not found, try pulling it first'


def test_embed_with_a_non_text_input_is_a_bad_request(ollama):
    with pytest.raises(OllamaBadRequest) as caught:
        ollama.embed(EMBED_MODEL, ["text", 7])  # type: ignore[list-item]
    assert caught.value.message == "invalid input type"


# -- Ollama not there, failing, or too slow -----------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.version(),
        lambda c: c.list_models(),
        lambda c: c.chat(CHAT),
        lambda c: list(c.chat_stream(CHAT)),
        lambda c: c.embed(EMBED_MODEL, "x"),
        lambda c: list(c.pull(CHAT_MODEL)),
    ],
    ids=["version", "list_models", "chat", "chat_stream", "embed", "pull"],
)
def test_a_closed_port_raises_unavailable_in_the_oss_words(closed_url, call):
    with pytest.raises(OllamaUnavailable) as caught:
        call(OllamaClient(closed_url))
    assert closed_url in caught.value.message
    assert "Connection refused" in caught.value.message


def test_an_error_line_mid_stream_raises_upstream_error_after_the_lines_before_it(
    failing_standin,
):
    seen = []
    with pytest.raises(OllamaUpstreamError) as caught:
        for line in OllamaClient(failing_standin.url).chat_stream(CHAT):
            seen.append(line)
    assert len(seen) == 3
    assert caught.value.message  # Ollama's own text, whatever it says
    assert "{" not in caught.value.message


def test_a_failure_of_a_non_streamed_chat_raises_upstream_error(failing_standin):
    with pytest.raises(OllamaUpstreamError) as caught:
        OllamaClient(failing_standin.url).chat(CHAT)
    assert caught.value.status_code == 500


def test_a_stream_slower_than_the_read_timeout_raises_unavailable(slow_standin):
    client = OllamaClient(slow_standin.url, read_timeout=0.05)
    started = time.monotonic()
    with pytest.raises(OllamaUnavailable) as caught:
        list(client.chat_stream(CHAT))
    assert "did not answer in time" in caught.value.message
    assert time.monotonic() - started < 2


def test_a_pause_between_chunks_longer_than_the_read_timeout_raises_unavailable(slow_standin):
    seen = []
    with pytest.raises(OllamaUnavailable) as caught:
        for line in OllamaClient(slow_standin.url, read_timeout=0.3).pull("gemma3:270m"):
            seen.append(line)
    assert seen == [{"status": "pulling manifest"}]  # the first line came; the next one did not
    assert "did not answer in time" in caught.value.message


def test_an_ollama_that_dies_mid_answer_raises_upstream_error(tmp_path):
    with running_standin(tmp_path / "models", STANDIN_CRASH_AFTER="2") as dying:
        seen = []
        with pytest.raises(OllamaUpstreamError) as caught:
            for line in OllamaClient(dying.url).chat_stream(CHAT):
                seen.append(line)
    assert len(seen) == 2
    assert "broke off" in caught.value.message


# -- the async client ---------------------------------------------------------------------------


def test_async_chat_and_stream_agree(standin):
    async def chat_both(client):
        whole = await client.chat(CHAT)
        lines = [line async for line in client.chat_stream(CHAT)]
        return whole, lines

    whole, lines = run(chat_both, standin.url)
    assert whole["done"] is True
    assert lines[-1]["done"] is True
    assert "".join(line["message"]["content"] for line in lines) == whole["message"]["content"]


def test_async_listing_show_load_and_embed(standin):
    async def calls(client):
        await client.load_model(CHAT_MODEL)
        return (
            await client.list_models(),
            await client.running_models(),
            await client.show(CHAT_MODEL),
            await client.embed(EMBED_MODEL, "one"),
            await client.unload_model(CHAT_MODEL),
        )

    models, running, shown, embedded, unloaded = run(calls, standin.url)
    assert "tiny-llama:latest" in {model["name"] for model in models}
    assert "tiny-llama:latest" in {model["name"] for model in running}
    assert shown["details"]["family"]
    assert len(embedded["embeddings"]) == 1
    assert unloaded["done_reason"] == "unload"


def test_async_errors_are_typed_like_the_sync_ones(standin, closed_url):
    async def unknown_model(client):
        return [line async for line in client.chat_stream({**CHAT, "model": "ghost"})]

    async def bad_request(client):
        return await client.chat({**CHAT, "top_logprobs": 99})

    async def version_of_nothing(client):
        return await client.list_models()

    with pytest.raises(ModelNotFound):
        run(unknown_model, standin.url)
    with pytest.raises(OllamaBadRequest):
        run(bad_request, standin.url)
    with pytest.raises(OllamaUnavailable):
        run(version_of_nothing, closed_url)


def test_async_error_line_mid_stream_raises_upstream_error(failing_standin):
    async def stream(client):
        seen = []
        with pytest.raises(OllamaUpstreamError):
            async for line in client.chat_stream(CHAT):
                seen.append(line)
        return seen

    assert len(run(stream, failing_standin.url)) == 3


def test_async_stream_slower_than_the_read_timeout_raises_unavailable(slow_standin):
    async def stream(client):
        return [line async for line in client.chat_stream(CHAT)]

    with pytest.raises(OllamaUnavailable):
        run(stream, slow_standin.url, read_timeout=0.05)


def test_closing_an_async_stream_stops_generation_upstream(slow_standin):
    before = standin_stats(slow_standin)["cancelled_generations"]

    async def read_two_lines_then_close(client):
        stream = client.chat_stream(CHAT)
        lines = [await anext(stream), await anext(stream)]
        await stream.aclose()
        return lines

    started = time.monotonic()
    lines = run(read_two_lines_then_close, slow_standin.url)
    assert len(lines) == 2
    assert time.monotonic() - started < 3  # lines arrive as generated, not at the end
    assert wait_until(lambda: standin_stats(slow_standin)["cancelled_generations"] == before + 1)


def test_cancelling_the_task_that_reads_an_async_stream_stops_generation(slow_standin):
    before = standin_stats(slow_standin)["cancelled_generations"]

    async def read_then_cancel(client):
        async def read_all():
            async for _ in client.chat_stream(CHAT):
                pass

        task = asyncio.create_task(read_all())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(read_then_cancel, slow_standin.url)
    assert wait_until(lambda: standin_stats(slow_standin)["cancelled_generations"] == before + 1)


# -- one log line per call ----------------------------------------------------------------------


def test_each_call_logs_one_info_line_with_model_duration_and_outcome(ollama, caplog):
    with caplog.at_level(logging.INFO, logger="ollama_bridge.client"):
        ollama.chat(CHAT)
        with pytest.raises(ModelNotFound):
            ollama.chat({**CHAT, "model": "ghost"})

    lines = [record for record in caplog.records if record.name == "ollama_bridge.client"]
    assert [record.levelno for record in lines] == [logging.INFO, logging.INFO]
    ok, missing = (record.getMessage() for record in lines)
    assert "/api/chat model=tiny-llama" in ok and ok.endswith(" ok")
    assert "model=ghost" in missing and missing.endswith(" ModelNotFound")
    assert "ms" in ok
    assert TEST_TOKEN not in caplog.text
    assert "Say hello." not in caplog.text  # prompts are not logged at INFO


def test_status_probes_log_at_debug_only(ollama, caplog):
    with caplog.at_level(logging.INFO, logger="ollama_bridge.client"):
        assert ollama.probe() is not None
        assert ollama.heartbeat()
    assert not [record for record in caplog.records if record.name == "ollama_bridge.client"]
