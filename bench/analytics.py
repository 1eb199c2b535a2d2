"""Analytics latency: every `/api/v1/usage/*` endpoint through HTTP vs the equivalent raw SQL.

For each `--events` size, loads that many demo events (90 days, one organisation, three projects)
into a data directory under `bench/.data/` (kept between runs: loading 10M takes a while), in
time order as real ingest would: generated in time order, priced by `IngestPipeline.prepare` in
big batches, appended with `DuckDBEventStore.append` (which keeps the rollups). A directory loaded
before rollups existed gets them when the store first opens it (timed). `READY` in the directory
says it is complete, rollups included. Then, over the last 30 days of the data:

1. times hand-written SQL answering each endpoint's question, straight on the DuckDB file's events;
2. starts a real `tokenoptimizer serve` on the same directory and times each endpoint through
   HTTP (keep-alive), and the six calls of the overview page, one after the other and all at once;
3. prints medians, the API/raw ratio and the server's peak RSS.

    .venv/bin/python bench/analytics.py --events 1000000 10000000 [--repeat 25]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa

from bench.common import rss_mib, running_server
from tokenoptimizer.accounts import service as accounts
from tokenoptimizer.db import migrate
from tokenoptimizer.db.base import Database
from tokenoptimizer.usage.demo import DEMO_PROJECTS, generate_demo_events
from tokenoptimizer.usage.pipeline import Attribution, IngestPipeline, OrgPricing
from tokenoptimizer.usage.stores import events_table
from tokenoptimizer.usage.stores.duckdb import DuckDBEventStore
from tokenoptimizer.usage.stores.rollups import ROLLUPS
from tokenoptimizer.usage.wire import to_wire

DATA = Path(__file__).parent / ".data"
DAYS = 90
WINDOW_DAYS = 30
CHUNK = 200_000


# -- loading ---------------------------------------------------------------------------------------


def load(events: int, seed: int = 0) -> tuple[Path, dict[str, Any]]:
    """The data directory holding `events` demo events (created on first use), and its manifest."""
    directory = DATA / f"analytics-{events}"
    manifest_path = directory / "manifest.json"
    if manifest_path.exists():
        if not (directory / "READY").exists():
            ready(directory)
        return directory, json.loads(manifest_path.read_text())
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.iterdir():
        stale.unlink()
    url = f"sqlite:///{directory / 'tokenoptimizer.db'}"
    migrate.upgrade(url)
    database = Database(url)
    with database.session() as session:
        org = accounts.create_organization(session, "Bench")
        org_id = org.id
        projects = {name: accounts.get_or_create_project(session, org_id, name).id for name in DEMO_PROJECTS}
    database.dispose()
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    store = DuckDBEventStore(f"duckdb:///{directory / 'events.duckdb'}")
    pipeline = IngestPipeline(store, lambda _org: OrgPricing())
    started = time.perf_counter()
    done = 0
    for chunk in generate_demo_events(events, days=DAYS, end=end, seed=seed, chunk_size=CHUNK):
        by_project: dict[str, list[Any]] = {}
        for raw in chunk:
            project = raw.pop("project")
            by_project.setdefault(project, []).append(to_wire(raw))
        tables = [
            events_table(
                pipeline.prepare(batch, Attribution(org_id=org_id, project_id=projects[name]), source="bench")
            )
            for name, batch in by_project.items()
        ]
        store.append(pa.concat_tables(tables).sort_by("ts"))  # one chunk, in time order
        done += len(chunk)
        rate = done / (time.perf_counter() - started)
        print(f"\r  loaded {done:,} / {events:,} events ({rate:,.0f} ev/s)", end="", flush=True)
    print()
    store.close()
    manifest = {"events": events, "org_id": org_id, "end": end.isoformat(), "days": DAYS}
    manifest_path.write_text(json.dumps(manifest))
    ready(directory)
    return directory, manifest


def ready(directory: Path) -> None:
    """Open the store once (building rollups the directory lacks), report them, then write READY."""
    started = time.perf_counter()
    store = DuckDBEventStore(f"duckdb:///{directory / 'events.duckdb'}")
    opened = time.perf_counter() - started
    sizes = {r.table: int(store.fetch(f"SELECT count(*) FROM {r.table}")[0][0]) for r in ROLLUPS}
    store.close()
    print(f"  store opened in {opened:.1f} s (building missing rollups included); rollup rows: {sizes}")
    (directory / "READY").write_text(json.dumps({"rollup_rows": sizes, "opened_seconds": round(opened, 1)}))


# -- what is measured ------------------------------------------------------------------------------

Call = tuple[str, str, dict[str, Any]]


def calls(window: dict[str, str]) -> list[Call]:
    """(name, path, params) of every timed endpoint call."""
    return [
        ("summary+compare", "summary", {**window, "compare": "previous_period"}),
        ("timeseries cost/day", "timeseries", {**window, "metric": "cost", "interval": "day"}),
        ("timeseries cost/day by model", "timeseries", {**window, "metric": "cost", "group_by": "model"}),
        ("timeseries requests/hour", "timeseries", {**window, "metric": "requests", "interval": "hour"}),
        ("timeseries p95/day", "timeseries", {**window, "metric": "latency_p95", "interval": "day"}),
        ("breakdown model", "breakdown", {**window, "by": "model"}),
        ("breakdown provider", "breakdown", {**window, "by": "provider"}),
        ("breakdown feature", "breakdown", {**window, "by": "feature"}),
        ("breakdown project", "breakdown", {**window, "by": "project"}),
        ("breakdown end_user", "breakdown", {**window, "by": "end_user"}),
        (
            "breakdown tag.region+cmp",
            "breakdown",
            {**window, "by": "tag.region", "compare": "previous_period"},
        ),
        ("performance model", "performance", {**window, "by": "model"}),
        ("heatmap", "heatmap", window),
        ("impact model", "impact", {**window, "by": "model"}),
        ("top-prompts", "top-prompts", window),
        ("forecast", "forecast", {"budget": 50_000}),
        (
            "summary filtered (OR+tag)",
            "summary",
            {**window, "model": ["gpt-4o", "gpt-4.1"], "tag.env": "prod"},
        ),
    ]


OVERVIEW = [
    "summary+compare",
    "timeseries cost/day by model",
    "breakdown model",
    "breakdown provider",
    "breakdown feature",
    "breakdown project",
]


def raw_sql(org: str, start: datetime, end: datetime) -> dict[str, list[str]]:
    """Hand-written SQL answering each call's question (UTC organisation), one list per call."""
    lo, hi = start.replace(tzinfo=None), end.replace(tzinfo=None)
    prev = lo - (hi - lo)
    where = f"org_id = '{org}' AND ts >= '{lo}' AND ts < '{hi}'"
    where_prev = f"org_id = '{org}' AND ts >= '{prev}' AND ts < '{lo}'"
    figures = (
        "count(*), count_if(status = 'error'), sum(input_tokens), sum(output_tokens), "
        "sum(cache_read_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd), "
        "sum(billed_cost_usd), avg(latency_ms), quantile_cont(latency_ms, 0.95)"
    )
    row = (
        "count(*), sum(cost_usd), sum(input_tokens), sum(output_tokens), sum(input_tokens + output_tokens), "
        "count_if(status = 'error'), sum(cost_usd) / sum(sum(cost_usd)) OVER ()"
    )

    def by(column: str) -> str:
        return f"SELECT {column} AS k, {row} FROM events WHERE {where} GROUP BY k ORDER BY 3 DESC LIMIT 50"

    history = (end - timedelta(days=70)).replace(tzinfo=None)
    return {
        "summary+compare": [
            f"SELECT {figures} FROM events WHERE {where}",
            f"SELECT {figures} FROM events WHERE {where_prev}",
        ],
        "timeseries cost/day": [
            f"SELECT date_trunc('day', ts) d, sum(cost_usd) FROM events WHERE {where} GROUP BY d ORDER BY d"
        ],
        "timeseries cost/day by model": [
            f"SELECT date_trunc('day', ts) d, model, sum(cost_usd) FROM events WHERE {where} "
            "GROUP BY d, model ORDER BY d, model",
        ],
        "timeseries requests/hour": [
            f"SELECT date_trunc('hour', ts) h, count(*) FROM events WHERE {where} GROUP BY h ORDER BY h"
        ],
        "timeseries p95/day": [
            f"SELECT date_trunc('day', ts) d, quantile_cont(latency_ms, 0.95) FROM events WHERE {where} "
            "GROUP BY d ORDER BY d"
        ],
        "breakdown model": [by("model")],
        "breakdown provider": [by("provider")],
        "breakdown feature": [by("feature")],
        "breakdown project": [by("project_id")],
        "breakdown end_user": [by("end_user")],
        "breakdown tag.region+cmp": [
            by("tags['region']"),
            f"SELECT tags['region'] k, {row} FROM events WHERE {where_prev} GROUP BY k",
        ],
        "performance model": [
            "SELECT model, count(*), count_if(status = 'error'), "
            "quantile_cont(latency_ms, [0.5, 0.9, 0.95, 0.99]), "
            f"quantile_cont(time_to_first_token_ms, [0.5, 0.95]) FROM events WHERE {where} "
            "GROUP BY model ORDER BY 2 DESC LIMIT 50",
            f"SELECT model, error_type, count(*) FROM events WHERE {where} AND status = 'error' GROUP BY ALL",
        ],
        "heatmap": [f"SELECT isodow(ts), hour(ts), count(*) FROM events WHERE {where} GROUP BY ALL"],
        "impact model": [
            "SELECT count(*), count(co2e_kg), sum(energy_kwh), sum(co2e_kg), sum(water_l) "
            f"FROM events WHERE {where}",
            "SELECT model, count(*), count(co2e_kg), sum(energy_kwh), sum(co2e_kg), sum(water_l) "
            f"FROM events WHERE {where} GROUP BY model ORDER BY 5 DESC LIMIT 50",
        ],
        "top-prompts": [
            "SELECT prompt_hash, count(*), sum(cost_usd), avg(input_tokens), avg(output_tokens), "
            "any_value(feature), any_value(model), sum(cost_usd) / sum(sum(cost_usd)) OVER () FROM events "
            f"WHERE {where} AND prompt_hash IS NOT NULL GROUP BY prompt_hash ORDER BY 3 DESC LIMIT 20"
        ],
        "forecast": [
            f"SELECT date_trunc('day', ts) d, sum(cost_usd) FROM events WHERE org_id = '{org}' "
            f"AND ts >= '{history}' GROUP BY d"
        ],
        "summary filtered (OR+tag)": [
            f"SELECT {figures} FROM events WHERE {where} AND model IN ('gpt-4o', 'gpt-4.1') "
            "AND tags['env'] = 'prod'"
        ],
    }


# -- timing ----------------------------------------------------------------------------------------


def median_ms(run: Callable[[], object], repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def time_raw(path: Path, queries: dict[str, list[str]], repeat: int) -> dict[str, float]:
    con = duckdb.connect(str(path), read_only=True)
    try:

        def run_all(sqls: list[str]) -> Callable[[], object]:
            return lambda: [con.execute(sql).fetchall() for sql in sqls]

        return {name: median_ms(run_all(sqls), repeat) for name, sqls in queries.items()}
    finally:
        con.close()


async def overview_at_once(url: str, key: str, wanted: list[Call]) -> float:
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as http:
        for _ in range(2):
            await asyncio.gather(
                *(http.get(f"/api/v1/usage/{path}", params=params) for _n, path, params in wanted)
            )
        samples = []
        for _ in range(7):
            start = time.perf_counter()
            responses = await asyncio.gather(
                *(http.get(f"/api/v1/usage/{path}", params=params) for _n, path, params in wanted)
            )
            samples.append((time.perf_counter() - start) * 1000)
            assert all(r.status_code == 200 for r in responses)
        return statistics.median(samples)


def bench(events: int, repeat: int) -> None:
    directory, manifest = load(events)
    end = datetime.fromisoformat(manifest["end"])
    start = end - timedelta(days=WINDOW_DAYS)
    window = {"from": start.isoformat(), "to": end.isoformat()}
    plan = calls(window)
    raw = time_raw(directory / "events.duckdb", raw_sql(manifest["org_id"], start, end), repeat)
    api: dict[str, float] = {}
    peak_rss = 0.0
    with (
        running_server(directory) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {server.key}"}, timeout=60
        ) as http,
    ):

        def call(path: str, params: dict[str, Any]) -> Callable[[], object]:
            def run() -> object:
                response = http.get(f"/api/v1/usage/{path}", params=params)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
                return response

            return run

        for name, path, params in plan:
            api[name] = median_ms(call(path, params), repeat)
            peak_rss = max(peak_rss, rss_mib(server.pid))
        at_once = asyncio.run(overview_at_once(server.url, server.key, [c for c in plan if c[0] in OVERVIEW]))
        peak_rss = max(peak_rss, rss_mib(server.pid))

    print(f"\n{events:,} events over {DAYS} days; window: last {WINDOW_DAYS} days; median of {repeat} calls")
    print(f"{'call':32} {'API ms':>8} {'raw ms':>8} {'API/raw':>8}")
    for name, _path, _params in plan:
        print(f"{name:32} {api[name]:8.1f} {raw[name]:8.1f} {api[name] / raw[name]:8.2f}")
    sequential = sum(api[name] for name in OVERVIEW)
    print(f"overview page, 6 calls one after another: {sequential:.0f} ms; all at once: {at_once:.0f} ms")
    print(f"server peak RSS: {peak_rss:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--events", type=int, nargs="+", default=[1_000_000], help="event counts to load and time"
    )
    parser.add_argument("--repeat", type=int, default=25, help="timed calls per endpoint")
    args = parser.parse_args()
    print(f"{platform.machine()}, {platform.python_version()}, duckdb {duckdb.__version__}")
    for events in args.events:
        bench(events, args.repeat)


if __name__ == "__main__":
    main()
