"""`manage.py serve` starts a real PremRunner, and refuses to start without a usable token."""

import os
import subprocess
import sys

import pytest
import requests

from tests.support.server import REPO_ROOT, PremRunnerServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A PremRunner with no Ollama behind it: everything that needs none must still work."""
    with PremRunnerServer(tmp_path_factory.mktemp("serve")) as running:
        yield running


def run_serve(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"AUTH_TOKEN", "DJANGO_SETTINGS_MODULE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", "serve", "--port", "1"],
        cwd=REPO_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_healthz_answers_without_a_token(server):
    response = requests.get(f"{server.url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_api_refuses_a_request_without_the_token(server):
    response = requests.get(f"{server.url}/api/hello", timeout=5)
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "missing_api_key"


def test_api_answers_with_the_token(server):
    response = server.session().get(f"{server.url}/api/hello", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"message": "Hello from PremRunner"}


def test_serve_applied_every_migration(server):
    check = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--check"],
        cwd=REPO_ROOT,
        env=server.environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_static_files_are_served_by_whitenoise(server):
    response = requests.get(
        f"{server.url}/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css", timeout=5
    )
    assert response.status_code == 200
    assert "text/css" in response.headers["Content-Type"]


def test_serve_without_auth_token_exits_with_one_clear_line(tmp_path):
    result = run_serve({"DATA_PATH": str(tmp_path)})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "AUTH_TOKEN is not set" in result.stderr


def test_serve_with_a_short_auth_token_exits_with_one_clear_line(tmp_path):
    result = run_serve({"DATA_PATH": str(tmp_path), "AUTH_TOKEN": "short"})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "at least 10 characters" in result.stderr
