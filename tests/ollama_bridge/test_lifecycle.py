"""A real PremRunner keeps its own Ollama (the stand-in executable): started with the server,
restarted when it dies, stopped with the server; never started by other commands."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from websockets.sync.client import connect

from tests.ollama_standin.launcher import STANDIN_EXECUTABLE
from tests.support.server import REPO_ROOT, TEST_TOKEN, PremRunnerServer, free_port


def managed_env(**extra: str) -> dict[str, str]:
    return {
        "OLLAMA_MANAGE": "true",
        "OLLAMA_BIN": str(STANDIN_EXECUTABLE),
        "OLLAMA_STATUS_INTERVAL": "0.2",
        "REDIS_URL": "",
        **extra,
    }


def managed_server(data_path: Path, **extra: str) -> PremRunnerServer:
    """A PremRunner that runs Ollama itself on a free port."""
    return PremRunnerServer(
        data_path, ollama_url=f"http://127.0.0.1:{free_port()}", env=managed_env(**extra)
    )


def status_of(server: PremRunnerServer) -> dict:
    return server.session().get(f"{server.url}/api/ollama/status", timeout=10).json()


def wait_for_status(server: PremRunnerServer, wanted: str, *, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    status = status_of(server)
    while status["status"] != wanted and time.monotonic() < deadline:
        time.sleep(0.1)
        status = status_of(server)
    assert status["status"] == wanted, status
    return status


def process_exists(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def wait_gone(pid: int, *, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while process_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not process_exists(pid)


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def ollama_answers(url: str) -> bool:
    try:
        return requests.head(url, timeout=2).ok
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[PremRunnerServer]:
    with managed_server(tmp_path_factory.mktemp("managed")) as running:
        yield running


def test_serve_starts_ollama_as_its_child(server):
    status = wait_for_status(server, "running")

    assert status["managed"] is True
    assert parent_of(status["pid"]) == server.process.pid
    assert status["version"]
    assert ollama_answers(server.ollama_url)
    log = server.data_path / "logs" / "ollama.log"
    assert f"starting {STANDIN_EXECUTABLE} serve" in log.read_text()
    assert (server.data_path / "ollama").is_dir()  # OLLAMA_MODELS under DATA_PATH


def test_a_killed_ollama_comes_back_and_the_socket_follows_it(server):
    first = wait_for_status(server, "running")["pid"]
    headers = {"Authorization": f"Bearer {TEST_TOKEN}"}
    ws = f"{server.url.replace('http://', 'ws://')}/ws/status"
    with connect(ws, additional_headers=headers, open_timeout=10) as socket:
        assert json.loads(socket.recv(timeout=10))["status"]["pid"] == first

        os.kill(first, signal.SIGKILL)

        seen = []
        while not seen or seen[-1]["status"] != "running" or seen[-1]["pid"] == first:
            seen.append(json.loads(socket.recv(timeout=15))["status"])

    assert any(status["status"] != "running" for status in seen)
    assert seen[-1]["managed"] is True
    assert not process_exists(first)


def test_stopping_premrunner_stops_its_ollama(tmp_path):
    server = managed_server(tmp_path).start()
    try:
        pid = wait_for_status(server, "running")["pid"]
        server.process.send_signal(signal.SIGTERM)  # daphne's reactor runs its shutdown hooks
        server.process.wait(timeout=20)
    finally:
        server.close()

    assert wait_gone(pid)
    assert not ollama_answers(server.ollama_url)
    assert not (tmp_path / "ollama.pid").exists()


def test_even_a_premrunner_killed_hard_leaves_no_ollama_behind(tmp_path):
    server = managed_server(tmp_path).start()
    try:
        pid = wait_for_status(server, "running")["pid"]
        server.process.kill()  # SIGKILL: no handler, no atexit; the kernel tells Ollama
        server.process.wait(timeout=20)
    finally:
        server.close()

    assert wait_gone(pid)


def test_without_ollama_installed_premrunner_serves_and_says_how_to_install(tmp_path):
    with managed_server(tmp_path, OLLAMA_BIN=str(tmp_path / "missing" / "ollama")) as server:
        status = wait_for_status(server, "not_installed")
        hello = server.session().get(f"{server.url}/api/hello", timeout=10)

    assert "https://ollama.com/download" in status["message"]
    assert status["managed"] is False
    assert hello.status_code == 200


@pytest.mark.parametrize(
    ("command", "env"),
    [(["migrate"], {}), (["serve"], {"AUTH_TOKEN": ""})],
    ids=["migrate", "serve-refusing-to-start"],
)
def test_commands_that_serve_nothing_never_start_ollama(tmp_path, command, env):
    server = managed_server(tmp_path)  # only for its environment
    result = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=REPO_ROOT,
        env={**server.environment(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == (1 if env else 0), result.stderr
    assert not ollama_answers(server.ollama_url)
    assert not (tmp_path / "ollama.pid").exists()
    assert not (tmp_path / "logs" / "ollama.log").exists()


def test_runserver_starts_ollama_once_in_its_serving_child_and_ctrl_c_stops_it(tmp_path):
    server = managed_server(tmp_path)
    env = server.environment()
    subprocess.run(
        [sys.executable, "manage.py", "migrate"], cwd=REPO_ROOT, env=env, check=True, timeout=60
    )
    runner = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{server.port}"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group, so Ctrl-C can be played to all of it
    )
    try:
        pid = wait_for_runserver(server)
        serving_child = parent_of(pid)
        assert serving_child != runner.pid
        assert parent_of(serving_child) == runner.pid
        starts = [line for line in ollama_log_lines(tmp_path) if line.startswith("--- ")]
        assert len(starts) == 1

        os.killpg(runner.pid, signal.SIGINT)
        runner.wait(timeout=20)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
    assert wait_gone(pid)


def wait_for_runserver(server: PremRunnerServer, *, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = status_of(server)
            if status["status"] == "running":
                return status["pid"]
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("runserver never reported a running Ollama")


def ollama_log_lines(data_path: Path) -> list[str]:
    return (data_path / "logs" / "ollama.log").read_text().splitlines()
