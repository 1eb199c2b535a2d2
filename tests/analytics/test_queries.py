"""One query description, compiled for DuckDB (run here) and for ClickHouse (checked as text)."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
import sqlglot

from tokenoptimizer.analytics.periods import local_time, resolve_bound
from tokenoptimizer.analytics.queries import (
    LOCAL_HOUR,
    LOCAL_WEEKDAY,
    TIME_BUCKET,
    AggregateQuery,
    LocalTime,
    Selection,
    compile_query,
)

SELECTION = Selection(
    org_id="org-1",
    start=datetime(2026, 10, 1),
    end=datetime(2026, 11, 1),
    models=("gpt-4o", "o'brien"),
    users=("alice",),
    tags=(("env", ("prod", "dev")),),
)
BERLIN = LocalTime(offsets=(7200, 3600), changes=(datetime(2026, 10, 25, 1),))
QUERIES = [
    AggregateQuery(SELECTION, ("requests", "cost_usd", "errors", "latency_p95_ms")),
    AggregateQuery(
        SELECTION,
        ("cost_usd",),
        group_by=(TIME_BUCKET, "model"),
        interval="hour",
        local=BERLIN,
        top_keys=("gpt-4o", None),
    ),
    AggregateQuery(
        SELECTION,
        ("cost_usd", "requests"),
        group_by=(TIME_BUCKET, "tag.team"),
        interval="day",
        local=BERLIN,
        top=3,
        rank_by="cost_usd",
    ),
    AggregateQuery(SELECTION, ("requests", "latency_quantiles", "ttft_quantiles"), group_by=("model",)),
    AggregateQuery(
        SELECTION,
        ("requests", "cost_usd"),
        group_by=("tag.team",),
        order_by="cost_usd",
        share_of="cost_usd",
        limit=5,
    ),
    AggregateQuery(SELECTION, ("requests",), group_by=(LOCAL_WEEKDAY, LOCAL_HOUR), local=BERLIN),
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_same_description_compiles_for_clickhouse(query: AggregateQuery) -> None:
    duck = compile_query(query, "duckdb")
    house = compile_query(query, "clickhouse")
    assert duck.params == house.params  # one parameter list, whatever the dialect
    assert "o'brien" not in duck.sql and "o'brien" not in house.sql  # values travel as parameters
    # DuckDB numbers its placeholders; ClickHouse names and types them.
    assert set(re.findall(r"\$(\d+)", duck.sql)) == {str(i + 1) for i in range(len(duck.params))}
    assert "$" not in house.sql
    typed = dict(re.findall(r"\{p(\d+):([^}]+)\}", house.sql))
    assert typed == {
        str(i + 1): "DateTime64(6)" if isinstance(v, datetime) else "String"
        for i, v in enumerate(house.params)
    }
    if "latency_quantiles" in query.metrics:
        assert "QUANTILE_CONT(latency_ms, [0.5, 0.9, 0.95, 0.99])" in duck.sql
        assert "quantilesExactInclusive(0.5, 0.9, 0.95, 0.99)(latency_ms)" in house.sql
    if "latency_p95_ms" in query.metrics:
        assert "QUANTILE_CONT(latency_ms, 0.95)" in duck.sql
        assert "quantileExactInclusive(0.95)(latency_ms)" in house.sql
    if query.top is not None:
        assert "AS MATERIALIZED (" in duck.sql and "MATERIALIZED" not in house.sql
    # The ClickHouse text parses as ClickHouse, placeholders included (SQLGlot's parser does not know
    # the parametric quantilesExactInclusive(…)(…), so that one call is swapped for one it knows).
    sqlglot.parse_one(house.sql.replace("quantilesExactInclusive", "quantiles"), read="clickhouse")
    assert " FROM events WHERE org_id = {p" in house.sql


def test_unknown_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown metrics: happiness"):
        compile_query(AggregateQuery(SELECTION, ("happiness",)))


def test_offsets_change_where_the_zone_changes() -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Berlin")
    start = resolve_bound(datetime(2026, 3, 1), zone, is_end=False)
    end = resolve_bound(datetime(2026, 12, 1), zone, is_end=False)
    assert local_time(zone, start, end) == LocalTime(
        offsets=(3600, 7200, 3600), changes=(datetime(2026, 3, 29, 1), datetime(2026, 10, 25, 1))
    )
    kolkata = ZoneInfo("Asia/Kolkata")
    assert local_time(kolkata, start, end) == LocalTime(offsets=(19800,), changes=())
