"""Ingest throughput: events/s through the HTTP API vs the raw DuckDB append rate, in one run.

Starts a real `tokenoptimizer serve`, sends demo events in batches of 1, 100 and 1,000 from
concurrent clients (keep-alive HTTP/1.1), and times appending the same events straight into a
DuckDB event store in-process. Prints events/s, requests/s and the API/raw ratio.

    .venv/bin/python bench/ingest.py [--events 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import running_server  # noqa: E402
from tokenoptimizer.usage.demo import generate_demo_events
from tokenoptimizer.usage.pipeline import Attribution, IngestPipeline, OrgPricing
from tokenoptimizer.usage.stores import events_table, open_event_store
from tokenoptimizer.usage.wire import to_wire


def demo_events(n: int, seed: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for chunk in generate_demo_events(n, days=30, seed=seed):
        for event in chunk:
            event.pop("project")
            event["ts"] = event["ts"].isoformat()
            events.append(event)
    return events


async def send(url: str, key: str, bodies: list[bytes], concurrency: int) -> float:
    """Send every body with `concurrency` workers; return elapsed seconds."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                response = await client.post("/api/v1/events", content=body)
                if response.status_code != 202:
                    raise RuntimeError(f"{response.status_code}: {response.text[:300]}")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


WRK_SCRIPT = """wrk.method = "POST"
wrk.body = '{"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 812, "output_tokens": 164}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
"""


def wrk_single_events(url: str, key: str, seconds: int, connections: int) -> tuple[float, str]:
    """Requests/s of single-event POSTs from `wrk` (a C load generator: a Python client tops out first)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % key)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            script.name,
            f"{url}/api/v1/events",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(script.name).unlink()
    rate = float(next(line for line in out.splitlines() if line.startswith("Requests/sec")).split()[1])
    latency = " ".join(line.strip() for line in out.splitlines() if line.strip().startswith(("50%", "99%")))
    non_2xx = [line.strip() for line in out.splitlines() if "Non-2xx" in line]
    if non_2xx:
        raise RuntimeError(f"errors during the wrk run: {non_2xx}")
    return rate, latency


def raw_duckdb_rate(events: list[dict[str, Any]], batch: int) -> tuple[float, float]:
    """(events/s appending prepared batches to DuckDB, events/s of the pipeline's preparation)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_event_store(f"duckdb:///{Path(tmp) / 'raw.duckdb'}")
        pipeline = IngestPipeline(store, lambda _org: OrgPricing())
        attribution = Attribution(org_id="bench", project_id="bench")
        models = [to_wire(e) for e in events]
        start = time.perf_counter()
        tables = [
            events_table(pipeline.prepare(models[i : i + batch], attribution, source="bench"))
            for i in range(0, len(models), batch)
        ]
        prepare_s = time.perf_counter() - start
        start = time.perf_counter()
        for table in tables:
            store.append(table)
        append_s = time.perf_counter() - start
        store.close()
    return len(events) / append_s, len(events) / prepare_s


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000, help="events for the batched runs")
    parser.add_argument(
        "--single", type=int, default=10_000, help="single-event requests (Python client, only without wrk)"
    )
    args = parser.parse_args()

    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}"
    )
    events = demo_events(args.events, seed=1)
    raw_rate, prepare_rate = raw_duckdb_rate(events, 1000)
    print(f"raw DuckDB append, batches of 1,000:      {raw_rate:>10,.0f} events/s")
    print(f"pipeline prepare (normalise+price+Arrow): {prepare_rate:>10,.0f} events/s")

    runs = [(1000, 4, args.events), (100, 16, args.events // 2)]
    if not shutil.which("wrk"):
        runs.append((1, 32, args.single))
    with running_server() as server:
        seed = 2
        if shutil.which("wrk"):
            rate, latency = wrk_single_events(server.url, server.key, seconds=10, connections=32)
            print(
                f"HTTP API, single events (wrk, 32 connections): {rate:>8,.0f} requests/s; latency {latency}"
            )
        for batch, concurrency, count in runs:
            seed += 1
            sample = demo_events(count, seed=seed)
            if batch == 1:
                bodies = [orjson.dumps(e) for e in sample]
            else:
                bodies = [
                    orjson.dumps({"events": sample[i : i + batch]}) for i in range(0, len(sample), batch)
                ]
            elapsed = asyncio.run(send(server.url, server.key, bodies, concurrency))
            rate = len(sample) / elapsed
            print(
                f"HTTP API, batches of {batch:>5,} (concurrency {concurrency:>2}): {rate:>10,.0f} events/s, "
                f"{len(bodies) / elapsed:>8,.0f} requests/s, API/raw = {rate / raw_rate:.2f}"
            )


if __name__ == "__main__":
    main()
