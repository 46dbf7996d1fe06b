"""Start and stop the stand-in Ollama as a real process, for pytest fixtures and benchmarks.

with StandinServer(tmp_path / "models", env={"STANDIN_PRELOAD": "tiny-llama"}) as ollama:
    requests.get(f"{ollama.url}/api/tags")
"""

import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

STANDIN_EXECUTABLE = Path(__file__).resolve().with_name("ollama")
"""The stand-in's `ollama` executable (`ollama serve`, `ollama --version`)."""

_READY_TIMEOUT = 15.0
_STOP_TIMEOUT = 5.0
_POLL_INTERVAL = 0.05


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StandinServer:
    """`ollama serve` (the stand-in) as a child process on a loopback port.

    `models_dir` becomes `OLLAMA_MODELS`; the log goes to `ollama-<port>.log` next to it.
    `env` adds or overrides environment variables (the `STANDIN_*` knobs, `OLLAMA_KEEP_ALIVE`).
    """

    def __init__(
        self, models_dir: Path, port: int | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.models_dir = Path(models_dir)
        self.port = port or free_port()
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.models_dir.parent / f"ollama-{self.port}.log"

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, the value of `OLLAMA_HOST`."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(OLLAMA_HOST=self.host, OLLAMA_MODELS=str(self.models_dir), PYTHONUNBUFFERED="1")
        env.update(self.extra_env)
        return env

    def start(self, wait: bool = True) -> "StandinServer":
        """Spawn the process (again, after a stop or crash); by default wait until it answers."""
        if self.running():
            raise RuntimeError(f"the stand-in is already running (pid {self.pid})")
        self.models_dir.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(STANDIN_EXECUTABLE), "serve"],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        if wait:
            self.wait_until_ready()
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_until_ready(self, timeout: float = _READY_TIMEOUT) -> None:
        """Poll `HEAD /` until it answers 200; raises `RuntimeError` with the log tail if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"the stand-in exited early:\n{self.log_tail()}")
            if self._answers():
                return
            time.sleep(_POLL_INTERVAL)
        raise RuntimeError(f"the stand-in did not answer within {timeout:g} s:\n{self.log_tail()}")

    def _answers(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            connection.request("HEAD", "/")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def stop(self, timeout: float = _STOP_TIMEOUT) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`; returns the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> "StandinServer":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
