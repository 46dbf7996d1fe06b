"""The supervisor keeps a real `ollama serve` (the stand-in executable) alive and stops it clean."""

import logging
import os
import signal
import socket
import time
from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest

from ollama_bridge.client import OllamaClient
from ollama_bridge.errors import OllamaError
from ollama_bridge.supervisor import (
    INSTALL_INSTRUCTIONS,
    OllamaState,
    OllamaSupervisor,
    OwnedProcess,
    find_binary,
    is_local_url,
    listen_address,
    pull_model_if_missing,
    start_detached_ollama,
    stop_recorded_ollama,
)
from tests.conftest import CHAT_MODEL
from tests.ollama_bridge.conftest import running_standin
from tests.ollama_standin.launcher import STANDIN_EXECUTABLE
from tests.support.server import free_port


def process_exists(pid: int) -> bool:
    """True while `pid` runs (a zombie awaiting its parent counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def group_members(pgid: int) -> list[int]:
    """Live processes of process group `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid and process_exists(int(entry.name)):
                    members.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
    return members


def wait_until(condition, *, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


class Recorder:
    """An `on_change` hook that notes every state the supervisor reports."""

    def __init__(self) -> None:
        self.supervisor: OllamaSupervisor | None = None
        self.states: list[str] = []

    def __call__(self) -> None:
        state = self.supervisor.state.value
        if not self.states or self.states[-1] != state:
            self.states.append(state)


@pytest.fixture
def make_supervisor(tmp_path) -> Iterator:
    """Build supervisors on a free port with short timings; every one is stopped at the end."""
    made: list[OllamaSupervisor] = []

    def make(**overrides) -> OllamaSupervisor:
        recorder = Recorder()
        options = {
            "base_url": f"http://127.0.0.1:{free_port()}",
            "binary": str(STANDIN_EXECUTABLE),
            "models_dir": tmp_path / "models",
            "log_path": tmp_path / "logs" / "ollama.log",
            "pid_path": tmp_path / "ollama.pid",
            "start_timeout": 10.0,
            "stop_timeout": 3.0,
            "poll_interval": 0.1,
            "backoff_initial": 0.1,
            "backoff_max": 1.0,
            "on_change": recorder,
            **overrides,
        }
        supervisor = OllamaSupervisor(**options)
        recorder.supervisor = supervisor
        supervisor.recorder = recorder  # type: ignore[attr-defined]
        made.append(supervisor)
        return supervisor

    yield make
    for supervisor in made:
        supervisor.stop()


def test_it_starts_ollama_and_reports_running(make_supervisor, tmp_path):
    supervisor = make_supervisor()
    assert supervisor.start()
    assert supervisor.wait_for(OllamaState.RUNNING, timeout=15)

    assert supervisor.managed
    assert process_exists(supervisor.pid)
    assert OllamaClient(supervisor.base_url).version()
    assert OwnedProcess.recorded(tmp_path / "ollama.pid").pid == supervisor.pid
    assert (tmp_path / "models").is_dir()
    assert "serve" in (tmp_path / "logs" / "ollama.log").read_text()
    assert supervisor.recorder.states == ["starting", "running"]


def test_ollama_listens_where_ollama_host_says():
    assert listen_address("http://127.0.0.1:11434") == "127.0.0.1:11434"
    assert listen_address("http://localhost") == "localhost:80"
    assert listen_address("http://[::1]:9000") == "[::1]:9000"


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:11434", True),
        ("http://localhost:11434", True),
        ("http://[::1]:11434", True),
        ("http://0.0.0.0:11434", True),
        ("http://192.0.2.10:11434", False),  # TEST-NET-1: never this machine
        ("http://no-such-host.invalid:11434", False),
    ],
)
def test_premrunner_runs_ollama_only_for_an_address_of_this_machine(url, local):
    assert is_local_url(url) is local


def test_it_reports_starting_until_a_slow_ollama_answers(make_supervisor, monkeypatch):
    monkeypatch.setenv("STANDIN_START_DELAY", "1.5")
    supervisor = make_supervisor()
    started = time.monotonic()
    supervisor.start()

    time.sleep(0.8)
    assert supervisor.state is OllamaState.STARTING
    assert supervisor.managed
    assert supervisor.wait_for(OllamaState.RUNNING, timeout=15)
    assert time.monotonic() - started >= 1.5


def test_a_killed_ollama_is_restarted(make_supervisor):
    supervisor = make_supervisor()
    supervisor.start()
    assert supervisor.wait_for(OllamaState.RUNNING, timeout=15)
    first = supervisor.pid

    os.kill(first, signal.SIGKILL)

    assert wait_until(lambda: supervisor.pid not in (None, first))
    assert supervisor.wait_for(OllamaState.RUNNING, timeout=15)
    assert supervisor.restarts == 1
    assert not process_exists(first)
    assert "starting" in supervisor.recorder.states[2:]


def test_an_ollama_that_crashes_mid_answer_is_restarted(make_supervisor, monkeypatch):
    monkeypatch.setenv("STANDIN_CRASH_AFTER", "2")
    monkeypatch.setenv("STANDIN_PRELOAD", CHAT_MODEL)
    supervisor = make_supervisor()
    supervisor.start()
    assert supervisor.wait_for(OllamaState.RUNNING, timeout=15)
    first = supervisor.pid

    with pytest.raises(OllamaError):
        list(
            OllamaClient(supervisor.base_url).chat_stream(
                {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "hi"}]}
            )
        )

    assert wait_until(lambda: supervisor.pid not in (None, first))
    assert supervisor.wait_for(OllamaState.RUNNING, timeout=15)
    assert OllamaClient(supervisor.base_url).heartbeat()


def test_restarts_back_off_exponentially(make_supervisor, tmp_path, caplog):
    # The port is taken (bound, not listening): each `ollama serve` fails to listen and exits.
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    port = blocker.getsockname()[1]
    log_path = tmp_path / "logs" / "ollama.log"
    supervisor = make_supervisor(base_url=f"http://127.0.0.1:{port}", backoff_initial=0.2)
    try:
        with caplog.at_level(logging.INFO, logger="ollama_bridge.supervisor"):
            supervisor.start()
            assert wait_until(lambda: supervisor.restarts >= 3, timeout=15)
    finally:
        supervisor.stop()
        blocker.close()

    delays = [
        float(record.getMessage().split()[3].rstrip("s"))
        for record in caplog.records
        if record.getMessage().startswith("Restarting Ollama in")
    ]
    assert delays[:3] == [0.2, 0.4, 0.8]
    starts = [
        datetime.fromisoformat(line.split()[1])
        for line in log_path.read_text().splitlines()
        if line.startswith("--- ")
    ]
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(starts)]
    assert all(gap >= delay for gap, delay in zip(gaps, delays[:3], strict=False))
    assert "address already in use" in log_path.read_text()


def test_stop_terminates_ollama_and_leaves_no_process(make_supervisor, tmp_path):
    supervisor = make_supervisor()
    supervisor.start()
    assert supervisor.wait_for(OllamaState.RUNNING, timeout=15)
    pid = supervisor.pid

    supervisor.stop()

    assert supervisor.state is OllamaState.STOPPED
    assert not process_exists(pid)
    assert group_members(pid) == []
    assert not (tmp_path / "ollama.pid").exists()
    assert not OllamaClient(supervisor.base_url).heartbeat()
    assert supervisor.recorder.states[-1] == "stopped"


def test_an_ollama_that_ignores_sigterm_is_killed_after_the_grace_period(make_supervisor, tmp_path):
    stubborn = tmp_path / "stubborn-ollama"
    stubborn.write_text(
        f"#!/bin/sh\ntrap '' TERM\n'{STANDIN_EXECUTABLE}' \"$@\"\nwhile :; do sleep 0.1; done\n"
    )
    stubborn.chmod(0o755)
    supervisor = make_supervisor(binary=str(stubborn), stop_timeout=1.0)
    supervisor.start()
    assert supervisor.wait_for(OllamaState.RUNNING, timeout=15)
    pid = supervisor.pid

    started = time.monotonic()
    supervisor.stop()
    waited = time.monotonic() - started

    assert waited >= 1.0  # it waited out the grace period
    assert waited < 5  # then killed
    assert not process_exists(pid)
    assert group_members(pid) == []


def test_a_foreign_ollama_is_used_and_never_stopped(make_supervisor, tmp_path):
    with running_standin(tmp_path / "foreign") as foreign:
        supervisor = make_supervisor(base_url=foreign.url)
        supervisor.start()
        assert supervisor.wait_for(OllamaState.RUNNING, timeout=15)
        assert supervisor.managed is False
        assert supervisor.pid is None

        supervisor.stop()

        assert OllamaClient(foreign.url).heartbeat()
        assert not (tmp_path / "ollama.pid").exists()


def test_a_missing_binary_is_reported_as_not_installed(make_supervisor, tmp_path):
    supervisor = make_supervisor(binary=str(tmp_path / "no" / "ollama"))
    supervisor.start()
    assert supervisor.wait_for(OllamaState.NOT_INSTALLED, timeout=5)
    assert INSTALL_INSTRUCTIONS in supervisor.message
    assert "OLLAMA_BIN=" in supervisor.message
    assert supervisor.pid is None


def test_the_binary_is_found_on_path_when_not_configured(monkeypatch, tmp_path):
    (tmp_path / "ollama").symlink_to(STANDIN_EXECUTABLE)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_binary("") == str(tmp_path / "ollama")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_binary("") in (None, "/usr/local/bin/ollama")


def test_the_default_model_is_pulled_once_when_missing(make_supervisor):
    supervisor = make_supervisor(default_model="gemma3:270m")
    supervisor.start()
    assert supervisor.wait_for(OllamaState.RUNNING, timeout=15)
    client = OllamaClient(supervisor.base_url)

    assert wait_until(lambda: "gemma3:270m" in {m["name"] for m in client.list_models()})
    assert pull_model_if_missing(client=client, model="gemma3:270m") is False


def test_an_ollama_recorded_by_an_earlier_premrunner_is_taken_over(
    make_supervisor, settings, tmp_path
):
    # `manage.py ollama start` (or a PremRunner killed hard) leaves a recorded Ollama running.
    settings.DATA_PATH = tmp_path
    settings.LOGS_DIR = tmp_path / "logs"
    settings.OLLAMA_MODELS = str(tmp_path / "models")
    base_url = f"http://127.0.0.1:{free_port()}"
    earlier = start_detached_ollama(binary=str(STANDIN_EXECUTABLE), base_url=base_url, timeout=15)

    supervisor = make_supervisor(base_url=base_url)
    supervisor.start()

    assert supervisor.wait_for(OllamaState.RUNNING, timeout=15)
    assert supervisor.pid == earlier.pid
    supervisor.stop()
    assert not process_exists(earlier.pid)


def test_stop_recorded_ollama_stops_only_what_premrunner_recorded(make_supervisor, tmp_path):
    pid_path = tmp_path / "ollama.pid"
    assert stop_recorded_ollama(pid_path=pid_path, grace=1) is None

    pid_path.write_text(f'{{"pid": {os.getpid()}, "binary": "{STANDIN_EXECUTABLE}"}}')
    assert stop_recorded_ollama(pid_path=pid_path, grace=1) is None  # not an ollama serve
    assert not pid_path.exists()


def test_only_one_supervisor_keeps_ollama_per_data_path(make_supervisor):
    first = make_supervisor()
    second = make_supervisor(base_url=first.base_url)
    assert first.start()
    assert not second.start()
