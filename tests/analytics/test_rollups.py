"""Rollups give the events' answers: every query, answered from rollups and from the events, agrees.

Sums and counts must be equal (to floating-point rounding of the summation order); percentiles read
from the latency histograms must be within `LATENCY_RELATIVE_ERROR` of the exact ones.
"""

from __future__ import annotations

import dataclasses
import math
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa
import pytest
import sqlglot

from tokenoptimizer.analytics import planner, queries
from tokenoptimizer.analytics.periods import local_time
from tokenoptimizer.analytics.planner import histogram_source, run_query, sums_source
from tokenoptimizer.analytics.queries import (
    LOCAL_HOUR,
    LOCAL_WEEKDAY,
    PERCENTILES,
    TIME_BUCKET,
    AggregateQuery,
    CompiledQuery,
    LocalTime,
    Selection,
    compile_percentiles,
    compile_query,
)
from tokenoptimizer.usage.stores import duckdb_rollups, events_table
from tokenoptimizer.usage.stores.duckdb import DuckDBEventStore
from tokenoptimizer.usage.stores.rollups import (
    LATENCY_RELATIVE_ERROR,
    PENDING,
    ROLLUPS,
    USAGE_HOURLY,
)

ORG, OTHER = "org-a", "org-b"
FIRST = datetime(2026, 10, 20)
DAYS = 10  # includes Berlin's change back to winter time (25 October, 01:00 UTC)
SUMMARY = (
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "tokens",
    "cost_usd",
    "billed_cost_usd",
    "latency_avg_ms",
    "latency_p95_ms",
    "energy_kwh",
    "co2e_kg",
    "water_l",
    "requests_with_impact",
    "avg_input_tokens",
    "avg_output_tokens",
)
BREAKDOWN = ("requests", "cost_usd", "input_tokens", "output_tokens", "tokens", "errors")
PERFORMANCE = ("requests", "errors", "latency_quantiles", "ttft_quantiles")


def random_events(count: int, org: str, seed: int) -> dict[str, list[Any]]:
    """Events spread over `DAYS` days with every dimension varied and some values missing."""
    rng = np.random.default_rng(seed)

    def pick(values: list[Any]) -> list[Any]:
        return [values[i] for i in rng.integers(0, len(values), count)]

    ts = [FIRST + timedelta(microseconds=int(us)) for us in rng.integers(0, DAYS * 86_400_000_000, count)]
    status = ["error" if r < 0.08 else "ok" for r in rng.random(count)]
    latency = rng.lognormal(6.5, 0.9, count)
    ttft = latency * rng.uniform(0.05, 0.6, count)
    cost = rng.gamma(2.0, 0.004, count)
    co2 = rng.gamma(2.0, 0.0001, count)
    return {
        "event_id": [str(uuid.uuid4()) for _ in range(count)],
        "ts": ts,
        "org_id": [org] * count,
        "project_id": pick(["p-web", "p-api", "p-batch"]),
        "api_key_id": pick(["k1", "k2", None]),
        "provider": pick(["openai", "anthropic"]),
        "model": pick(["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "o4-mini"]),
        "request_type": pick(["chat", "embedding"]),
        "status": status,
        "error_type": [pick(["rate_limit", "timeout"])[0] if s == "error" else None for s in status],
        "user": pick(["alice", "bob", None]),
        "end_user": pick(["c1", "c2", "c3", None]),
        "team": pick(["search", "support", None]),
        "feature": pick(["chat", "summarise", "rerank", None]),
        "tags": pick([{}, {"env": "prod"}, {"env": "dev", "region": "eu"}, {"region": "us"}]),
        "input_tokens": [int(v) for v in rng.integers(0, 5000, count)],
        "output_tokens": [int(v) for v in rng.integers(0, 800, count)],
        "cache_read_tokens": [int(v) for v in rng.integers(0, 300, count)],
        "cache_write_tokens": [int(v) for v in rng.integers(0, 50, count)],
        "reasoning_tokens": [int(v) for v in rng.integers(0, 200, count)],
        # Some values missing, some zero: as real calls report them.
        "latency_ms": [
            None if r < 0.05 else 0.0 if r < 0.06 else float(v)
            for r, v in zip(rng.random(count), latency, strict=True)
        ],
        "time_to_first_token_ms": [
            None if r < 0.3 else float(v) for r, v in zip(rng.random(count), ttft, strict=True)
        ],
        "cost_usd": [None if r < 0.02 else float(v) for r, v in zip(rng.random(count), cost, strict=True)],
        "billed_cost_usd": [float(v) * 1.2 for v in cost],
        "energy_kwh": [
            None if r < 0.1 else float(v) * 3 for r, v in zip(rng.random(count), co2, strict=True)
        ],
        "co2e_kg": [None if r < 0.1 else float(v) for r, v in zip(rng.random(count), co2, strict=True)],
        "water_l": [float(v) * 7 for v in co2],
        "price_source": ["test"] * count,
        "source": ["test"] * count,
        "ingested_at": [FIRST] * count,
    }


def append_in_batches(store: DuckDBEventStore, columns: dict[str, list[Any]], batches: int) -> None:
    table = events_table(columns)
    size = math.ceil(table.num_rows / batches)
    for start in range(0, table.num_rows, size):
        store.append(table.slice(start, size))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBEventStore]:
    path = tmp_path_factory.mktemp("rollups") / "events.duckdb"
    events = DuckDBEventStore(f"duckdb:///{path}")
    # Unsorted batches: every hour gets partial rollup rows from several appends.
    append_in_batches(events, random_events(6000, ORG, seed=1), batches=7)
    append_in_batches(events, random_events(1500, OTHER, seed=2), batches=2)
    yield events
    events.close()


def answers(
    store: DuckDBEventStore, query: AggregateQuery
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """(answer with rollups, answer from the events only, SQL run with rollups)."""
    statements: list[str] = []

    def fetch(compiled: CompiledQuery) -> list[dict[str, Any]]:
        statements.append(compiled.sql)
        rows: list[dict[str, Any]] = store.fetch_arrow(compiled.sql, compiled.params).to_pylist()
        return rows

    pending = store.rollups_pending
    with_rollups = run_query(query, dialect="duckdb", fetch=fetch, rollups=True, pending=pending)
    sql = list(statements)
    from_events = run_query(query, dialect="duckdb", fetch=fetch, rollups=False)
    return with_rollups, from_events, sql


def same(value: Any, expected: Any, tolerance: float) -> bool:
    if isinstance(expected, list) or isinstance(value, list):
        values = value or [None] * len(expected or [])
        wanted = expected or [None] * len(values)
        return len(values) == len(wanted) and all(
            same(v, e, tolerance) for v, e in zip(values, wanted, strict=True)
        )
    if isinstance(expected, float) or isinstance(value, float):
        if value is None or expected is None:
            return value is None and expected is None
        return math.isclose(float(value), float(expected), rel_tol=tolerance, abs_tol=1e-9)
    return bool(value == expected)


def assert_same_answers(
    rollup_rows: list[dict[str, Any]], event_rows: list[dict[str, Any]], percentile_tolerance: float = 1e-9
) -> None:
    assert len(rollup_rows) == len(event_rows)
    for got, expected in zip(rollup_rows, event_rows, strict=True):
        assert got.keys() == expected.keys()
        for name, value in expected.items():
            tolerance = percentile_tolerance if name in PERCENTILES else 1e-9
            assert same(got[name], value, tolerance), (name, got[name], value, got, expected)


UNALIGNED = Selection(org_id=ORG, start=datetime(2026, 10, 20, 7, 13, 5), end=datetime(2026, 10, 29, 18, 47))
ALIGNED = Selection(org_id=ORG, start=datetime(2026, 10, 21), end=datetime(2026, 10, 29))


def _local(zone: str, selection: Selection) -> LocalTime:
    start, end = (t.replace(tzinfo=UTC) for t in (selection.start, selection.end))
    return local_time(ZoneInfo(zone), start, end)


BERLIN = _local("Europe/Berlin", UNALIGNED)
KOLKATA = _local("Asia/Kolkata", UNALIGNED)


def _queries() -> list[tuple[str, AggregateQuery]]:
    queries = [
        ("summary", AggregateQuery(UNALIGNED, SUMMARY)),
        ("summary aligned", AggregateQuery(ALIGNED, SUMMARY)),
        (
            "performance by model",
            AggregateQuery(UNALIGNED, PERFORMANCE, group_by=("model",), order_by="requests"),
        ),
        (
            "impact by model",
            AggregateQuery(UNALIGNED, SUMMARY, group_by=("model",), order_by="co2e_kg", limit=3),
        ),
        (
            "filtered",
            AggregateQuery(
                dataclasses.replace(
                    UNALIGNED, models=("gpt-4o", "o4-mini"), statuses=("ok",), project_ids=("p-web",)
                ),
                SUMMARY,
            ),
        ),
        (
            "tag filter",
            AggregateQuery(dataclasses.replace(UNALIGNED, tags=(("env", ("prod", "dev")),)), BREAKDOWN),
        ),
        (
            "tag and model filters, with percentiles",
            AggregateQuery(
                dataclasses.replace(UNALIGNED, models=("gpt-4o", "o4-mini"), tags=(("env", ("prod",)),)),
                SUMMARY,
                group_by=("provider",),
            ),
        ),
        (
            "errors by type",
            AggregateQuery(
                dataclasses.replace(UNALIGNED, statuses=("error",)),
                ("errors",),
                group_by=("model", "error_type"),
                order_by="errors",
            ),
        ),
        (
            "cost by day and model, top 2",
            AggregateQuery(
                UNALIGNED,
                ("cost_usd", "requests"),
                group_by=(TIME_BUCKET, "model"),
                interval="day",
                top=2,
                rank_by="cost_usd",
            ),
        ),
        (
            "p95 by day and model, folded",
            AggregateQuery(
                UNALIGNED,
                ("latency_p95_ms", "requests"),
                group_by=(TIME_BUCKET, "model"),
                interval="day",
                top_keys=("gpt-4o", "o4-mini"),
            ),
        ),
        (
            "heatmap Berlin",
            AggregateQuery(
                UNALIGNED, ("requests", "cost_usd"), group_by=(LOCAL_WEEKDAY, LOCAL_HOUR), local=BERLIN
            ),
        ),
    ]
    for by in (
        "model",
        "provider",
        "feature",
        "project",
        "team",
        "api_key",
        "status",
        "error_type",
        "request_type",
        "tag.region",
    ):
        queries.append(
            (
                f"breakdown by {by}",
                AggregateQuery(
                    UNALIGNED, BREAKDOWN, group_by=(by,), order_by="cost_usd", share_of="cost_usd", limit=3
                ),
            )
        )
    for zone, local in (("UTC", LocalTime()), ("Berlin", BERLIN), ("Kolkata", KOLKATA)):
        for interval in ("hour", "day", "week", "month"):
            queries.append(
                (
                    f"{interval}s in {zone}",
                    AggregateQuery(
                        UNALIGNED,
                        ("cost_usd", "requests", "errors", "latency_p50_ms", "latency_p99_ms"),
                        group_by=(TIME_BUCKET,),
                        interval=interval,  # type: ignore[arg-type]
                        local=local,
                    ),
                )
            )
    return queries


QUERIES = _queries()


@pytest.mark.parametrize(("name", "query"), QUERIES, ids=[name for name, _q in QUERIES])
def test_rollups_give_the_events_answers(store: DuckDBEventStore, name: str, query: AggregateQuery) -> None:
    with_rollups, from_events, _sql = answers(store, query)
    assert with_rollups  # the data cover every query
    assert_same_answers(with_rollups, from_events)  # percentiles exact: fewer values than the limit


@pytest.mark.parametrize(("name", "query"), QUERIES, ids=[name for name, _q in QUERIES])
def test_percentiles_from_histograms_are_within_one_percent(
    store: DuckDBEventStore, monkeypatch: pytest.MonkeyPatch, name: str, query: AggregateQuery
) -> None:
    monkeypatch.setattr(planner, "EXACT_PERCENTILES_UP_TO", 0)
    with_rollups, from_events, _sql = answers(store, query)
    assert_same_answers(with_rollups, from_events, percentile_tolerance=LATENCY_RELATIVE_ERROR + 1e-9)


def test_tags_filtered_after_the_other_filters_give_the_same_answer(
    store: DuckDBEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    selection = dataclasses.replace(UNALIGNED, models=("gpt-4o",), tags=(("env", ("prod", "dev")),))
    query = AggregateQuery(selection, SUMMARY, group_by=("feature",))
    *_rest, sql = answers(store, query)
    assert "WITH selected AS MATERIALIZED" in sql[-1]
    staged = answers(store, query)[1]
    monkeypatch.setattr(queries, "_tags_last", lambda _selection: False)
    *_rest, sql = answers(store, query)
    assert "selected" not in sql[-1]
    assert_same_answers(staged, answers(store, query)[1])


def test_the_rollups_are_what_answers(store: DuckDBEventStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planner, "EXACT_PERCENTILES_UP_TO", 0)
    *_rest, sql = answers(store, AggregateQuery(UNALIGNED, SUMMARY))
    assert "FROM usage_hourly " in sql[0] and "FROM events " in sql[0]  # edges: the partial hours
    assert "FROM latency_hourly " in sql[1]
    *_rest, sql = answers(store, AggregateQuery(ALIGNED, BREAKDOWN, group_by=("model",)))
    assert sql == [sql[0]] and "FROM usage_hourly " in sql[0] and "FROM events " not in sql[0]
    *_rest, sql = answers(store, AggregateQuery(UNALIGNED, PERFORMANCE, group_by=("model",)))
    assert "FROM latency_daily " in sql[1]
    *_rest, sql = answers(store, AggregateQuery(UNALIGNED, BREAKDOWN, group_by=("tag.region",)))
    assert "FROM usage_hourly_tagged " in sql[0]


def test_which_source_answers() -> None:
    def summary(selection: Selection = UNALIGNED, **changes: Any) -> AggregateQuery:
        return dataclasses.replace(AggregateQuery(selection, ("requests", "latency_p95_ms")), **changes)

    assert sums_source(summary()) is not None
    # Users, end users and prompts are not rollup dimensions (too many values per hour).
    assert sums_source(summary(dataclasses.replace(UNALIGNED, users=("alice",)))) is None
    assert sums_source(summary(group_by=("end_user",))) is None
    assert sums_source(summary(group_by=("prompt_hash",), not_null="prompt_hash")) is None
    # A range inside one hour has no whole hour to read.
    inside = dataclasses.replace(
        UNALIGNED, start=datetime(2026, 10, 21, 10, 5), end=datetime(2026, 10, 21, 10, 55)
    )
    assert sums_source(summary(inside)) is None
    # Local days of +05:30 are not made of UTC hours; its summaries still are.
    daily = {"group_by": (TIME_BUCKET,), "interval": "day"}
    assert sums_source(summary(local=KOLKATA, **daily)) is None
    assert sums_source(summary(local=KOLKATA)) is not None
    assert sums_source(summary(local=BERLIN, **daily)) is not None
    # Percentiles by local days of Berlin: hourly histograms (no dimension); by model: daily ones, UTC only.
    berlin = histogram_source(summary(local=BERLIN, **daily))
    assert berlin is not None and berlin.rollup is not None and berlin.rollup.table == "latency_hourly"
    assert histogram_source(summary(local=BERLIN, group_by=(TIME_BUCKET, "model"), interval="day")) is None
    by_model = histogram_source(summary(group_by=(TIME_BUCKET, "model"), interval="day"))
    assert by_model is not None and by_model.rollup is not None and by_model.rollup.table == "latency_daily"
    assert histogram_source(summary(dataclasses.replace(UNALIGNED, tags=(("env", ("prod",)),)))) is None


def test_hours_of_the_day_clocks_go_back_stay_two_buckets(store: DuckDBEventStore) -> None:
    selection = Selection(org_id=ORG, start=datetime(2026, 10, 24, 22), end=datetime(2026, 10, 25, 3))
    local = _local("Europe/Berlin", selection)
    query = AggregateQuery(
        selection, ("requests", "cost_usd"), group_by=(TIME_BUCKET,), interval="hour", local=local
    )
    with_rollups, from_events, sql = answers(store, query)
    assert "usage_hourly" in sql[0]
    assert_same_answers(with_rollups, from_events)
    # 02:00 local twice: once at +02:00 (00:00 UTC), once at +01:00 (01:00 UTC).
    repeated = [(row["g0"].hour, row["g0_offset"]) for row in with_rollups if row["g0"].hour == 2]
    assert sorted(repeated, reverse=True) == [(2, 7200), (2, 3600)]


def _summary_of(store: DuckDBEventStore, org: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    selection = Selection(org_id=org, start=FIRST, end=FIRST + timedelta(days=DAYS))
    with_rollups, from_events, sql = answers(store, AggregateQuery(selection, BREAKDOWN, group_by=("model",)))
    assert "usage_hourly" in sql[0]
    return with_rollups, from_events


def test_duplicates_are_not_counted_twice(tmp_path: Path) -> None:
    store = DuckDBEventStore(f"duckdb:///{tmp_path / 'e.duckdb'}")
    events = events_table(random_events(300, ORG, seed=3))
    assert store.append(events).accepted == 300
    assert store.append(events).duplicates == 300  # a retry of the same batch
    assert store.append(events.slice(0, 10)).duplicates == 10
    with_rollups, from_events = _summary_of(store, ORG)
    assert sum(row["requests"] for row in with_rollups) == 300
    assert_same_answers(with_rollups, from_events)
    store.close()


def test_repricing_rebuilds_the_hours_it_changed(tmp_path: Path) -> None:
    store = DuckDBEventStore(f"duckdb:///{tmp_path / 'e.duckdb'}")
    columns = random_events(800, ORG, seed=4)
    store.append(events_table(columns))
    store.append(events_table(random_events(200, OTHER, seed=5)))
    before, _events = _summary_of(store, ORG)
    repriced = columns["event_id"][::3]
    costs = pa.table(
        {
            "event_id": repriced,
            "cost_usd": [1.5] * len(repriced),
            "billed_cost_usd": [2.0] * len(repriced),
            "price_source": ["override"] * len(repriced),
        }
    )
    assert store.update_costs(ORG, costs) == len(repriced)
    # The other organisation's events of the same ids (none here) and hours are untouched.
    assert store.update_costs(OTHER, costs) == 0
    with_rollups, from_events = _summary_of(store, ORG)
    assert_same_answers(with_rollups, from_events)
    assert sum(r["cost_usd"] for r in with_rollups) > sum(r["cost_usd"] or 0 for r in before) + 100
    other_rollups, other_events = _summary_of(store, OTHER)
    assert_same_answers(other_rollups, other_events)
    store.close()


def test_a_file_without_rollups_gets_them_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    store = DuckDBEventStore(f"duckdb:///{path}")
    store.append(events_table(random_events(500, ORG, seed=6)))
    store.close()
    # As an events file written before rollups existed: no rollup tables, no version.
    con = duckdb.connect(str(path))
    for rollup in ROLLUPS:
        con.execute(f"DROP TABLE {rollup.table}")
    con.execute("DROP TABLE rollup_version")
    con.close()
    store = DuckDBEventStore(f"duckdb:///{path}")
    with_rollups, from_events = _summary_of(store, ORG)
    assert sum(row["requests"] for row in with_rollups) == 500
    assert_same_answers(with_rollups, from_events)
    store.close()


def test_a_file_of_rollup_version_3_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "v3.duckdb"
    store = DuckDBEventStore(f"duckdb:///{path}")
    store.append(events_table(random_events(300, ORG, seed=13)))
    store.close()
    # Version 3 kept the pending events in a table of their own, and had no watermark.
    con = duckdb.connect(str(path))
    con.execute(f"DROP VIEW {PENDING}")
    con.execute("DROP TABLE rollup_watermark")
    con.execute(f"CREATE TABLE {PENDING} AS SELECT org_id, ts FROM events LIMIT 0")
    con.execute("UPDATE rollup_version SET version = 3")
    con.close()
    store = DuckDBEventStore(f"duckdb:///{path}")
    store.append(events_table(random_events(20, ORG, seed=14)))
    assert _count(store, f"SELECT count(*) FROM {PENDING}") in (0, 20)  # a view now (folded or not)
    with_rollups, from_events = _summary_of(store, ORG)
    assert sum(row["requests"] for row in with_rollups) == 320
    assert_same_answers(with_rollups, from_events)
    store.close()


def test_each_commit_is_stamped_later_than_the_last(tmp_path: Path) -> None:
    """`ingested_at` is the rollups' watermark: every commit's events are stamped after the last."""
    path = tmp_path / "e.duckdb"
    DuckDBEventStore(f"duckdb:///{path}").close()
    future = events_table(random_events(10, ORG, seed=15))
    stamps = pa.array([datetime(2100, 1, 1)] * 10, type=pa.timestamp("us"))
    con = duckdb.connect(str(path))
    future = future.set_column(future.schema.get_field_index("ingested_at"), "ingested_at", stamps)
    con.register("future", future)
    con.execute("INSERT INTO events BY NAME SELECT * FROM future")
    con.close()
    # Whatever the clock says, the next stamps follow the newest stored one.
    store = DuckDBEventStore(f"duckdb:///{path}")
    for seed in range(16, 19):
        store.append(events_table(random_events(5, ORG, seed=seed)))
    stamped = [row[0] for row in store.fetch("SELECT DISTINCT ingested_at FROM events ORDER BY 1")]
    assert len(stamped) == 4 and stamped[0] >= datetime(2100, 1, 1)
    with_rollups, from_events = _summary_of(store, ORG)
    assert sum(row["requests"] for row in with_rollups) == 25
    assert_same_answers(with_rollups, from_events)
    store.close()


def test_events_written_without_the_rollups_are_noticed(tmp_path: Path) -> None:
    path = tmp_path / "e.duckdb"
    store = DuckDBEventStore(f"duckdb:///{path}")
    store.append(events_table(random_events(400, ORG, seed=7)))
    store.close()
    # A version without rollups appended to the file meanwhile.
    con = duckdb.connect(str(path))
    later = events_table(random_events(100, ORG, seed=8))
    con.register("later", later)
    con.execute("INSERT INTO events BY NAME SELECT * FROM later")
    con.close()
    store = DuckDBEventStore(f"duckdb:///{path}")
    with_rollups, from_events = _summary_of(store, ORG)
    assert sum(row["requests"] for row in with_rollups) == 500
    assert_same_answers(with_rollups, from_events)
    store.close()


def _concentrated_events(count: int, seed: int) -> pa.Table:
    """Events in two hours with few combinations: every hour's keys get rows from many appends."""
    columns = random_events(count, ORG, seed=seed)
    columns["ts"] = [FIRST + timedelta(seconds=7200 * i // count) for i in range(count)]
    for name in ("project_id", "api_key_id", "provider", "model", "request_type", "team", "feature"):
        columns[name] = [columns[name][0]] * count
    return events_table(columns)


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert condition()


def _count(store: DuckDBEventStore, sql: str) -> int:
    return int(store.fetch(sql)[0][0])


def test_pending_events_are_read_until_folded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing folds while appending…
    monkeypatch.setattr(duckdb_rollups, "IDLE_FOLD_SECONDS", 3600.0)
    monkeypatch.setattr(duckdb_rollups, "FOLD_SECONDS", 3600.0)
    store = DuckDBEventStore(f"duckdb:///{tmp_path / 'e.duckdb'}")
    table = _concentrated_events(600, seed=9)
    for start in range(0, 600, 20):
        store.append(table.slice(start, 20))
    assert _count(store, f"SELECT count(*) FROM {PENDING}") == 600
    assert _count(store, "SELECT count(*) FROM usage_hourly") == 0
    assert store.rollups_pending == PENDING
    with_rollups, from_events = _summary_of(store, ORG)  # answered from the pending events
    assert sum(row["requests"] for row in with_rollups) == 600
    assert_same_answers(with_rollups, from_events)
    # …then the writer folds them when idle.
    monkeypatch.setattr(duckdb_rollups, "IDLE_FOLD_SECONDS", 0.01)
    _wait_for(lambda: _count(store, f"SELECT count(*) FROM {PENDING}") == 0)
    _wait_for(lambda: store.rollups_pending is None)  # then queries skip the empty table
    folded, _events = _summary_of(store, ORG)
    assert_same_answers(folded, from_events)
    store.close()
    # Pending events survive a restart (they are stored in the append's transaction).
    monkeypatch.setattr(duckdb_rollups, "IDLE_FOLD_SECONDS", 3600.0)
    store = DuckDBEventStore(f"duckdb:///{tmp_path / 'e.duckdb'}")
    store.append(events_table(random_events(50, ORG, seed=11)))
    store.close()  # folds on close…
    con = duckdb.connect(str(tmp_path / "e.duckdb"))
    more = events_table(random_events(30, ORG, seed=12))
    stamps = pa.array([datetime(2100, 1, 1)] * more.num_rows, type=pa.timestamp("us"))
    con.register("more", more.set_column(more.schema.get_field_index("ingested_at"), "ingested_at", stamps))
    con.execute("INSERT INTO events BY NAME SELECT * FROM more")  # …as if the server had crashed
    assert int(con.execute(f"SELECT count(*) FROM {PENDING}").fetchall()[0][0]) == 30  # before folding
    con.close()
    store = DuckDBEventStore(f"duckdb:///{tmp_path / 'e.duckdb'}")
    with_rollups, from_events = _summary_of(store, ORG)
    assert sum(row["requests"] for row in with_rollups) == 680
    assert_same_answers(with_rollups, from_events)
    store.close()


def test_folds_beside_appends_lose_and_double_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rollup thread folds while the writer appends: every event is counted exactly once."""
    monkeypatch.setattr(duckdb_rollups, "FOLD_ROWS", 30)
    monkeypatch.setattr(duckdb_rollups, "TICK_SECONDS", 0.001)
    store = DuckDBEventStore(f"duckdb:///{tmp_path / 'e.duckdb'}")
    table = _concentrated_events(3000, seed=21)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda start: store.append(table.slice(start, 25)), range(0, 3000, 25)))
    folds = _count(store, "SELECT count(*) FROM usage_hourly")
    assert folds > 1  # the thread folded while the appends ran
    with_rollups, from_events = _summary_of(store, ORG)
    assert sum(row["requests"] for row in with_rollups) == 3000
    assert_same_answers(with_rollups, from_events)
    _wait_for(lambda: store.rollups_pending is None)  # everything folded in the end
    assert _count(store, "SELECT sum(requests) FROM usage_hourly") == 3000
    store.close()


def test_partial_rows_are_merged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every append folds at once (partial rows), nothing merges…
    monkeypatch.setattr(duckdb_rollups, "FOLD_ROWS", 1)
    monkeypatch.setattr(duckdb_rollups, "MERGE_SECONDS", 3600.0)
    monkeypatch.setattr(duckdb_rollups, "IDLE_MERGE_SECONDS", 3600.0)
    store = DuckDBEventStore(f"duckdb:///{tmp_path / 'e.duckdb'}")
    table = _concentrated_events(600, seed=9)
    for start in range(0, 600, 20):
        store.append(table.slice(start, 20))
    keys = ", ".join(f'"{k}"' for k in USAGE_HOURLY.keys)
    distinct = f"SELECT count(*) FROM (SELECT DISTINCT {keys} FROM usage_hourly)"
    rows = "SELECT count(*) FROM usage_hourly"
    _wait_for(lambda: _count(store, f"SELECT count(*) FROM {PENDING}") == 0)
    assert _count(store, rows) > _count(store, distinct)
    with_rollups, from_events = _summary_of(store, ORG)
    assert_same_answers(with_rollups, from_events)
    # …then the writer merges them when idle.
    monkeypatch.setattr(duckdb_rollups, "IDLE_MERGE_SECONDS", 0.01)
    _wait_for(lambda: _count(store, rows) == _count(store, distinct))
    merged, _events = _summary_of(store, ORG)
    assert_same_answers(merged, from_events)
    store.close()


def test_histogram_percentiles_are_within_one_percent_of_numpy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(planner, "EXACT_PERCENTILES_UP_TO", 0)
    store = DuckDBEventStore(f"duckdb:///{tmp_path / 'e.duckdb'}")
    columns = random_events(3000, ORG, seed=10)
    store.append(events_table(columns))
    selection = Selection(org_id=ORG, start=FIRST, end=FIRST + timedelta(days=DAYS))
    [row] = answers(store, AggregateQuery(selection, ("latency_quantiles", "ttft_quantiles")))[0]
    latency = np.array([v for v in columns["latency_ms"] if v is not None])
    ttft = np.array([v for v in columns["time_to_first_token_ms"] if v is not None])
    for value, q in zip(row["latency_quantiles"], (50, 90, 95, 99), strict=True):
        assert value == pytest.approx(np.percentile(latency, q), rel=LATENCY_RELATIVE_ERROR)
    for value, q in zip(row["ttft_quantiles"], (50, 95), strict=True):
        assert value == pytest.approx(np.percentile(ttft, q), rel=LATENCY_RELATIVE_ERROR)
    store.close()


@pytest.mark.parametrize(("name", "query"), QUERIES[:9], ids=[name for name, _q in QUERIES[:9]])
def test_rollup_queries_compile_for_clickhouse(name: str, query: AggregateQuery) -> None:
    source = sums_source(query, PENDING)
    assert source is not None
    wanted = tuple(m for m in query.metrics if m not in PERCENTILES)
    house = compile_query(dataclasses.replace(query, metrics=wanted), "clickhouse", source)
    assert "$" not in house.sql
    sqlglot.parse_one(house.sql, read="clickhouse")
    percentiles = tuple(m for m in query.metrics if m in PERCENTILES)
    histograms = histogram_source(query, PENDING)
    if percentiles and histograms is not None and query.top is None:
        house = compile_percentiles(
            dataclasses.replace(query, metrics=percentiles, order_by=None, share_of=None, limit=None),
            histograms,
            "clickhouse",
        )
        sqlglot.parse_one(house.sql, read="clickhouse")
