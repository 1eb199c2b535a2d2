"""Every analytics query, described once and compiled for each event store's SQL dialect.

An `AggregateQuery` says *what* to compute — which events (`Selection`), which metrics, grouped by
which dimensions or local-time buckets, in which order — and `compile_query` turns it into SQL with
SQLGlot: the DuckDB dialect for the default store today, the ClickHouse dialect for the scale-out
store (DESIGN.md §5). No other module writes analytics SQL.

Local time without time-zone functions: the organisation's UTC offset can only change at a few
known instants inside a query window (daylight-saving transitions), so the service passes those
instants and offsets (`LocalTime`) and local time is `ts + CASE WHEN ts < t1 THEN o0 … END`. That
is plain arithmetic in every dialect, and vectorises as well as `ts` itself, where a per-row
time-zone lookup would cost more than the rest of the query. Hourly buckets carry the offset, so the
repeated hour when clocks go back stays two buckets.

Values never enter the SQL text: each is a numbered placeholder (`$1` for DuckDB, `{p1:Type}` for
ClickHouse) and travels in the parameter list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlglot import exp
from sqlglot.dialects.clickhouse import ClickHouse
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.generator import Generator

Interval = Literal["hour", "day", "week", "month"]
INTERVALS: tuple[Interval, ...] = ("hour", "day", "week", "month")

DIMENSION_COLUMNS: dict[str, str] = {
    "model": "model",
    "provider": "provider",
    "feature": "feature",
    "project": "project_id",
    "user": "user",
    "end_user": "end_user",
    "team": "team",
    "api_key": "api_key_id",
    "status": "status",
    "error_type": "error_type",
    "request_type": "request_type",
    "prompt_hash": "prompt_hash",
}
"""Dimensions a query may group by (besides `tag.<key>`), and the event column of each."""

TAG_PREFIX = "tag."
TIME_BUCKET = "time"
LOCAL_WEEKDAY = "weekday"
LOCAL_HOUR = "hour_of_day"


def is_dimension(name: str) -> bool:
    """Whether `name` is a dimension: a known one, or `tag.<key>` with a non-empty key."""
    return name in DIMENSION_COLUMNS or (name.startswith(TAG_PREFIX) and len(name) > len(TAG_PREFIX))


# -- what to select --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Which events: always one organisation and a time range, optionally narrowed.

    Several values of one filter mean OR; different filters (and different tag keys) mean AND.
    `start` and `end` are naive UTC (`end` exclusive), like the stored `ts`.
    """

    org_id: str
    start: datetime
    end: datetime
    project_ids: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    end_users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    api_key_ids: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    tags: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def shifted(self, start: datetime, end: datetime) -> Selection:
        """The same filters over another time range (e.g. the previous period)."""
        return Selection(
            org_id=self.org_id,
            start=start,
            end=end,
            project_ids=self.project_ids,
            providers=self.providers,
            models=self.models,
            features=self.features,
            users=self.users,
            end_users=self.end_users,
            teams=self.teams,
            api_key_ids=self.api_key_ids,
            statuses=self.statuses,
            tags=self.tags,
        )


@dataclass(frozen=True)
class LocalTime:
    """The organisation's UTC offset over a query window.

    `offsets[0]` applies before `changes[0]`, `offsets[i]` from `changes[i - 1]` on (naive UTC).
    """

    offsets: tuple[int, ...] = (0,)
    changes: tuple[datetime, ...] = ()


# -- what to compute -------------------------------------------------------------------------------


def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=name == "user")


def _sum(name: str) -> exp.Expr:
    return exp.Sum(this=_col(name))


def _percentile(name: str, q: float) -> exp.Expr:
    return exp.PercentileCont(this=_col(name), expression=exp.Literal.number(q))


def _percentiles(name: str, *qs: float) -> exp.Expr:
    """Several percentiles of one column from one sort (a list), where one call each sorts each time."""
    return exp.PercentileCont(
        this=_col(name), expression=exp.Array(expressions=[exp.Literal.number(q) for q in qs])
    )


LATENCY_QUANTILES = (0.5, 0.9, 0.95, 0.99)
TTFT_QUANTILES = (0.5, 0.95)

METRICS: dict[str, Callable[[], exp.Expr]] = {
    "requests": lambda: exp.Count(this=exp.Star()),
    "errors": lambda: exp.CountIf(this=_col("status").eq(exp.Literal.string("error"))),
    "cost_usd": lambda: _sum("cost_usd"),
    "billed_cost_usd": lambda: _sum("billed_cost_usd"),
    "input_tokens": lambda: _sum("input_tokens"),
    "output_tokens": lambda: _sum("output_tokens"),
    "cache_read_tokens": lambda: _sum("cache_read_tokens"),
    "cache_write_tokens": lambda: _sum("cache_write_tokens"),
    "reasoning_tokens": lambda: _sum("reasoning_tokens"),
    "tokens": lambda: exp.Sum(this=exp.Add(this=_col("input_tokens"), expression=_col("output_tokens"))),
    "latency_avg_ms": lambda: exp.Avg(this=_col("latency_ms")),
    "latency_p50_ms": lambda: _percentile("latency_ms", 0.5),
    "latency_p90_ms": lambda: _percentile("latency_ms", 0.9),
    "latency_p95_ms": lambda: _percentile("latency_ms", 0.95),
    "latency_p99_ms": lambda: _percentile("latency_ms", 0.99),
    "ttft_p50_ms": lambda: _percentile("time_to_first_token_ms", 0.5),
    "ttft_p95_ms": lambda: _percentile("time_to_first_token_ms", 0.95),
    "latency_quantiles": lambda: _percentiles("latency_ms", *LATENCY_QUANTILES),
    "ttft_quantiles": lambda: _percentiles("time_to_first_token_ms", *TTFT_QUANTILES),
    "energy_kwh": lambda: _sum("energy_kwh"),
    "co2e_kg": lambda: _sum("co2e_kg"),
    "water_l": lambda: _sum("water_l"),
    "requests_with_impact": lambda: exp.Count(this=_col("co2e_kg")),
    "avg_input_tokens": lambda: exp.Avg(this=_col("input_tokens")),
    "avg_output_tokens": lambda: exp.Avg(this=_col("output_tokens")),
    "feature": lambda: exp.AnyValue(this=_col("feature")),
    "model": lambda: exp.AnyValue(this=_col("model")),
}
"""Aggregates by name. Ratios (error rate, average cost) are derived from these by the service."""

ADDITIVE = frozenset(
    {
        "requests",
        "errors",
        "cost_usd",
        "billed_cost_usd",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "tokens",
        "energy_kwh",
        "co2e_kg",
        "water_l",
    }
)
"""Metrics whose share of a total means something."""


@dataclass(frozen=True)
class AggregateQuery:
    """One aggregate query over the selected events.

    Attributes:
        selection: Which events.
        metrics: Names from `METRICS`; each becomes a column of that name.
        group_by: Dimensions (see `is_dimension`), `TIME_BUCKET` (then `interval` is required),
            `LOCAL_WEEKDAY` (1 = Monday … 7) or `LOCAL_HOUR` (0–23); each becomes a column `g<i>`.
            An hourly bucket also adds `g<i>_offset`, the UTC offset (seconds) of the bucket.
        interval: Width of the time bucket.
        local: The organisation's UTC offsets, for time buckets and local weekday/hour.
        top_keys: When set, the first dimension keeps these values and folds every other one into a
            single group whose key is null and `is_other` is true.
        order_by: A metric to sort groups by (descending unless `ascending`), then the key.
        share_of: A metric whose share of the total over all groups (before `limit`) is returned
            in a column `share`.
        limit: Largest number of groups.
        not_null: Only events where this dimension is set.
        top: With additive metrics only, grouped by a time bucket then one dimension: keep the `top`
            values of the dimension by total `rank_by` over the whole selection and fold the rest
            into one group (key null, `is_other` true), in one query; rows carry the value's
            `position` (1 = largest). The ranking runs on the grouped rows, not on the events.
        rank_by: The additive metric that ranks values for `top`.
    """

    selection: Selection
    metrics: tuple[str, ...]
    group_by: tuple[str, ...] = ()
    interval: Interval | None = None
    local: LocalTime = field(default_factory=LocalTime)
    top_keys: tuple[str | None, ...] | None = None
    order_by: str | None = None
    ascending: bool = False
    share_of: str | None = None
    limit: int | None = None
    not_null: str | None = None
    top: int | None = None
    rank_by: str | None = None


# -- compiling -------------------------------------------------------------------------------------


class _Params:
    """Collects values; hands out numbered placeholders typed for ClickHouse."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> exp.Placeholder:
        self.values.append(value)
        kind = "DateTime64(6)" if isinstance(value, datetime) else "String"
        return exp.Placeholder(
            this=str(len(self.values)), kind=exp.DataType.build(kind, dialect="clickhouse")
        )


def _dimension(name: str, params: _Params) -> exp.Expr:
    if name.startswith(TAG_PREFIX):
        return exp.Bracket(this=_col("tags"), expressions=[params.add(name[len(TAG_PREFIX) :])])
    return _col(DIMENSION_COLUMNS[name])


def _in(expression: exp.Expr, values: tuple[str, ...], params: _Params) -> exp.Expr:
    return exp.In(this=expression, expressions=[params.add(v) for v in values])


def _where(selection: Selection, params: _Params, not_null: str | None) -> exp.Expr:
    ts = _col("ts")
    conditions: list[exp.Expr] = [
        _col("org_id").eq(params.add(selection.org_id)),
        exp.GTE(this=ts, expression=params.add(selection.start)),
        exp.LT(this=ts, expression=params.add(selection.end)),
    ]
    for column, values in (
        ("project_id", selection.project_ids),
        ("provider", selection.providers),
        ("model", selection.models),
        ("feature", selection.features),
        ("user", selection.users),
        ("end_user", selection.end_users),
        ("team", selection.teams),
        ("api_key_id", selection.api_key_ids),
        ("status", selection.statuses),
    ):
        if values:
            conditions.append(_in(_col(column), values, params))
    for key, values in selection.tags:
        conditions.append(_in(_dimension(TAG_PREFIX + key, params), values, params))
    if not_null is not None:
        conditions.append(exp.Not(this=exp.Is(this=_dimension(not_null, params), expression=exp.Null())))
    return exp.and_(*conditions)


def _offset_seconds(local: LocalTime, params: _Params) -> exp.Expr:
    """The UTC offset in force at each event's `ts`, in seconds."""
    if not local.changes:
        return exp.Literal.number(local.offsets[0])
    ifs = [
        exp.If(
            this=exp.LT(this=_col("ts"), expression=params.add(change)),
            true=exp.Literal.number(offset),
        )
        for change, offset in zip(local.changes, local.offsets, strict=False)
    ]
    return exp.Case(ifs=ifs, default=exp.Literal.number(local.offsets[-1]))


def _local_ts(offset: exp.Expr) -> exp.Expr:
    if isinstance(offset, exp.Literal) and offset.to_py() == 0:
        return _col("ts")
    return exp.Add(this=_col("ts"), expression=exp.Interval(this=offset, unit=exp.var("SECOND")))


def _groupings(query: AggregateQuery, params: _Params) -> tuple[list[exp.Expr], exp.Expr | None]:
    """The SELECT expressions of the groupings, and the `is_other` flag when folding into "other"."""
    selected: list[exp.Expr] = []
    is_other: exp.Expr | None = None
    offset: exp.Expr | None = None
    for index, name in enumerate(query.group_by):
        alias = f"g{index}"
        if name in (TIME_BUCKET, LOCAL_WEEKDAY, LOCAL_HOUR):
            offset = offset if offset is not None else _offset_seconds(query.local, params)
            local = _local_ts(offset)
            if name == TIME_BUCKET:
                if query.interval is None:
                    raise ValueError("a time bucket needs an interval")
                unit = exp.var(query.interval.upper())
                selected.append(exp.alias_(exp.TimestampTrunc(this=local, unit=unit), alias))
                if query.interval == "hour":
                    # The repeated hour when clocks go back is two buckets, told apart by the offset.
                    selected.append(exp.alias_(offset.copy(), f"{alias}_offset"))
            elif name == LOCAL_WEEKDAY:
                selected.append(exp.alias_(exp.DayOfWeekIso(this=local), alias))
            else:
                selected.append(exp.alias_(exp.Extract(this=exp.var("HOUR"), expression=local), alias))
            continue
        key = _dimension(name, params)
        if query.top_keys is not None and is_other is None:
            listed = [v for v in query.top_keys if v is not None]
            kept: exp.Expr = (
                exp.Coalesce(this=_in(key.copy(), tuple(listed), params), expressions=[exp.false()])
                if listed
                else exp.false()
            )
            if None in query.top_keys:
                kept = exp.or_(kept, exp.Is(this=key.copy(), expression=exp.Null()))
            is_other = exp.Not(this=exp.paren(kept))
            key = exp.Case(ifs=[exp.If(this=exp.paren(kept.copy()), true=key)], default=exp.Null())
        selected.append(exp.alias_(key, alias))
    return selected, is_other


def _group_keys(selected: list[exp.Expr], is_other: exp.Expr | None) -> list[exp.Expr]:
    keys: list[exp.Expr] = [exp.column(e.alias) for e in selected]
    if is_other is not None:
        keys.append(exp.column("is_other"))
    return keys


def _fold_top(query: AggregateQuery, grouped: exp.Select, keys: list[exp.Expr]) -> exp.Select:
    """Rank the dimension (the last key) on the grouped rows, keep the top values, fold the rest.

    Inner columns get names of their own (`dimension_value`, `rank_position`): ClickHouse aliases
    are query-wide, so reusing `g1` or `position` for the folded outputs would make them cyclic.
    """
    if query.rank_by not in query.metrics or any(m not in ADDITIVE for m in query.metrics):
        raise ValueError("top needs additive metrics, rank_by among them")
    *buckets, dimension = [k.name for k in keys]
    total = exp.Window(
        this=exp.Sum(this=exp.column(query.rank_by)), partition_by=[exp.column(dimension)], over="OVER"
    )
    totals = exp.select(
        *[exp.column(name) for name in buckets],
        exp.alias_(exp.column(dimension), "dimension_value"),
        *[exp.column(m) for m in query.metrics],
        exp.alias_(total, "key_total"),
        copy=False,
    ).from_("grouped", copy=False)
    order = exp.Order(
        expressions=[
            exp.Ordered(this=exp.column("key_total"), desc=True, nulls_first=False),
            exp.Ordered(this=exp.column("dimension_value"), nulls_first=False),
        ]
    )
    ranked = exp.select(
        "*",
        exp.alias_(exp.Window(this=exp.DenseRank(), order=order, over="OVER"), "rank_position"),
        copy=False,
    ).from_(totals.subquery("totals", copy=False), copy=False)

    def kept() -> exp.Expr:
        return exp.LTE(this=exp.column("rank_position"), expression=exp.Literal.number(query.top))

    def folded() -> exp.Expr:
        return exp.Case(ifs=[exp.If(this=kept(), true=exp.column("dimension_value"))], default=exp.Null())

    def other() -> exp.Expr:
        return exp.Not(this=exp.paren(kept()))

    columns: list[exp.Expr] = [exp.column(name) for name in buckets]
    columns += [
        exp.alias_(folded(), dimension),
        exp.alias_(other(), "is_other"),
        exp.alias_(exp.Min(this=exp.column("rank_position")), "position"),
    ]
    columns += [exp.alias_(exp.Sum(this=exp.column(m)), m) for m in query.metrics]
    return (
        exp.select(*columns, copy=False)
        .from_(ranked.subquery("ranked", copy=False), copy=False)
        .group_by(*[exp.column(name) for name in buckets], folded(), other(), copy=False)
        .order_by(*[exp.column(name) for name in buckets], exp.column("position"), copy=False)
        # Materialised: DuckDB would otherwise plan the window over `grouped` as a self-join and
        # scan the events twice.
        .with_("grouped", as_=grouped, materialized=True, copy=False)
    )


def build(query: AggregateQuery, params: _Params) -> exp.Select:
    """The dialect-independent SQLGlot tree of `query`."""
    unknown = [m for m in query.metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics: {', '.join(unknown)}")
    selected, is_other = _groupings(query, params)
    columns = list(selected)
    if is_other is not None:
        columns.append(exp.alias_(is_other, "is_other"))
    columns += [exp.alias_(METRICS[m](), m) for m in query.metrics]
    if query.share_of is not None:
        total = exp.Window(this=exp.Sum(this=METRICS[query.share_of]()), over="OVER")
        columns.append(
            exp.alias_(
                exp.Div(
                    this=METRICS[query.share_of](),
                    expression=exp.Nullif(this=total, expression=exp.Literal.number(0)),
                ),
                "share",
            )
        )
    # copy=False throughout: the tree is built for this call only, and copying it costs more than SQL.
    select = exp.select(*columns, copy=False).from_("events", copy=False)
    select = select.where(_where(query.selection, params, query.not_null), copy=False)
    keys = _group_keys(selected, is_other)
    if keys:
        select = select.group_by(*keys, copy=False)
    if query.top is not None:
        return _fold_top(query, select, keys)
    order: list[exp.Expr] = []
    if query.order_by is not None:
        order.append(
            exp.Ordered(this=exp.column(query.order_by), desc=not query.ascending, nulls_first=False)
        )
    order += [exp.Ordered(this=k.copy(), nulls_first=False) for k in keys]
    if order:
        select = select.order_by(*order, copy=False)
    if query.limit is not None:
        select = select.limit(query.limit, copy=False)
    return select


# -- dialects --------------------------------------------------------------------------------------


def _duckdb_placeholder(_gen: Generator, expression: exp.Placeholder) -> str:
    return f"${expression.name}"


def _clickhouse_placeholder(gen: Generator, expression: exp.Placeholder) -> str:
    return f"{{p{expression.name}:{gen.sql(expression, 'kind')}}}"


def _clickhouse_percentile(gen: Generator, expression: exp.PercentileCont) -> str:
    # quantile(s)ExactInclusive interpolates like numpy and DuckDB's quantile_cont.
    levels = expression.expression
    if isinstance(levels, exp.Array):
        listed = ", ".join(gen.sql(level) for level in levels.expressions)
        return f"quantilesExactInclusive({listed})({gen.sql(expression, 'this')})"
    return f"quantileExactInclusive({gen.sql(levels)})({gen.sql(expression, 'this')})"


class EventsDuckDB(DuckDB):
    """DuckDB, with numbered `$n` placeholders."""

    class Generator(DuckDB.Generator):  # type: ignore[misc,valid-type]
        """Generates DuckDB SQL."""

        TRANSFORMS = {**DuckDB.Generator.TRANSFORMS, exp.Placeholder: _duckdb_placeholder}


class EventsClickHouse(ClickHouse):
    """ClickHouse, with typed `{pN:Type}` placeholders and numpy-compatible exact percentiles."""

    class Generator(ClickHouse.Generator):  # type: ignore[misc,valid-type]
        """Generates ClickHouse SQL."""

        def cte_sql(self, expression: exp.CTE) -> str:
            """A CTE without DuckDB's MATERIALIZED hint, which ClickHouse does not know."""
            plain = expression.copy()
            plain.set("materialized", None)
            result: str = super().cte_sql(plain)
            return result

        TRANSFORMS = {
            **ClickHouse.Generator.TRANSFORMS,
            exp.Placeholder: _clickhouse_placeholder,
            exp.PercentileCont: _clickhouse_percentile,
        }


DIALECTS: dict[str, type[DuckDB] | type[ClickHouse]] = {
    "duckdb": EventsDuckDB,
    "clickhouse": EventsClickHouse,
}


@dataclass(frozen=True)
class CompiledQuery:
    """SQL text for one dialect and its parameters, in placeholder order (`$1` is `params[0]`)."""

    sql: str
    params: list[Any]


def compile_query(query: AggregateQuery, dialect: str = "duckdb") -> CompiledQuery:
    """Compile a query description to the SQL of an event store's dialect."""
    params = _Params()
    tree = build(query, params)
    return CompiledQuery(sql=tree.sql(dialect=DIALECTS[dialect]()), params=params.values)
