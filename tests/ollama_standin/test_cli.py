"""The `ollama` executable: serve, version flags, bad commands, ports in use, signals, the store."""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from .client import CHAT_MODEL
from .launcher import STANDIN_EXECUTABLE, StandinServer, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    return subprocess.run(
        [str(STANDIN_EXECUTABLE), *args],
        capture_output=True,
        text=True,
        timeout=15,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


@pytest.mark.parametrize("flag", ["--version", "-v"])
def test_version_flag_reports_the_running_server(ollama, flag, tmp_path):
    result = run(flag, env={"OLLAMA_HOST": ollama.host}, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "ollama version is 0.33.0\n")


def test_version_flag_warns_without_a_server():
    result = run("--version", env={"OLLAMA_HOST": f"127.0.0.1:{free_port()}"})
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "Warning: could not connect to a running Ollama instance",
        "Warning: client version is 0.33.0",
    ]


def test_unknown_command_fails_on_stderr():
    result = run("launch")
    assert result.returncode == 1
    assert result.stderr.startswith('Error: unknown command "launch" for "ollama"')


def test_serving_on_a_taken_port_exits_1_with_gos_message(ollama):
    result = run("serve", env={"OLLAMA_HOST": ollama.host, "OLLAMA_MODELS": "/nonexistent/x"})
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        f"Error: listen tcp {ollama.host}: bind: address already in use"
    )


def test_log_announces_the_address_and_version(ollama):
    assert f"Listening on {ollama.host} (version 0.33.0)" in ollama.log_path.read_text()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signals_shut_down_cleanly(tmp_path, signum):
    server = StandinServer(tmp_path / "models").start()
    server.process.send_signal(signum)
    assert server.process.wait(timeout=5) == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=0.5)


def test_module_entry_point_serves_from_the_repository_root(tmp_path):
    port = free_port()
    env = {**os.environ, "OLLAMA_HOST": f"http://127.0.0.1:{port}", "OLLAMA_MODELS": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.ollama_standin", "serve"],
        cwd=REPO_ROOT,
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        line = process.stderr.readline().decode()
        assert f"Listening on 127.0.0.1:{port}" in line
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text == "Ollama is running"
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_the_store_is_laid_out_like_ollamas(tmp_path):
    models = tmp_path / "not" / "yet" / "there"
    with StandinServer(models, env={"STANDIN_PRELOAD": CHAT_MODEL}):
        manifest_path = models / "manifests/registry.ollama.ai/library/tiny-llama/latest"
        manifest = json.loads(manifest_path.read_text())
    assert manifest["schemaVersion"] == 2
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    media_types = [layer["mediaType"] for layer in manifest["layers"]]
    assert media_types[0] == "application/vnd.ollama.image.model"
    for layer in [manifest["config"], *manifest["layers"]]:
        blob = models / "blobs" / layer["digest"].replace(":", "-")
        assert blob.stat().st_size == layer["size"]
    model_blob = models / "blobs" / manifest["layers"][0]["digest"].replace(":", "-")
    assert model_blob.read_bytes()[:4] == b"GGUF"


def test_a_preload_outside_the_catalogue_stops_the_start(tmp_path):
    result = run(
        "serve",
        env={
            "OLLAMA_HOST": f"127.0.0.1:{free_port()}",
            "OLLAMA_MODELS": str(tmp_path),
            "STANDIN_PRELOAD": "llama9000",
        },
    )
    assert result.returncode == 1
    assert "STANDIN_PRELOAD" in result.stderr
