"""Benchmark: what PremRunner adds on top of calling Ollama (the stand-in) directly.

Starts two stand-in Ollamas and a PremRunner (`manage.py serve`) over each, all on loopback:
a fast one (no token delay) for latency, and a paced one (a fixed delay per token) for
streaming. Measures, each way (through PremRunner, and straight to the stand-in's own
`/v1/chat/completions`):

* non-streamed completion latency (p50, p99) and PremRunner's added latency;
* time to first token of a streamed completion;
* streaming fidelity: the gaps between chunks under the fixed per-token delay;
* 64 concurrent streams: errors, total time, whether every stream completed.

    .venv/bin/python bench/inference.py [--requests 300] [--streams 64]
"""

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ollama_standin.launcher import StandinServer  # noqa: E402
from tests.support.server import PremRunnerServer  # noqa: E402

MODEL = "tiny-llama"
MESSAGES = [{"role": "user", "content": "Say something short."}]
# The paced stand-in: PACED_TOKENS tokens, PACED_DELAY seconds apart.
PACED_TOKENS = 20
PACED_DELAY = 0.05


@dataclass
class Target:
    """One way to call a chat completion: a base URL and the headers it needs."""

    name: str
    url: str
    session: requests.Session


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def start_pair(
    workdir: Path, name: str, standin_env: dict
) -> tuple[StandinServer, PremRunnerServer]:
    standin = StandinServer(
        workdir / f"{name}-models", env={"STANDIN_PRELOAD": MODEL, **standin_env}
    )
    standin.start()
    server = PremRunnerServer(
        workdir / f"{name}-data",
        ollama_url=standin.url,
        env={"DEFAULT_MODEL": MODEL, "LOG_LEVEL": "WARNING"},
    )
    server.start()
    return standin, server


def targets(standin: StandinServer, server: PremRunnerServer) -> list[Target]:
    direct = requests.Session()
    return [
        Target("stand-in directly", f"{standin.url}/v1/chat/completions", direct),
        Target("through PremRunner", f"{server.url}/v1/chat/completions", server.session()),
    ]


def request_latency(
    session: requests.Session, url: str, count: int, body: dict | None = None
) -> list[float]:
    """Milliseconds of `count` sequential requests (POST `body`, or GET), after a warm-up."""

    def send() -> requests.Response:
        if body is None:
            return session.get(url, timeout=30)
        return session.post(url, json=body, timeout=30)

    for _ in range(20):
        send().raise_for_status()
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = send()
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return timings


def stream_arrivals(target: Target) -> tuple[float, list[float]]:
    """(ms to the first chunk, ms at which each content chunk arrived) of one stream."""
    body = {"model": MODEL, "messages": MESSAGES, "stream": True}
    started = time.perf_counter()
    first = None
    arrivals = []
    with target.session.post(target.url, json=body, stream=True, timeout=60) as response:
        response.raise_for_status()
        for raw in response.iter_lines():
            if not raw.startswith(b"data: {"):
                continue
            now = (time.perf_counter() - started) * 1000
            first = first if first is not None else now
            chunk = json.loads(raw[len(b"data: ") :])
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                arrivals.append(now)
    return first, arrivals


def run_stream(target: Target) -> tuple[bool, int, str]:
    """(completed with [DONE], content chunks, error text) of one stream."""
    body = {"model": MODEL, "messages": MESSAGES, "stream": True}
    chunks = 0
    try:
        with target.session.post(target.url, json=body, stream=True, timeout=60) as response:
            response.raise_for_status()
            for raw in response.iter_lines():
                if raw == b"data: [DONE]":
                    return True, chunks, ""
                if raw.startswith(b"data: {") and b'"content":"' in raw:
                    chunks += 1
    except requests.RequestException as exc:
        return False, chunks, str(exc)
    return False, chunks, "the stream ended without [DONE]"


def concurrent_streams(target: Target, streams: int) -> dict:
    """Run `streams` streams at once, each on its own connection."""
    sessions = [requests.Session() for _ in range(streams)]
    for session in sessions:
        session.headers.update(target.session.headers)
    with ThreadPoolExecutor(streams) as pool:
        started = time.perf_counter()
        results = list(pool.map(lambda s: run_stream(Target(target.name, target.url, s)), sessions))
        elapsed = time.perf_counter() - started
    errors = [error for ok, _, error in results if not ok]
    return {
        "seconds": elapsed,
        "completed": sum(ok for ok, _, _ in results),
        "errors": errors,
        "chunks": sorted({chunks for _, chunks, _ in results}),
    }


def report_latency(fast: list[Target], count: int, server_pid: int) -> None:
    print(f"\n== Non-streamed completion latency ({count} sequential requests each)")
    results = {}
    for target in fast:
        cpu_before = cpu_seconds(server_pid)
        results[target.name] = request_latency(
            target.session, target.url, count, {"model": MODEL, "messages": MESSAGES}
        )
        cpu_ms = (cpu_seconds(server_pid) - cpu_before) * 1000 / (count + 20)
        timings = results[target.name]
        print(
            f"  {target.name:20s} p50 {percentile(timings, 0.5):6.2f} ms   "
            f"p99 {percentile(timings, 0.99):6.2f} ms   mean {statistics.mean(timings):6.2f} ms"
            + (f"   PremRunner CPU {cpu_ms:5.2f} ms/request" if cpu_ms > 0.05 else "")
        )
    healthz = fast[1].url.replace("/v1/chat/completions", "/healthz")
    floor = request_latency(fast[1].session, healthz, count)
    print(
        f"  {'PremRunner /healthz':20s} p50 {percentile(floor, 0.5):6.2f} ms   "
        f"p99 {percentile(floor, 0.99):6.2f} ms   (the web stack alone, no Ollama call)"
    )
    direct, runner = results.values()
    for label, fraction in (("p50", 0.5), ("p99", 0.99)):
        added = percentile(runner, fraction) - percentile(direct, fraction)
        ratio = percentile(runner, fraction) / percentile(direct, fraction)
        print(f"  added latency {label}: {added:6.2f} ms   (ratio {ratio:.2f}x)")


def report_ttft(fast: list[Target], count: int) -> None:
    print(f"\n== Time to first chunk, streamed ({count} sequential streams each)")
    firsts = {}
    for target in fast:
        stream_arrivals(target)  # warm-up
        firsts[target.name] = [stream_arrivals(target)[0] for _ in range(count)]
        print(
            f"  {target.name:20s} p50 {percentile(firsts[target.name], 0.5):6.2f} ms   "
            f"p99 {percentile(firsts[target.name], 0.99):6.2f} ms"
        )
    direct, runner = firsts.values()
    added = percentile(runner, 0.5) - percentile(direct, 0.5)
    print(f"  added p50: {added:6.2f} ms")


def report_fidelity(paced: list[Target], streams: int = 10) -> None:
    print(
        f"\n== Streaming fidelity ({PACED_TOKENS} tokens, {PACED_DELAY * 1000:.0f} ms apart, "
        f"{streams} sequential streams each)"
    )
    for target in paced:
        gaps, firsts, spans = [], [], []
        for _ in range(streams):
            first, arrivals = stream_arrivals(target)
            firsts.append(first)
            spans.append(arrivals[-1] - arrivals[0])
            gaps += [later - earlier for earlier, later in itertools.pairwise(arrivals)]
        # A buffering proxy delivers tokens in bursts: gaps near zero instead of near the delay.
        bursts = sum(gap < PACED_DELAY * 1000 / 5 for gap in gaps)
        print(
            f"  {target.name:20s} first chunk p50 {statistics.median(firsts):6.1f} ms   "
            f"gap p10 {percentile(gaps, 0.1):5.1f} / p50 {percentile(gaps, 0.5):5.1f} / "
            f"p90 {percentile(gaps, 0.9):5.1f} / max {max(gaps):5.1f} ms   "
            f"gaps under {PACED_DELAY * 1000 / 5:.0f} ms: {bursts}/{len(gaps)}   "
            f"first→last p50 {statistics.median(spans):6.1f} ms"
        )


def report_concurrency(paced: list[Target], streams: int) -> None:
    ideal = PACED_TOKENS * PACED_DELAY
    print(f"\n== {streams} concurrent streams (each ≈ {ideal:.1f} s of paced tokens)")
    for target in paced:
        result = concurrent_streams(target, streams)
        print(
            f"  {target.name:20s} {result['seconds']:5.2f} s total   "
            f"completed {result['completed']}/{streams}   errors {len(result['errors'])}   "
            f"content chunks per stream {result['chunks']}"
        )
        for error in result["errors"][:3]:
            print(f"    error: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="latency samples per target")
    parser.add_argument("--streams", type=int, default=64, help="concurrent streams")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="premrunner-bench-inference-"))
    pairs = [
        start_pair(workdir, "fast", {}),
        start_pair(
            workdir,
            "paced",
            {
                "STANDIN_TOKEN_DELAY": str(PACED_DELAY),
                "STANDIN_RESPONSE_TOKENS": str(PACED_TOKENS),
            },
        ),
    ]
    try:
        fast, paced = (targets(*pair) for pair in pairs)
        report_latency(fast, args.requests, pairs[0][1].process.pid)
        report_ttft(fast, max(20, args.requests // 3))
        report_fidelity(paced)
        report_concurrency(paced, args.streams)
    finally:
        for standin, server in pairs:
            server.close()
            standin.stop()


if __name__ == "__main__":
    main()
