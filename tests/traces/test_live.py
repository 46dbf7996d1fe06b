"""Against a running server: a call answers before its trace is written, which comes after."""

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from tests.conftest import CHAT_MODEL


@contextmanager
def traces_table_locked(server) -> Iterator[None]:
    """Hold the lock that a trace insert waits for, while the server reads as usual."""
    if server.database is not None:  # PostgreSQL: inserts wait, SELECTs go on
        with psycopg.connect(server.database.url) as connection:
            connection.execute("LOCK TABLE traces_trace IN SHARE MODE")
            yield
            connection.rollback()
        return
    connection = sqlite3.connect(server.data_path / "premrunner.sqlite3", isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")  # SQLite in WAL mode: writers wait, readers go on
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def wait_for(session, url: str, *, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while (response := session.get(url, timeout=5)).status_code == 404:
        assert time.monotonic() < deadline, f"{url} still answers 404"
        time.sleep(0.05)
    return response


def test_a_call_answers_while_its_trace_waits_for_the_database(premrunner_server, api):
    question = {"role": "user", "content": "Say hello while the traces table is locked"}

    with traces_table_locked(premrunner_server):
        # Were the trace written on the request path, this would wait for the lock (and time out).
        response = api.post(
            f"{premrunner_server.url}/v1/chat/completions",
            json={"model": CHAT_MODEL, "messages": [question], "max_tokens": 5},
            timeout=10,
        )
        assert response.status_code == 200
        trace_url = f"{premrunner_server.url}/v1/traces/{response.headers['X-Trace-Id']}"
        assert api.get(trace_url, timeout=5).status_code == 404  # not written yet

    trace = wait_for(api, trace_url).json()
    assert trace["input"] == [question]
    assert trace["output"] == response.json()["choices"][0]["message"]["content"]
    assert trace["totalTokens"] == response.json()["usage"]["total_tokens"]
    assert trace["status"] == "success"
    assert "Could not write trace" not in premrunner_server.log()
