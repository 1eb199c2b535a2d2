"""Ingest throughput: events/s through the HTTP API vs the raw DuckDB append rate, in one run.

Starts a real `tokenoptimizer serve`, sends demo events in batches of 1, 100 and 1,000 from
concurrent clients (keep-alive HTTP/1.1), and times appending the same events straight into a
DuckDB event store in-process, plus each in-process step of the server's work per event (decode,
prepare, Arrow conversion). Prints events/s, requests/s, the API/raw ratio and the load average
(other jobs on the machine move every figure).

    .venv/bin/python bench/ingest.py [--events 200000] [--runs raw,single,1000,100,wrk1000]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import running_server  # noqa: E402
from tokenoptimizer.usage.demo import generate_demo_events
from tokenoptimizer.usage.pipeline import Attribution, IngestPipeline, OrgPricing
from tokenoptimizer.usage.stores import events_table, open_event_store
from tokenoptimizer.usage.wire import batch_decoder

RUNS = ("raw", "single", "1000", "100", "wrk1000")


def load_average() -> str:
    """The 1/5/15-minute load averages, printed beside every figure."""
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def demo_events(n: int, seed: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for chunk in generate_demo_events(n, days=30, seed=seed):
        for event in chunk:
            event.pop("project")
            event["ts"] = event["ts"].isoformat()
            events.append(event)
    return events


def demo_bodies(n: int, seed: int, batch: int) -> Iterator[bytes]:
    """`{"events": [...]}` request bodies of `batch` demo events, without holding all events at once."""
    pending: list[dict[str, Any]] = []
    for chunk in generate_demo_events(n, days=30, seed=seed):
        for event in chunk:
            event.pop("project")
            event["ts"] = event["ts"].isoformat()
            pending.append(event)
            if len(pending) == batch:
                yield orjson.dumps({"events": pending})
                pending = []
    if pending:
        yield orjson.dumps({"events": pending})


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


WRK_BATCH_SCRIPT = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
local bodies = {}
local sent = 0
init = function(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
end
request = function()
  sent = sent %% #bodies + 1
  return wrk.format(nil, nil, nil, bodies[sent])
end
"""


def wrk_batches(
    url: str, key: str, bodies: Iterable[bytes], seconds: int, connections: int
) -> tuple[float, str]:
    """Requests/s of batch POSTs from `wrk`, each body sent once if the pool is large enough."""
    with tempfile.TemporaryDirectory() as tmp:
        script, lines = Path(tmp) / "batches.lua", Path(tmp) / "bodies.jsonl"
        script.write_text(WRK_BATCH_SCRIPT % key)
        pool = 0
        with lines.open("wb") as out_file:
            for body in bodies:
                out_file.write(body + b"\n")
                pool += 1
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "30s"]
        out = subprocess.run(
            [*command, "-s", str(script), f"{url}/api/v1/events", "--", str(lines)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rate = float(next(line for line in out.splitlines() if line.startswith("Requests/sec")).split()[1])
    requests = int(next(line for line in out.splitlines() if "requests in" in line).split()[0])
    latency = " ".join(line.strip() for line in out.splitlines() if line.strip().startswith(("50%", "99%")))
    if [line for line in out.splitlines() if "Non-2xx" in line]:
        raise RuntimeError(f"errors during the wrk run:\n{out}")
    if requests > pool:
        latency += f" (WARNING: {requests} requests > {pool} bodies: re-sent events were duplicates)"
    return rate, latency


def raw_duckdb_rate(events: list[dict[str, Any]], batch: int) -> dict[str, float]:
    """Events/s of each in-process step, and of appending prepared batches to DuckDB.

    Steps as the server runs them: decoding request bodies (event loop), the pipeline's
    preparation — normalise, price, impact, columns (event loop), converting the columns to
    Arrow and appending (the store's writer thread).
    """
    with tempfile.TemporaryDirectory() as tmp:
        store = open_event_store(f"duckdb:///{Path(tmp) / 'raw.duckdb'}")
        pipeline = IngestPipeline(store, lambda _org: OrgPricing())
        attribution = Attribution(org_id="bench", project_id="bench")
        bodies = [orjson.dumps({"events": events[i : i + batch]}) for i in range(0, len(events), batch)]
        # Warm the caches a server fills once (catalogue lookups, impact fits per model).
        pipeline.prepare(batch_decoder.decode(bodies[0]).events, attribution, source="bench")
        start = time.perf_counter()
        batches = [batch_decoder.decode(body).events for body in bodies]
        decode_s = time.perf_counter() - start
        start = time.perf_counter()
        prepared = [pipeline.prepare(models, attribution, source="bench") for models in batches]
        prepare_s = time.perf_counter() - start
        start = time.perf_counter()
        tables = [events_table(columns) for columns in prepared]
        arrow_s = time.perf_counter() - start
        start = time.perf_counter()
        for table in tables:
            store.append(table)
        append_s = time.perf_counter() - start
        store.close()
    n = len(events)
    return {"decode": n / decode_s, "prepare": n / prepare_s, "arrow": n / arrow_s, "append": n / append_s}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000, help="events for the batched runs")
    parser.add_argument(
        "--single", type=int, default=10_000, help="single-event requests (Python client, only without wrk)"
    )
    parser.add_argument(
        "--runs", default=",".join(RUNS), help=f"comma-separated subset of {','.join(RUNS)} (default: all)"
    )
    parser.add_argument("--seconds", type=int, default=10, help="duration of the wrk run of single events")
    parser.add_argument("--batch-seconds", type=int, default=5, help="duration of the wrk run of batches")
    parser.add_argument(
        "--connections",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[4, 16],
        help="clients of the wrk runs of batches, one run each (default: 4,16)",
    )
    args = parser.parse_args()
    runs = set(args.runs.split(","))
    if not runs <= set(RUNS):
        parser.error(f"unknown runs: {sorted(runs - set(RUNS))}")
    has_wrk = shutil.which("wrk") is not None

    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}"
    )
    raw_rate = math.nan
    if "raw" in runs:
        events = demo_events(args.events, seed=1)
        rates = raw_duckdb_rate(events, 1000)
        raw_rate = rates["append"]
        us = {step: 1e6 / rate for step, rate in rates.items()}
        print(f"raw DuckDB append, batches of 1,000:      {raw_rate:>10,.0f} events/s  ({load_average()})")
        print(
            f"in-process steps per event, batches of 1,000: decode {us['decode']:.1f} µs, "
            f"prepare (normalise+price+impact) {us['prepare']:.1f} µs, Arrow {us['arrow']:.1f} µs, "
            f"append {us['append']:.1f} µs"
        )

    batch_runs = [(1000, 4, args.events), (100, 16, args.events // 2)]
    batch_runs = [run for run in batch_runs if str(run[0]) in runs]
    if "single" in runs and not has_wrk:
        batch_runs.append((1, 32, args.single))
    with running_server() as server:
        seed = 2
        # One batch of every demo model first: the server's per-model caches fill once, at start-up.
        warm_up = next(demo_bodies(2000, seed=99, batch=2000))
        httpx.post(
            f"{server.url}/api/v1/events",
            content=warm_up,
            headers={"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"},
            timeout=60,
        ).raise_for_status()
        if "single" in runs and has_wrk:
            rate, latency = wrk_single_events(server.url, server.key, seconds=args.seconds, connections=32)
            print(
                f"HTTP API, single events (wrk, 32 connections): {rate:>8,.0f} requests/s; latency {latency}"
                f"  ({load_average()})"
            )
        for batch, concurrency, count in batch_runs:
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
                f"  ({load_average()})"
            )
        if "wrk1000" in runs and has_wrk:
            for connections in args.connections:
                seed += 1
                # Distinct bodies for 80,000 events/s over the run, so every event is new (~0.5 MB each).
                pool = demo_bodies(max(args.events, 80_000 * args.batch_seconds), seed=seed, batch=1000)
                rate, latency = wrk_batches(
                    server.url, server.key, pool, seconds=args.batch_seconds, connections=connections
                )
                print(
                    f"HTTP API, batches of 1,000 (wrk, {connections:>2} connections): "
                    f"{rate * 1000:>10,.0f} events/s, {rate:,.1f} requests/s, "
                    f"API/raw = {rate * 1000 / raw_rate:.2f}; latency {latency}  ({load_average()})"
                )


if __name__ == "__main__":
    main()
