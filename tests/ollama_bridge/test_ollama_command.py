"""`manage.py ollama status|start|stop|serve`, through call_command and as a real process."""

import json
import signal
import subprocess
import sys
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ollama_bridge.client import OllamaClient
from tests.ollama_bridge.conftest import running_standin
from tests.ollama_bridge.test_lifecycle import managed_env, process_exists, wait_gone
from tests.ollama_standin.launcher import STANDIN_EXECUTABLE
from tests.support.server import REPO_ROOT, PremRunnerServer, free_port


@pytest.fixture
def local_ollama(settings, tmp_path):
    """Settings for an Ollama that PremRunner may run on a free local port."""
    settings.DATA_PATH = tmp_path
    settings.LOGS_DIR = tmp_path / "logs"
    settings.OLLAMA_MODELS = str(tmp_path / "models")
    settings.OLLAMA_HOST = f"http://127.0.0.1:{free_port()}"
    settings.OLLAMA_BIN = str(STANDIN_EXECUTABLE)
    settings.OLLAMA_MANAGE = True
    settings.OLLAMA_STOP_TIMEOUT = 3.0
    yield settings
    call_command("ollama", "stop", stdout=StringIO())


def ollama(*args: str) -> str:
    out = StringIO()
    call_command("ollama", *args, stdout=out)
    return out.getvalue()


def test_status_prints_the_status_as_json(settings, standin):
    settings.OLLAMA_HOST = standin.url
    status = json.loads(ollama("status"))
    assert status["status"] == "running"
    assert status["host"] == standin.url
    assert status["managed"] is False


def test_status_of_an_ollama_premrunner_would_run_but_is_not_running(local_ollama):
    assert json.loads(ollama("status"))["status"] == "stopped"


def test_status_says_how_to_install_when_ollama_is_missing(local_ollama, tmp_path):
    local_ollama.OLLAMA_BIN = str(tmp_path / "missing")
    status = json.loads(ollama("status"))
    assert status["status"] == "not_installed"
    assert "https://ollama.com/download" in status["message"]


def test_start_runs_ollama_in_the_background_and_stop_stops_it(local_ollama):
    started = ollama("start")
    assert "Ollama started" in started
    status = json.loads(ollama("status"))
    assert status["status"] == "running"
    assert status["managed"] is True
    pid = status["pid"]
    assert process_exists(pid)
    assert "already answers" in ollama("start")

    assert ollama("stop") == f"Stopped Ollama (pid {pid}).\n"
    assert not process_exists(pid)
    assert not OllamaClient(local_ollama.OLLAMA_HOST).heartbeat()
    assert "nothing to stop" in ollama("stop")


def test_stop_leaves_an_ollama_premrunner_did_not_start_alone(settings, tmp_path):
    settings.DATA_PATH = tmp_path
    with running_standin(tmp_path / "models") as foreign:
        settings.OLLAMA_HOST = foreign.url
        assert "nothing to stop" in ollama("stop")
        assert "PremRunner did not start it" in ollama("start")
        assert OllamaClient(foreign.url).heartbeat()


def test_start_without_ollama_installed_fails_with_instructions(local_ollama, tmp_path):
    local_ollama.OLLAMA_BIN = str(tmp_path / "missing")
    with pytest.raises(CommandError, match="ollama.com/download"):
        ollama("start")


def test_start_refuses_an_ollama_on_another_machine(settings):
    settings.OLLAMA_HOST = "http://192.0.2.10:11434"
    with pytest.raises(CommandError, match="not on this machine"):
        ollama("start")


def test_serve_keeps_ollama_in_the_foreground_until_sigterm(tmp_path):
    port = free_port()
    env = PremRunnerServer(
        tmp_path, ollama_url=f"http://127.0.0.1:{port}", env=managed_env()
    ).environment()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "ollama", "serve"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    client = OllamaClient(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 20
        while not client.heartbeat() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.heartbeat()
        pid = json.loads((tmp_path / "ollama.pid").read_text())["pid"]

        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "Keeping Ollama alive" in output
    assert wait_gone(pid)
    assert not client.heartbeat()
