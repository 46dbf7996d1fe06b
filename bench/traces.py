"""Benchmark: how fast the traces API answers with a million traces.

Fills a database with synthetic traces (once; later runs reuse it), then times `GET /v1/traces`
(first page, deep pages, filtered pages), `GET /v1/traces/stats` and the admin's trace list
through the whole Django stack, and with --plans prints each query's plan.

    .venv/bin/python bench/traces.py [--rows 1000000] [--repeat 20] [--plans]
        [--database-url sqlite:///traces-bench.sqlite3 | postgres://user@host/db]
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token-0123456789"
MODELS = [("tiny-llama", 50), ("qwen3:0.6b", 30), ("llama3.2:1b", 15), ("nomic-embed-text", 4)]
RARE_MODEL = ("phi3:mini", 1)
STATUSES = [("success", 97), ("error", 2), ("cancelled", 1)]
ENDPOINTS = [("/v1/chat/completions", 70), ("/api/chat/send", 20), ("/v1/embeddings", 10)]
SPAN = timedelta(days=90)


def configure(database_url: str) -> None:
    """Point the project's settings at `database_url` and start Django."""
    data_path = Path(tempfile.mkdtemp(prefix="premrunner-bench-"))
    os.environ.update(
        {
            "DATA_PATH": str(data_path),
            "DATABASE_URL": database_url,
            "AUTH_TOKEN": TOKEN,
            "OLLAMA_MANAGE": "false",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "premrunner.settings",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def weighted(choices: list[tuple[str, int]], count: int, rng: random.Random) -> list[str]:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights, k=count)


def fill(rows: int, *, batch: int = 50_000) -> float:
    """Insert `rows` synthetic traces spread over the last 90 days; returns the seconds taken.

    Rows go through each field's own database conversion, then one executemany a batch: the
    ORM's per-object work would be most of the time.
    """
    from django.db import connections, transaction

    from traces.models import Trace

    connection = connections["default"]  # the wrapper itself: the proxy costs a lookup per value
    rng = random.Random(42)
    fields = Trace._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = (
        f"INSERT INTO {Trace._meta.db_table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
    )
    end = datetime.now(UTC)
    step = SPAN / rows
    started = time.perf_counter()
    for first in range(0, rows, batch):
        count = min(batch, rows - first)
        models = weighted([*MODELS, RARE_MODEL], count, rng)
        statuses = weighted(STATUSES, count, rng)
        endpoints = weighted(ENDPOINTS, count, rng)
        params = []
        for i in range(count):
            n = first + i
            prompt, completion = rng.randint(5, 400), rng.randint(1, 600)
            values = {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "endpoint": endpoints[i],
                "model": models[i],
                "input": [{"role": "user", "content": f"Question number {n} about the weather"}],
                "output": f"Answer number {n}: sunny with a light breeze.",
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "duration_ms": rng.randint(50, 9000),
                "ttft_ms": rng.randint(5, 500),
                "load_duration_ms": rng.randint(0, 50),
                "tokens_per_second": round(rng.uniform(10, 120), 1),
                "status": statuses[i],
                "error": "" if statuses[i] == "success" else "upstream failed",
                "stream": n % 2 == 0,
                "request_params": {"temperature": 0.7},
                "created_at": end - SPAN + step * n,
            }
            params.append([f.get_db_prep_save(values[f.attname], connection) for f in fields])
        with transaction.atomic(using="default"), connection.cursor() as cursor:
            cursor.executemany(sql, params)
        print(f"  inserted {first + count:,} / {rows:,}", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def time_call(call, repeat: int) -> tuple[float, float, float]:
    """Min, median and max milliseconds of `repeat` calls of `call()`."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return min(timings), statistics.median(timings), max(timings)


def print_timing(label: str, timing: tuple[float, float, float]) -> None:
    print(f"{label:<70}" + "".join(f"{ms:>9.1f}" for ms in timing))


def time_get(client, url: str, repeat: int) -> tuple[tuple[float, float, float], list[str]]:
    """Min, median and max milliseconds of `repeat` GETs of `url`, and the SQL it ran."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get() -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])

    with CaptureQueriesContext(connection) as queries:
        get()  # also warms the page cache and Django's first-request set-up
    sqls = [query["sql"] for query in queries.captured_queries]  # read before the log resets
    return time_call(get, repeat), sqls


def query_plan(sql: str) -> str:
    """SQLite's EXPLAIN QUERY PLAN or PostgreSQL's EXPLAIN of `sql`, on one line."""
    from django.db import connection

    explain = "EXPLAIN QUERY PLAN" if connection.vendor == "sqlite" else "EXPLAIN"
    with connection.cursor() as cursor:
        cursor.execute(f"{explain} {sql}")
        return "; ".join(str(row[-1]).strip() for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url",
        default=f"sqlite:///{Path(tempfile.gettempdir()) / 'traces-bench.sqlite3'}",
    )
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--plans", action="store_true", help="print every query's plan")
    args = parser.parse_args()

    warnings.filterwarnings("ignore", message="No directory at")  # no collected static files
    configure(args.database_url)
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    from traces.models import Trace

    call_command("migrate", verbosity=0)
    existing = Trace.objects.count()
    if existing != args.rows:
        Trace.objects.all().delete()
        print(f"Filling {args.database_url} with {args.rows:,} traces ...")
        print(f"  {fill(args.rows):.1f} s")
    print(f"{Trace.objects.count():,} traces in {args.database_url}")

    api = Client(headers={"Authorization": f"Bearer {TOKEN}"}, SERVER_NAME="localhost")
    admin = Client(SERVER_NAME="localhost")
    user, _ = User.objects.get_or_create(username="bench", is_staff=True, is_superuser=True)
    admin.force_login(user)
    day_ago = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pages = -(-args.rows // 20)
    cases = [
        (api, "/v1/traces"),
        (api, "/v1/traces?page=100"),
        (api, f"/v1/traces?page={pages // 2}"),
        (api, f"/v1/traces?page={pages}"),
        (api, "/v1/traces?model=qwen3:0.6b"),
        (api, f"/v1/traces?model={RARE_MODEL[0]}"),
        (api, f"/v1/traces?model={RARE_MODEL[0]}&page=200"),
        (api, "/v1/traces?status=error"),
        (api, f"/v1/traces?since={day_ago}"),
        (api, f"/v1/traces?model=qwen3:0.6b&status=error&since={day_ago}"),
        (api, "/v1/traces/stats?bucket=hour"),
        (api, "/v1/traces/stats?bucket=day"),
        (admin, "/admin/traces/trace/"),
        (admin, "/admin/traces/trace/?status__exact=error"),
        (admin, "/admin/traces/trace/?q=number+12345"),
    ]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"\n{'request (milliseconds)':<70}{'min':>9}{'median':>9}{'max':>9}")
    for client, url in cases:
        timing, sqls = time_get(client, url, args.repeat)
        print_timing(url, timing)
        for sql in sqls if args.plans else []:
            if "traces_trace" in sql:
                print(f"    {sql[:160]}\n      -> {query_plan(sql)}")

    print(f"\n{'COUNT(*) alone (milliseconds)':<70}{'min':>9}{'median':>9}{'max':>9}")
    for filters in [{}, {"model": "qwen3:0.6b"}, {"status": "error"}]:
        timing = time_call(lambda f=filters: Trace.objects.filter(**f).count(), args.repeat)
        print_timing(str(filters or "no filter"), timing)
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
