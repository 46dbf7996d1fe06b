"""The test knobs: slow tokens, injected failures and crashes, slow starts, disconnects."""

import json
import socket
import threading
import time

import requests

from .client import CHAT_MODEL, ndjson, post

CHAT = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Tell me a story"}]}


def stats(server) -> dict[str, int]:
    return requests.get(f"{server.url}/__standin/stats", timeout=5).json()


def test_token_delay_spaces_out_a_reply_of_response_tokens_lines(spawn):
    server = spawn(
        STANDIN_PRELOAD=CHAT_MODEL, STANDIN_TOKEN_DELAY="0.1", STANDIN_RESPONSE_TOKENS="4"
    )
    arrivals, lines = [], []
    started = time.monotonic()
    with post(server, "/api/chat", CHAT, stream=True) as response:
        for line in response.iter_lines():
            if line:
                arrivals.append(time.monotonic())
                lines.append(json.loads(line))
    assert len(arrivals) == 5  # four tokens and the final line
    assert lines[-1]["eval_count"] == 4
    assert arrivals[3] - started >= 4 * 0.1  # a delay before each token
    assert arrivals[3] - arrivals[0] >= 0.15  # the lines did not arrive all at once


def test_fail_after_ends_the_stream_with_an_error_line_and_status_200(spawn):
    server = spawn(STANDIN_PRELOAD=CHAT_MODEL, STANDIN_FAIL_AFTER="3")
    response = post(server, "/api/chat", CHAT)
    assert response.status_code == 200
    *tokens, last = ndjson(response)
    assert len(tokens) == 3 and not any(line["done"] for line in tokens)
    assert list(last) == ["error"]
    single = post(server, "/api/chat", {**CHAT, "stream": False})
    assert single.status_code == 500
    assert single.json()["error"] == last["error"]


def test_crash_after_kills_the_whole_process(spawn):
    server = spawn(STANDIN_PRELOAD=CHAT_MODEL, STANDIN_CRASH_AFTER="2")
    try:
        lines = ndjson(post(server, "/api/chat", CHAT))
    except requests.exceptions.ChunkedEncodingError:
        lines = []
    assert len(lines) <= 2
    assert server.process.wait(timeout=5) == 2
    server.start()
    assert requests.get(f"{server.url}/api/version", timeout=5).status_code == 200


def test_client_disconnect_stops_generation_and_is_counted(spawn):
    server = spawn(
        STANDIN_PRELOAD=CHAT_MODEL, STANDIN_TOKEN_DELAY="0.2", STANDIN_RESPONSE_TOKENS="50"
    )
    before = stats(server)["cancelled_generations"]
    with post(server, "/api/chat", CHAT, stream=True) as response:
        next(response.iter_lines())
    deadline = time.monotonic() + 3
    while stats(server)["cancelled_generations"] == before and time.monotonic() < deadline:
        time.sleep(0.05)
    after = stats(server)
    assert after["cancelled_generations"] == before + 1
    assert after["active_generations"] == 0


def test_start_delay_holds_requests_in_the_backlog_until_serving(spawn):
    started = time.monotonic()
    server = spawn(wait=False, STANDIN_START_DELAY="0.4")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    assert requests.get(server.url, timeout=5).text == "Ollama is running"
    assert time.monotonic() - started >= 0.4


def test_load_delay_makes_the_first_request_slower(spawn):
    server = spawn(STANDIN_PRELOAD=CHAT_MODEL, STANDIN_LOAD_DELAY="0.2")
    first = post(server, "/api/chat", {**CHAT, "stream": False}).json()
    second = post(server, "/api/chat", {**CHAT, "stream": False}).json()
    assert first["load_duration"] >= 200_000_000
    assert second["load_duration"] < first["load_duration"] / 10


def test_create_delay_paces_progress_lines(spawn):
    server = spawn(STANDIN_PRELOAD=CHAT_MODEL, STANDIN_CREATE_DELAY="0.05")
    started = time.monotonic()
    lines = ndjson(post(server, "/api/create", {"model": "paced", "from": CHAT_MODEL}))
    assert time.monotonic() - started >= 0.05 * (len(lines) - 1)


def test_sixty_four_concurrent_streams_are_served_in_parallel(spawn):
    server = spawn(
        STANDIN_PRELOAD=CHAT_MODEL, STANDIN_TOKEN_DELAY="0.05", STANDIN_RESPONSE_TOKENS="8"
    )
    results: list[int] = []
    lock = threading.Lock()

    def chat() -> None:
        lines = ndjson(post(server, "/api/chat", CHAT, timeout=30))
        with lock:
            results.append(len(lines))

    threads = [threading.Thread(target=chat) for _ in range(64)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [9] * 64
    assert time.monotonic() - started < 8 * 0.05 * 8
