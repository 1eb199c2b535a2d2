"""Rollups: partial aggregates of the events, kept exactly up to date by the event store.

A dashboard question over 30 days of a busy organisation reads millions of events; the same
question over hourly sums reads a few hundred thousand rows (DESIGN.md §6: even DuckDB needs
~100 ms for ten sums over 3.3M rows on two cores). So the store keeps, next to `events`:

* `usage_hourly`: per organisation, UTC hour and combination of the dimensions in `DIMENSIONS`,
  the sums of `SUMS` (requests, errors, tokens, costs, latency sum and count, impact…);
* `usage_hourly_tagged`: the same, with the event's whole `tags` map as one more key, for questions
  that filter or group by a tag (larger: tags multiply the combinations);
* `latency_hourly`: per organisation, UTC hour and logarithmic bin, how many latencies and times
  to first token fell in the bin. Bins are `(γ^(b-1), γ^b]` with γ = `LATENCY_GAMMA`, so a bin's
  representative value `2γ^b / (γ + 1)` is within `LATENCY_RELATIVE_ERROR` (1 %) of every value in
  it, and percentiles interpolated between representatives are within 1 % too;
* `latency_daily`: the same per UTC day and combination of `DIMENSIONS`, for percentiles by a
  dimension or of filtered calls. Days, not hours: keyed by the dimensions, a histogram of an hour
  is so sparse at 5k events an hour that it has about as many rows as the events it summarises.

Every rollup column is the SUM of a per-event value (`requests` sums `1`), so partial rows of the
same key add up, and one event projected to a rollup row (`requests` = 1, `cost_usd` its cost…)
is a partial row too: rollups grow by inserting the aggregates of new events (never of
duplicates, which are not stored), readers always `GROUP BY`, and the partial rows of a slot are
merged from time to time (`compact_sql`). How the DuckDB store keeps them: `duckdb_rollups`.

The definitions here are the single description of the rollups: the DuckDB store builds its DDL
and maintenance SQL from them, and the analytics query builder (`analytics.queries`) parses the
same per-event expressions with SQLGlot to read rollups in any dialect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

ROLLUP_VERSION = 4
"""Bump when a definition below changes: stores rebuild their rollups from the events on open."""

LATENCY_GAMMA = 1.02
"""Ratio between consecutive latency bins' bounds."""

LATENCY_RELATIVE_ERROR = (LATENCY_GAMMA - 1) / (LATENCY_GAMMA + 1)
"""Largest relative error of a percentile read from the histograms (0.99 %)."""

ZERO_BIN = -32768
"""The bin of values ≤ 0 (represented by 0)."""

_LN_GAMMA = repr(math.log(LATENCY_GAMMA))


def bin_sql(value: str) -> str:
    """The logarithmic bin of a value, as an SQL expression (the same text in DuckDB and ClickHouse)."""
    return f"CASE WHEN {value} > 0 THEN CAST(CEIL(LN({value}) / {_LN_GAMMA}) AS INTEGER) ELSE {ZERO_BIN} END"


DIMENSIONS: tuple[str, ...] = (
    "project_id",
    "api_key_id",
    "provider",
    "model",
    "request_type",
    "status",
    "error_type",
    "team",
    "feature",
)
"""Event columns every rollup is keyed by (besides org and time). `user`, `end_user` and
`prompt_hash` are not: with the demo's 150 users, an hourly rollup keyed by user has 3.8× the
rows of one without (a third of the events at 1M), so those questions read the events."""

TAGS = "tags"


@dataclass(frozen=True)
class Measure:
    """A rollup column: the SUM of a per-event value.

    `kind` says what the value is: `one` (1, so the sum counts events), `column` (the event
    column's value), `present` (1 when the column is set) or `equals` (1 when it equals `value`).
    """

    name: str
    kind: Literal["one", "column", "present", "equals"]
    column: str = ""
    value: str = ""
    sql_type: str = "BIGINT"

    @property
    def sql(self) -> str:
        """The per-event value as an SQL expression."""
        if self.kind == "one":
            return "1"
        if self.kind == "column":
            return self.column
        if self.kind == "present":
            return f"CASE WHEN {self.column} IS NULL THEN 0 ELSE 1 END"
        return f"CASE WHEN {self.column} = '{self.value}' THEN 1 ELSE 0 END"


SUMS: tuple[Measure, ...] = (
    Measure("requests", "one"),
    Measure("errors", "equals", "status", "error"),
    Measure("input_tokens", "column", "input_tokens"),
    Measure("output_tokens", "column", "output_tokens"),
    Measure("cache_read_tokens", "column", "cache_read_tokens"),
    Measure("cache_write_tokens", "column", "cache_write_tokens"),
    Measure("reasoning_tokens", "column", "reasoning_tokens"),
    Measure("cost_usd", "column", "cost_usd", sql_type="DOUBLE"),
    Measure("billed_cost_usd", "column", "billed_cost_usd", sql_type="DOUBLE"),
    Measure("latency_sum_ms", "column", "latency_ms", sql_type="DOUBLE"),
    Measure("latency_count", "present", "latency_ms"),
    Measure("ttft_count", "present", "time_to_first_token_ms"),
    Measure("energy_kwh", "column", "energy_kwh", sql_type="DOUBLE"),
    Measure("co2e_kg", "column", "co2e_kg", sql_type="DOUBLE"),
    Measure("water_l", "column", "water_l", sql_type="DOUBLE"),
    Measure("impact_count", "present", "co2e_kg"),
)
"""The sums of the usage rollups."""

COST_COLUMNS = frozenset({"cost_usd", "billed_cost_usd"})
"""Rollup columns that depend on prices (re-pricing rebuilds the rollups holding them)."""

HISTOGRAMS: tuple[tuple[str, str], ...] = (
    ("latency_n", "latency_ms"),
    ("ttft_n", "time_to_first_token_ms"),
)
"""(count column, binned event column) of the latency histograms."""

BIN = "bin"


@dataclass(frozen=True)
class Rollup:
    """One rollup table."""

    table: str
    grain: Literal["hour", "day"]
    """The time slot of a row (UTC); also the name of its time column."""
    dimensions: tuple[str, ...]
    sums: tuple[Measure, ...] = ()
    histograms: tuple[tuple[str, str], ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """The key columns of a row: organisation, time slot, dimensions (and bin)."""
        return ("org_id", self.grain, *self.dimensions, *((BIN,) if self.histograms else ()))

    @property
    def has_costs(self) -> bool:
        """Whether re-pricing changes this rollup."""
        return any(measure.name in COST_COLUMNS for measure in self.sums)


USAGE_HOURLY = Rollup("usage_hourly", "hour", DIMENSIONS, sums=SUMS)
USAGE_HOURLY_TAGGED = Rollup("usage_hourly_tagged", "hour", (*DIMENSIONS, TAGS), sums=SUMS)
LATENCY_HOURLY = Rollup("latency_hourly", "hour", (), histograms=HISTOGRAMS)
LATENCY_DAILY = Rollup("latency_daily", "day", DIMENSIONS, histograms=HISTOGRAMS)

ROLLUPS: tuple[Rollup, ...] = (USAGE_HOURLY, USAGE_HOURLY_TAGGED, LATENCY_HOURLY, LATENCY_DAILY)
"""Every rollup, the smallest of each kind first (readers take the first that has their columns)."""


# -- DuckDB maintenance ----------------------------------------------------------------------------


def _quoted(name: str) -> str:
    return f'"{name}"'


def create_sql(rollup: Rollup) -> str:
    """`CREATE TABLE` of a rollup."""
    columns = ["org_id VARCHAR NOT NULL", f"{rollup.grain} TIMESTAMP NOT NULL"]
    columns += [
        f"{_quoted(name)} MAP(VARCHAR, VARCHAR)" if name == TAGS else f"{_quoted(name)} VARCHAR"
        for name in rollup.dimensions
    ]
    if rollup.histograms:
        columns.append(f"{BIN} INTEGER NOT NULL")
        columns += [f"{name} BIGINT NOT NULL" for name, _value in rollup.histograms]
    columns += [f"{measure.name} {measure.sql_type}" for measure in rollup.sums]
    return f"CREATE TABLE IF NOT EXISTS {rollup.table} (\n  " + ",\n  ".join(columns) + "\n)"


def _key_select(rollup: Rollup) -> list[str]:
    return ["org_id", f"date_trunc('{rollup.grain}', ts) AS {rollup.grain}"] + [
        _quoted(name) for name in rollup.dimensions
    ]


def aggregate_sql(rollup: Rollup, source: str, where: str = "TRUE") -> str:
    """The rollup rows of the events in `source` (a table or view) matching `where`."""
    keys = ", ".join(_key_select(rollup))
    if not rollup.histograms:
        sums = ", ".join(f"CAST(SUM({m.sql}) AS {m.sql_type}) AS {m.name}" for m in rollup.sums)
        return f"SELECT {keys}, {sums} FROM {source} WHERE {where} GROUP BY ALL"
    parts = []
    for name, column in rollup.histograms:
        counts = ", ".join(f"{1 if other == name else 0} AS {other}" for other, _column in rollup.histograms)
        parts.append(
            f"SELECT {keys}, {bin_sql(column)} AS {BIN}, {counts} FROM {source} "
            f"WHERE ({where}) AND {column} IS NOT NULL"
        )
    sums = ", ".join(f"CAST(SUM({name}) AS BIGINT) AS {name}" for name, _column in rollup.histograms)
    outer = ", ".join(["org_id", rollup.grain, *map(_quoted, rollup.dimensions), BIN])
    return f"SELECT {outer}, {sums} FROM ({' UNION ALL '.join(parts)}) GROUP BY ALL"


def insert_sql(rollup: Rollup, source: str, where: str = "TRUE", *, ordered: bool = False) -> str:
    """Add the rollup rows of the events in `source` matching `where` to the rollup table.

    `ordered` stores them in (org, time) order, which keeps DuckDB's zone maps tight (for a build).
    """
    rows = aggregate_sql(rollup, source, where)
    if ordered:
        rows = f"SELECT * FROM ({rows}) ORDER BY org_id, {rollup.grain}"
    return f"INSERT INTO {rollup.table} BY NAME {rows}"


def compact_sql(rollup: Rollup) -> list[str]:
    """Statements merging the partial rows of the slots listed in the temp table `compact_slots`."""
    keys = ", ".join(_quoted(name) if name in rollup.dimensions else name for name in rollup.keys)
    measures = [measure.name for measure in rollup.sums] + [name for name, _c in rollup.histograms]
    sums = ", ".join(f"SUM({name}) AS {name}" for name in measures)
    in_slots = f"{rollup.grain} IN (SELECT slot FROM compact_slots)"
    return [
        f"CREATE OR REPLACE TEMP TABLE compacted AS SELECT {keys}, {sums} "
        f"FROM {rollup.table} WHERE {in_slots} GROUP BY ALL",
        f"DELETE FROM {rollup.table} WHERE {in_slots}",
        f"INSERT INTO {rollup.table} BY NAME SELECT * FROM compacted",
        "DROP TABLE compacted",
    ]


# -- events not folded yet -------------------------------------------------------------------------

PENDING = "events_pending"
"""The DuckDB store's events appended but not yet folded into the rollups (read with them): a view
of the events stored after the watermark."""

WATERMARK = "rollup_watermark"
"""One row, `folded_through`: the `ingested_at` of the newest event folded into the rollups. The
store stamps `ingested_at` itself, increasing with every commit, so the events after it are
exactly the ones not folded yet."""


def _pending_columns() -> tuple[str, ...]:
    measured = [m.column for m in SUMS if m.column] + [column for _name, column in HISTOGRAMS]
    return tuple(dict.fromkeys(["org_id", "ts", *DIMENSIONS, TAGS, *measured]))


PENDING_COLUMNS = _pending_columns()
"""The event columns the rollups read: all `events_pending` shows of an event."""


def pending_create_sql() -> str:
    """`CREATE VIEW` of `events_pending`.

    DuckDB turns the watermark's subquery into a filter on the scan of `ingested_at`, so reading
    the view skips every row group older than the watermark (one or two row groups are read).
    """
    columns = ", ".join(_quoted(name) for name in PENDING_COLUMNS)
    return (
        f"CREATE OR REPLACE VIEW {PENDING} AS SELECT {columns} FROM events "
        f"WHERE ingested_at > (SELECT folded_through FROM {WATERMARK})"
    )
