"""The process keeper: runs `ollama serve` for PremRunner, keeps it alive, and stops it cleanly.

PremRunner only ever signals a process it started itself: its own child, or one recorded in the
pid file under DATA_PATH by an earlier PremRunner (checked to still be that `ollama serve`). An
Ollama that something else started is used as it is and never stopped.
"""

import atexit
import contextlib
import ctypes
import enum
import fcntl
import ipaddress
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from django.conf import settings

from ollama_bridge.client import OllamaClient
from ollama_bridge.errors import OllamaError
from ollama_bridge.names import same_model

logger = logging.getLogger(__name__)

FALLBACK_BINARY = Path("/usr/local/bin/ollama")
INSTALL_INSTRUCTIONS = (
    "Ollama is not installed. Install it from https://ollama.com/download "
    "(on Linux: curl -fsSL https://ollama.com/install.sh | sh), or set OLLAMA_BIN to the path "
    "of the ollama executable; PremRunner starts it by itself once it is found."
)
# PremRunner's own secrets stay out of Ollama's environment.
PRIVATE_ENV = frozenset({"AUTH_TOKEN", "SECRET_KEY", "DATABASE_URL"})
# How often a starting Ollama is asked whether it is ready.
READY_POLL = 0.2
# A restarted Ollama that stays up this long has its restart backoff forgotten.
STABLE_AFTER = 60.0


class OllamaState(enum.StrEnum):
    """Ollama's status as PremRunner reports it."""

    RUNNING = "running"
    STARTING = "starting"
    STOPPED = "stopped"
    NOT_INSTALLED = "not_installed"
    UNREACHABLE = "unreachable"


# -- where Ollama is and how it is run ----------------------------------------------------------


def find_binary(configured: str = "") -> str | None:
    """The Ollama executable: `configured` (OLLAMA_BIN) when given, else `ollama` on PATH, else
    /usr/local/bin/ollama; None when there is none."""
    if configured:
        return shutil.which(configured)
    found = shutil.which("ollama")
    if found:
        return found
    return str(FALLBACK_BINARY) if os.access(FALLBACK_BINARY, os.X_OK) else None


def not_installed_message(configured: str = "") -> str:
    """What to tell a person when no Ollama executable is found."""
    if configured:
        return f"OLLAMA_BIN={configured} is not an executable file. {INSTALL_INSTRUCTIONS}"
    return INSTALL_INSTRUCTIONS


def listen_address(base_url: str) -> str:
    """The `host:port` that `ollama serve` must listen on (its OLLAMA_HOST) for `base_url`."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or "127.0.0.1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_local_url(base_url: str) -> bool:
    """True when `base_url` names this machine: a loopback or unspecified address, or one of
    this machine's own addresses (one a socket can bind to)."""
    host = urlsplit(base_url).hostname
    if not host:
        return False
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    for family, _, _, _, address in infos:
        ip = ipaddress.ip_address(address[0].split("%", 1)[0])
        if ip.is_loopback or ip.is_unspecified:
            return True
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((address[0], 0))
            return True
    return False


def manages_ollama_here() -> bool:
    """True when the settings ask PremRunner to run Ollama (OLLAMA_MANAGE, a local OLLAMA_HOST)."""
    return settings.OLLAMA_MANAGE and is_local_url(settings.OLLAMA_HOST)


def pid_file_path() -> Path:
    """Where PremRunner records the pid of the `ollama serve` it started."""
    return settings.DATA_PATH / "ollama.pid"


def log_file_path() -> Path:
    """Where the output of the `ollama serve` PremRunner started goes."""
    return settings.LOGS_DIR / "ollama.log"


def _terminated_with_parent_thread() -> Callable[[], None] | None:
    """On Linux, a `preexec_fn` that makes the kernel SIGTERM the child when the thread that
    started it dies, even when PremRunner is killed with SIGKILL (as the autoreloader of
    `runserver` kills its child 0.25 s after Ctrl-C). None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork, not after
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return preexec


def spawn_ollama(
    *, binary: str, base_url: str, models_dir: Path, log_path: Path, tied: bool = False
) -> subprocess.Popen:
    """Start `<binary> serve` for `base_url` in a process group of its own, output to `log_path`.

    Its own group keeps a terminal's Ctrl-C away from it (PremRunner stops it in order) and lets
    PremRunner stop the runners Ollama starts together with it. A `tied` Ollama also ends when
    the calling thread dies, however it dies (Linux).
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key not in PRIVATE_ENV}
    env.update(OLLAMA_HOST=listen_address(base_url), OLLAMA_MODELS=str(models_dir))
    with log_path.open("ab") as log:
        log.write(f"--- {datetime.now(UTC).isoformat()} starting {binary} serve\n".encode())
        log.flush()
        process = subprocess.Popen(
            [binary, "serve"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=_terminated_with_parent_thread() if tied else None,
        )
    logger.info(
        "Started %s serve (pid %s) on %s, models in %s, log in %s",
        binary,
        process.pid,
        env["OLLAMA_HOST"],
        models_dir,
        log_path,
    )
    return process


# -- the processes PremRunner owns --------------------------------------------------------------


def _command_line(pid: int) -> str:
    """The command line of process `pid`, or "" when it is gone (or a zombie)."""
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.parent.exists():
        try:
            return proc.read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            return ""
    result = subprocess.run(
        ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return result.stdout.strip()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Send `sig` to the process group led by `pid` (to `pid` alone if it leads none)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


class OwnedProcess:
    """An `ollama serve` that PremRunner started: its child, or one found in the pid file."""

    def __init__(self, pid: int, binary: str, popen: subprocess.Popen | None = None) -> None:
        self.pid = pid
        self.binary = binary
        self.popen = popen

    def alive(self) -> bool:
        """True while the process runs (reaping it when it is our child and has ended)."""
        if self.popen is not None:
            return self.popen.poll() is None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return bool(_command_line(self.pid))

    @property
    def exit_code(self) -> int | None:
        """The exit status of our child once it ended (negative: killed by that signal)."""
        return self.popen.poll() if self.popen is not None else None

    def stop(self, *, grace: float) -> None:
        """SIGTERM its process group, SIGKILL it after `grace` seconds, and leave nothing behind."""
        if self.alive():
            _signal_group(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.alive():
                logger.warning(
                    "Ollama (pid %s) ignored SIGTERM for %.0fs; killing it", self.pid, grace
                )
        # Also reaches any runner Ollama left in its group after it ended.
        _signal_group(self.pid, signal.SIGKILL)
        if self.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=5)

    def record(self, pid_path: Path) -> None:
        """Write this process to the pid file, so a later PremRunner can find and stop it."""
        pid_path.write_text(json.dumps({"pid": self.pid, "binary": self.binary}))

    @classmethod
    def recorded(cls, pid_path: Path) -> "OwnedProcess | None":
        """The process in the pid file when it still runs and is still that `ollama serve`."""
        try:
            entry = json.loads(pid_path.read_text())
            pid, binary = int(entry["pid"]), str(entry["binary"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        command = _command_line(pid)
        if binary not in command or "serve" not in command:
            return None  # gone, or the pid now belongs to another program
        return cls(pid, binary)


def stop_recorded_ollama(*, pid_path: Path, grace: float) -> int | None:
    """Stop the `ollama serve` a PremRunner started and recorded; its pid, or None if none runs."""
    process = OwnedProcess.recorded(pid_path)
    pid_path.unlink(missing_ok=True)
    if process is None:
        return None
    process.stop(grace=grace)
    logger.info("Stopped Ollama (pid %s)", process.pid)
    return process.pid


def wait_until_ready(client: OllamaClient, process: OwnedProcess, *, timeout: float) -> bool:
    """Poll `HEAD /` until Ollama answers (True), or it dies or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.heartbeat():
            return True
        if not process.alive():
            return False
        time.sleep(READY_POLL)
    return client.heartbeat()


def start_detached_ollama(*, binary: str, base_url: str, timeout: float) -> OwnedProcess:
    """Start `ollama serve` to outlive this process, record it, and wait until it answers.

    Raises OllamaError (with the end of its log) when it dies or does not answer in time.
    """
    popen = spawn_ollama(
        binary=binary,
        base_url=base_url,
        models_dir=Path(settings.OLLAMA_MODELS),
        log_path=log_file_path(),
    )
    process = OwnedProcess(popen.pid, binary, popen)
    process.record(pid_file_path())
    if wait_until_ready(OllamaClient(base_url), process, timeout=timeout):
        return process
    process.stop(grace=settings.OLLAMA_STOP_TIMEOUT)
    pid_file_path().unlink(missing_ok=True)
    raise OllamaError(
        f"Ollama did not start (exit status {popen.returncode}); the end of "
        f"{log_file_path()}:\n{_log_tail(log_file_path())}"
    )


def _log_tail(path: Path, *, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def pull_model_if_missing(*, client: OllamaClient, model: str) -> bool:
    """Pull `model` unless Ollama has it; True when it pulled. Raises OllamaError on failure."""
    if any(same_model(entry.get("name", ""), model) for entry in client.list_models()):
        return False
    logger.info("Pulling the default model %s", model)
    last_status = None
    for line in client.pull(model):
        status = line.get("status")
        if status != last_status:  # one line per phase, not per progress tick
            logger.info("Pulling %s: %s", model, status)
            last_status = status
    return True


# -- the keeper ---------------------------------------------------------------------------------


class OllamaSupervisor:
    """Keeps one `ollama serve` answering at `base_url` from a background thread.

    Uses a server that already answers; otherwise starts one, waits for it, restarts it with
    exponential backoff when it dies or stops answering, and stops it on `stop()`.
    `on_change` is called (from the keeper's thread) whenever the state or the pid changes.
    """

    def __init__(
        self,
        *,
        base_url: str,
        binary: str = "",
        models_dir: Path,
        log_path: Path,
        pid_path: Path,
        default_model: str = "",
        start_timeout: float = 60.0,
        stop_timeout: float = 10.0,
        poll_interval: float = 3.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.base_url = base_url
        self.configured_binary = binary
        self.models_dir = models_dir
        self.log_path = log_path
        self.pid_path = pid_path
        self.default_model = default_model
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.poll_interval = poll_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.on_change = on_change
        self.client = OllamaClient(base_url)
        self.restarts = 0
        self._state = OllamaState.STOPPED
        self._process: OwnedProcess | None = None
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_file: IO | None = None
        self._pulled_default = False

    # -- what it reports --

    @property
    def state(self) -> OllamaState:
        return self._state

    @property
    def pid(self) -> int | None:
        """The pid of the Ollama this supervisor owns, while it runs."""
        process = self._process
        return process.pid if process is not None and process.alive() else None

    @property
    def managed(self) -> bool:
        """True when the Ollama in use is one this supervisor owns."""
        return self.pid is not None

    @property
    def message(self) -> str | None:
        """Install instructions while Ollama is not installed."""
        if self._state is OllamaState.NOT_INSTALLED:
            return not_installed_message(self.configured_binary)
        return None

    # -- start and stop --

    def start(self) -> bool:
        """Start keeping Ollama in a background thread; False when another PremRunner process on
        the same DATA_PATH keeps it already."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return True
            if not self._take_keeper_lock():
                logger.info("Another PremRunner process keeps Ollama; this one only watches it")
                return False
            self._stopping.clear()
            # Reported by the keeper's thread, so that start() does no I/O in its caller.
            self._state = OllamaState.STARTING
            self._thread = threading.Thread(target=self._run, name="ollama-supervisor", daemon=True)
            self._thread.start()
            return True

    def stop(self) -> None:
        """Stop keeping Ollama and stop the one this supervisor owns (SIGTERM, then SIGKILL)."""
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.stop_timeout + 15)
        self._release()

    def wait_for(self, state: OllamaState, *, timeout: float) -> bool:
        """Block until the state is `state` (True) or `timeout` passes (False); for callers that
        must not go on before Ollama answers."""
        deadline = time.monotonic() + timeout
        while self._state != state:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    # -- the keeper's thread --

    def _run(self) -> None:
        try:
            self._keep()
        except Exception:
            logger.exception("The Ollama supervisor failed; Ollama is no longer kept alive")
        finally:
            self._release()

    def _keep(self) -> None:
        with self._lock:
            self._process = OwnedProcess.recorded(self.pid_path)
        if self._process is not None:
            logger.info(
                "Taking over the Ollama PremRunner started earlier (pid %s)", self._process.pid
            )
        failures = 0
        silent_since = time.monotonic()
        answered_at: float | None = None
        while not self._stopping.is_set():
            process = self._process
            if self.client.heartbeat():
                silent_since = time.monotonic()
                answered_at = answered_at or silent_since
                if failures and silent_since - answered_at > STABLE_AFTER:
                    failures = 0
                self._set_state(OllamaState.RUNNING)
                self._pull_default_model_once()
                self._stopping.wait(self.poll_interval)
                continue
            if process is not None and process.alive():
                if time.monotonic() - silent_since <= self.start_timeout:
                    if answered_at is not None:
                        self._set_state(OllamaState.UNREACHABLE)
                    self._stopping.wait(READY_POLL)
                    continue
                logger.error(
                    "Ollama (pid %s) has not answered for %.0fs; restarting it",
                    process.pid,
                    self.start_timeout,
                )
                process.stop(grace=self.stop_timeout)
            if process is not None:
                logger.warning(
                    "Ollama (pid %s) ended with status %s", process.pid, process.exit_code
                )
                self._forget(process)
                failures += 1
                answered_at = None
            binary = find_binary(self.configured_binary)
            if binary is None:
                self._set_state(OllamaState.NOT_INSTALLED)
                self._stopping.wait(self.poll_interval)
                continue
            self._set_state(OllamaState.STARTING)
            if failures:
                delay = min(self.backoff_initial * 2 ** (failures - 1), self.backoff_max)
                logger.info("Restarting Ollama in %.1fs (failure %d)", delay, failures)
                if self._stopping.wait(delay) or self.client.heartbeat():
                    continue
                self.restarts += 1
            self._spawn(binary)
            silent_since = time.monotonic()

    def _spawn(self, binary: str) -> None:
        popen = spawn_ollama(
            binary=binary,
            base_url=self.base_url,
            models_dir=self.models_dir,
            log_path=self.log_path,
            tied=True,  # this thread lives until stop(), which stops Ollama first anyway
        )
        with self._lock:
            self._process = OwnedProcess(popen.pid, binary, popen)
            self._process.record(self.pid_path)
        self._notify()

    def _forget(self, process: OwnedProcess) -> None:
        """Drop a process that ended, and whatever it left in its group."""
        process.stop(grace=0)
        with self._lock:
            if self._process is process:
                self._process = None
                self.pid_path.unlink(missing_ok=True)
        self._notify()

    def _release(self) -> None:
        """Stop the owned Ollama and give up the keeper's lock (idempotent)."""
        with self._lock:
            process, self._process = self._process, None
            if process is not None:
                process.stop(grace=self.stop_timeout)
                self.pid_path.unlink(missing_ok=True)
                logger.info("Stopped Ollama (pid %s)", process.pid)
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None
        self._set_state(OllamaState.STOPPED)

    def _take_keeper_lock(self) -> bool:
        """One keeper per DATA_PATH: hold an exclusive lock on a file next to the pid file."""
        handle = self.pid_path.with_suffix(".lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    def _pull_default_model_once(self) -> None:
        if not self.default_model or self._pulled_default:
            return
        self._pulled_default = True
        threading.Thread(
            target=self._pull_default_model, name="ollama-default-model", daemon=True
        ).start()

    def _pull_default_model(self) -> None:
        try:
            pull_model_if_missing(client=self.client, model=self.default_model)
        except OllamaError as exc:
            logger.warning("Could not pull the default model %s: %s", self.default_model, exc)

    def _set_state(self, state: OllamaState) -> None:
        if state is self._state:
            return
        logger.info("Ollama at %s: %s", self.base_url, state.value)
        self._state = state
        self._notify()

    def _notify(self) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change()
        except Exception:
            logger.warning("Reporting Ollama's status failed", exc_info=True)


# -- the one supervisor of a server process -----------------------------------------------------

_supervisor: OllamaSupervisor | None = None
_supervisor_lock = threading.Lock()


def supervisor_from_settings(*, on_change: Callable[[], None] | None = None) -> OllamaSupervisor:
    """A supervisor configured by the settings (OLLAMA_*, DATA_PATH)."""
    return OllamaSupervisor(
        base_url=settings.OLLAMA_HOST,
        binary=settings.OLLAMA_BIN,
        models_dir=Path(settings.OLLAMA_MODELS),
        log_path=log_file_path(),
        pid_path=pid_file_path(),
        default_model=settings.OLLAMA_DEFAULT_MODEL,
        start_timeout=settings.OLLAMA_START_TIMEOUT,
        stop_timeout=settings.OLLAMA_STOP_TIMEOUT,
        poll_interval=settings.OLLAMA_STATUS_INTERVAL,
        on_change=on_change,
    )


def current_supervisor() -> OllamaSupervisor | None:
    """The supervisor running in this process, if any."""
    return _supervisor


def start_supervisor(*, on_change: Callable[[], None] | None = None) -> OllamaSupervisor | None:
    """Start this process's supervisor (once) and make sure it stops with the process."""
    global _supervisor
    with _supervisor_lock:
        if _supervisor is not None:
            return _supervisor
        # Registered before it starts, so that its first status report already sees it.
        _supervisor = supervisor = supervisor_from_settings(on_change=on_change)
        if not supervisor.start():
            _supervisor = None
            return None
    _stop_with_process()
    return supervisor


def stop_supervisor() -> None:
    """Stop this process's supervisor and the Ollama it owns; safe to call more than once."""
    global _supervisor
    with _supervisor_lock:
        supervisor, _supervisor = _supervisor, None
    if supervisor is not None:
        supervisor.stop()


def _stop_with_process() -> None:
    """Stop the supervisor however the process ends: normal exit and SIGINT (KeyboardInterrupt)
    run atexit; daphne's reactor runs its shutdown triggers on SIGTERM/SIGINT; a bare SIGTERM
    gets a handler that stops Ollama before the process ends as it would have."""
    atexit.register(stop_supervisor)
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is not None:  # installed by daphne at start-up; never imported here
        reactor.addSystemEventTrigger("before", "shutdown", stop_supervisor)
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, _stop_then_terminate)


def _stop_then_terminate(signum: int, frame: object) -> None:
    stop_supervisor()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
