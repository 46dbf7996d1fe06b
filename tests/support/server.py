"""Run PremRunner for real (`manage.py serve` in a subprocess) on a free loopback port."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_TOKEN = "test-token-0123456789"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresDatabase:
    """A throw-away database on the PostgreSQL server that DATABASE_URL points at."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.name = f"premrunner_e2e_{uuid.uuid4().hex[:10]}"
        self.url = urlunsplit(urlsplit(server_url)._replace(path=f"/{self.name}"))

    def _admin(self, sql: str) -> None:
        import psycopg

        admin_url = urlunsplit(urlsplit(self.server_url)._replace(path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def create(self) -> None:
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class PremRunnerServer:
    """`manage.py serve` as a child process, with its own DATA_PATH and database."""

    def __init__(
        self,
        data_path: Path,
        *,
        ollama_url: str = "http://127.0.0.1:9",
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.data_path = Path(data_path)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = TEST_TOKEN
        self.ollama_url = ollama_url
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None
        self.database: PostgresDatabase | None = None
        self.log_path = self.data_path / "server.log"

    def environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DJANGO_SETTINGS_MODULE", "DATA_PATH", "AUTH_TOKEN"}
        }
        env.update(
            DATA_PATH=str(self.data_path),
            AUTH_TOKEN=self.token,
            OLLAMA_HOST=self.ollama_url,
            OLLAMA_MANAGE="false",
            PYTHONUNBUFFERED="1",
        )
        database_url = os.environ.get("DATABASE_URL", "")
        if database_url.startswith("postgres"):
            if self.database is None:
                self.database = PostgresDatabase(database_url)
                self.database.create()
            env["DATABASE_URL"] = self.database.url
        env.update(self.extra_env)
        return env

    def start(self, *, timeout: float = 60.0) -> "PremRunnerServer":
        self.data_path.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(self.port)],
            cwd=REPO_ROOT,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"PremRunner exited early:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"PremRunner did not answer within {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and drop its database."""
        self.stop()
        if self.database is not None:
            self.database.drop()
            self.database = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def session(self) -> requests.Session:
        """A requests session that sends the token and knows the base URL via `.base_url`."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        session.base_url = self.url  # type: ignore[attr-defined]
        return session

    def __enter__(self) -> "PremRunnerServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
