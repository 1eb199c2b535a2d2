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
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.common import running_server
from tokenoptimizer.usage.demo import generate_demo_events
from tokenoptimizer.usage.pipeline import Attribution, IngestPipeline, OrgPricing
from tokenoptimizer.usage.stores import open_event_store
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


def raw_duckdb_rate(events: list[dict[str, Any]], batch: int) -> tuple[float, float]:
    """(events/s appending prepared batches to DuckDB, events/s of the pipeline's preparation)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_event_store(f"duckdb:///{Path(tmp) / 'raw.duckdb'}")
        pipeline = IngestPipeline(store, lambda _org: OrgPricing())
        attribution = Attribution(org_id="bench", project_id="bench")
        models = [to_wire(e) for e in events]
        start = time.perf_counter()
        tables = [
            pipeline.prepare(models[i : i + batch], attribution, source="bench")
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
    parser.add_argument("--single", type=int, default=10_000, help="single-event requests")
    args = parser.parse_args()

    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}"
    )
    events = demo_events(args.events, seed=1)
    raw_rate, prepare_rate = raw_duckdb_rate(events, 1000)
    print(f"raw DuckDB append, batches of 1,000:      {raw_rate:>10,.0f} events/s")
    print(f"pipeline prepare (normalise+price+Arrow): {prepare_rate:>10,.0f} events/s")

    runs = [(1000, 4, args.events), (100, 16, args.events // 2), (1, 32, args.single)]
    with running_server() as server:
        seed = 2
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
