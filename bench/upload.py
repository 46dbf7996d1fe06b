"""Benchmark: a large chunked upload over loopback against a real PremRunner (`manage.py serve`).

Uploads SIZE bytes (2 GiB by default: a valid GGUF header, then zeros, generated on the fly)
through the chunked API — start, every chunk as a raw body, complete (which hashes the whole
file and syncs it to disk) — and compares the throughput with `dd`'s write speed to the same
folder (with `conv=fdatasync`), measured in the same run before and after the upload. Reports
the server's peak resident memory (VmHWM). No Ollama runs: the import that follows is not part
of the measure. Everything written is removed at the end.

    .venv/bin/python bench/upload.py [--size-mib 2048] [--dir /path/on/the/disk] [--multipart]
"""

import argparse
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.server import PremRunnerServer  # noqa: E402

MIB = 1024 * 1024
CHUNK_SIZE = 16 * MIB
# A GGUF with no tensors and no metadata: magic, version 3, tensor count, key count.
GGUF_HEADER = b"GGUF" + struct.pack("<IQQ", 3, 0, 0)


def dd_write_speed(folder: Path, size_mib: int) -> float:
    """MB/s (decimal, as dd prints it) of writing `size_mib` MiB of zeros, synced to disk."""
    target = folder / "dd.bin"
    done = subprocess.run(
        [
            "dd",
            "if=/dev/zero",
            f"of={target}",
            "bs=16M",
            f"count={size_mib // 16}",
            "conv=fdatasync",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    target.unlink()
    seconds = float(re.search(r"copied, ([\d.]+) s", done.stderr).group(1))
    return size_mib * MIB / seconds / 1e6


def peak_memory_mib(server: PremRunnerServer) -> float:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def send_chunk(
    api: requests.Session, url: str, model_id: str, index: int, body: bytes, multipart: bool
) -> None:
    """One chunk: a raw body (the fast way), or the seed's multipart form (as the web UI)."""
    if multipart:
        form = {"modelId": model_id, "chunkIndex": str(index)}
        sent = api.post(url, data=form, files={"chunk": ("blob", body)})
    else:
        sent = api.post(
            url,
            params={"modelId": model_id, "chunkIndex": index},
            data=body,
            headers={"Content-Type": "application/octet-stream"},
        )
    sent.raise_for_status()


def upload(server: PremRunnerServer, size: int, *, multipart: bool) -> tuple[float, float]:
    """(seconds from start to the answer of complete, of which complete) for `size` bytes."""
    api = server.session()
    zeros = bytes(CHUNK_SIZE)
    first = GGUF_HEADER + zeros[len(GGUF_HEADER) :]
    started = time.perf_counter()
    answer = api.post(
        f"{server.url}/v1/chunked-upload/start",
        json={"fileName": "bench.gguf", "fileSize": size, "modelName": "bench-upload"},
    )
    answer.raise_for_status()
    model_id, total = answer.json()["modelId"], answer.json()["totalChunks"]
    for index in range(total):
        length = min(CHUNK_SIZE, size - index * CHUNK_SIZE)
        body = (first if index == 0 else zeros)[:length]
        send_chunk(api, f"{server.url}/v1/chunked-upload/chunk", model_id, index, body, multipart)
    completing = time.perf_counter()
    done = api.post(f"{server.url}/v1/chunked-upload/complete", json={"modelId": model_id})
    done.raise_for_status()
    return time.perf_counter() - started, time.perf_counter() - completing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--dir", type=Path, default=None, help="Folder on the disk to test.")
    parser.add_argument("--multipart", action="store_true", help="Send chunks as the web UI.")
    args = parser.parse_args()
    size = args.size_mib * MIB
    workdir = Path(tempfile.mkdtemp(prefix="premrunner-upload-bench-", dir=args.dir))
    server = PremRunnerServer(
        workdir / "data",
        env={"MAX_UPLOAD_SIZE": str(size + MIB), "UPLOAD_CHUNK_SIZE": str(CHUNK_SIZE)},
    )
    try:
        dd_before = dd_write_speed(workdir, args.size_mib)
        server.start()
        requests.get(f"{server.url}/healthz").raise_for_status()
        idle_peak = peak_memory_mib(server)
        seconds, completing = upload(server, size, multipart=args.multipart)
        peak = peak_memory_mib(server)
        server.close()
        dd_after = dd_write_speed(workdir, args.size_mib)
    finally:
        server.close()
        shutil.rmtree(workdir, ignore_errors=True)
    dd_speed = (dd_before + dd_after) / 2
    speed = size / seconds / 1e6
    how = "multipart" if args.multipart else "raw"
    print(f"upload: {args.size_mib} MiB in {CHUNK_SIZE // MIB} MiB {how} chunks, in {workdir}")
    print(f"dd write speed (conv=fdatasync): {dd_before:.0f} MB/s before, {dd_after:.0f} after")
    print(
        f"PremRunner chunked upload: {seconds:.2f} s = {speed:.0f} MB/s "
        f"(of which complete, hashing and syncing: {completing:.2f} s)"
    )
    print(f"ratio to dd: {speed / dd_speed:.0%} (target >= 50%)")
    print(
        f"server peak RSS (VmHWM): {peak:.0f} MiB, {idle_peak:.0f} MiB before the upload "
        "(target < 300 MiB)"
    )


if __name__ == "__main__":
    main()
