"""Server log lines in Ollama's formats: slog text lines and gin's request lines, on stderr."""

import sys
import threading
import time

from .formats import go_duration, zone_suffix

_lock = threading.Lock()


def _write(line: str) -> None:
    with _lock:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def log(level: str, message: str, *, source: str = "server.go:0") -> None:
    """`time=... level=INFO source=routes.go:2008 msg="..."`, as Go's slog text handler writes."""
    now = time.time()
    moment = time.localtime(now)
    zone = zone_suffix(moment.tm_gmtoff or 0)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", moment) + f".{int(now * 1000) % 1000:03d}{zone}"
    quoted = message.replace("\\", "\\\\").replace('"', '\\"')
    _write(f'time={stamp} level={level} source={source} msg="{quoted}"')


def request(status: int, latency_ns: int, client: str, method: str, path: str) -> None:
    """gin's default request log line."""
    stamp = time.strftime("%Y/%m/%d - %H:%M:%S")
    _write(
        f"[GIN] {stamp} | {status:3d} | {go_duration(latency_ns):>13} | {client:>15} | "
        f'{method:<7} "{path}"'
    )
