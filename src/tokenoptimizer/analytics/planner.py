"""Which tables answer a query: the rollups when they can give the events' answer, else the events.

A query is answered from the hourly sums (`usage_hourly`, or `usage_hourly_tagged` when it names
a tag) when every column it filters or groups by is a rollup dimension and its time buckets fall
on whole UTC hours — true for every zone whose offsets are whole hours; a zone like +05:30 gets
its local days, weeks and hours from the events, but its summaries and breakdowns still from the
rollups. The selection's time range need not be aligned: the part outside whole hours comes from
the events (`Source`). Sums and counts are then exactly the events' (up to the order in which
floating-point costs are added, which is not fixed on the events either).

Percentiles are not sums. They come from the latency histograms (within 1 %): the hourly ones
without dimensions when the query filters and groups by none, else the daily ones by dimension
when its buckets are UTC days or longer. Up to `EXACT_PERCENTILES_UP_TO` values, or when no
histogram answers (a tag, local days of a +05:30 zone by model…), they are computed exactly from
the events, by a query that reads only what percentiles need — the sums still come from the
rollups.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from tokenoptimizer.analytics.queries import (
    DIMENSION_COLUMNS,
    LOCAL_HOUR,
    LOCAL_WEEKDAY,
    PERCENTILES,
    ROLLUP_METRICS,
    TAG_PREFIX,
    TIME_BUCKET,
    AggregateQuery,
    CompiledQuery,
    Selection,
    Source,
    compile_percentiles,
    compile_query,
)
from tokenoptimizer.usage.stores.rollups import (
    LATENCY_DAILY,
    LATENCY_HOURLY,
    USAGE_HOURLY,
    USAGE_HOURLY_TAGGED,
    Rollup,
)

EXACT_PERCENTILES_UP_TO = 500_000
"""Largest number of values whose percentiles are computed exactly: below it, sorting the values
costs about as much as reading the histograms (measured at 1M and 10M events)."""

Rows = list[dict[str, Any]]
Fetch = Callable[[CompiledQuery], Rows]

_TIMED = (TIME_BUCKET, LOCAL_WEEKDAY, LOCAL_HOUR)
_FILTER_COLUMNS = {
    "project_ids": "project_id",
    "providers": "provider",
    "models": "model",
    "features": "feature",
    "users": "user",
    "end_users": "end_user",
    "teams": "team",
    "api_key_ids": "api_key_id",
    "statuses": "status",
}
_STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def _column(dimension: str) -> str:
    return "tags" if dimension.startswith(TAG_PREFIX) else DIMENSION_COLUMNS[dimension]


def columns_used(query: AggregateQuery) -> set[str]:
    """The event columns a query filters or groups by (time and organisation aside)."""
    selection = query.selection
    used = {column for name, column in _FILTER_COLUMNS.items() if getattr(selection, name)}
    if selection.tags:
        used.add("tags")
    used.update(_column(name) for name in query.group_by if name not in _TIMED)
    if query.not_null is not None:
        used.add(_column(query.not_null))
    return used


def _floor(instant: datetime, grain: str) -> datetime:
    floored = instant.replace(minute=0, second=0, microsecond=0)
    return floored.replace(hour=0) if grain == "day" else floored


def _interior(selection: Selection, grain: str) -> tuple[datetime, datetime] | None:
    """The whole slots inside the selection's range, or None when there is none."""
    start = _floor(selection.start, grain)
    if start < selection.start:
        start += _STEP[grain]
    end = _floor(selection.end, grain)
    return (start, end) if start < end else None


def _buckets_align(query: AggregateQuery, grain: str) -> bool:
    """Whether every local time bucket of the query is made of whole slots of `grain`."""
    if not any(name in _TIMED for name in query.group_by):
        return True
    if grain == "day" and (LOCAL_HOUR in query.group_by or query.interval == "hour"):
        return False
    step = int(_STEP[grain].total_seconds())
    return all(offset % step == 0 for offset in query.local.offsets) and all(
        change == _floor(change, grain) for change in query.local.changes
    )


def _source(query: AggregateQuery, rollups: Iterable[Rollup], pending: str | None) -> Source | None:
    used = columns_used(query)
    for rollup in rollups:
        if not used <= set(rollup.dimensions) or not _buckets_align(query, rollup.grain):
            continue
        interior = _interior(query.selection, rollup.grain)
        return Source(rollup, interior, pending) if interior is not None else None
    return None


def sums_source(query: AggregateQuery, pending: str | None = None) -> Source | None:
    """The hourly sums that answer the query's non-percentile metrics, if any do.

    `pending` is the store's table of events not yet in the rollups, if it has one.
    """
    if any(m not in ROLLUP_METRICS and m not in PERCENTILES for m in query.metrics):
        return None
    return _source(query, (USAGE_HOURLY, USAGE_HOURLY_TAGGED), pending)


def histogram_source(query: AggregateQuery, pending: str | None = None) -> Source | None:
    """The latency histograms that answer the query's percentiles, if any can."""
    return _source(query, (LATENCY_HOURLY, LATENCY_DAILY), pending)


def _key_columns(query: AggregateQuery) -> list[str]:
    keys = []
    for index, name in enumerate(query.group_by):
        keys.append(f"g{index}")
        if name == TIME_BUCKET and query.interval == "hour":
            keys.append(f"g{index}_offset")
    if query.top_keys is not None:
        keys.append("is_other")
    return keys


def run_query(
    query: AggregateQuery, *, dialect: str, fetch: Fetch, rollups: bool, pending: str | None = None
) -> Rows:
    """Answer `query` from the cheapest source that gives the events' answer (see the module doc).

    `rollups`: whether the store keeps the rollups; `pending`: its table of events appended but
    not yet folded into them, if any (read along).
    """
    source = sums_source(query, pending) if rollups else None
    if source is None:
        return fetch(compile_query(query, dialect))
    wanted = [m for m in query.metrics if m in PERCENTILES]
    if not wanted:
        return fetch(compile_query(query, dialect, source))
    if query.top is not None or query.order_by in wanted or query.share_of in wanted:
        return fetch(compile_query(query, dialect))
    sizes = sorted({"latency_count" if PERCENTILES[m][0] == "latency_ms" else "ttft_count" for m in wanted})
    others = tuple(m for m in query.metrics if m not in wanted)
    rows = fetch(compile_query(dataclasses.replace(query, metrics=others + tuple(sizes)), dialect, source))
    values = max(sum(int(row[size]) for row in rows) for size in sizes)
    percentiles = dataclasses.replace(query, metrics=tuple(wanted), order_by=None, share_of=None, limit=None)
    histograms = histogram_source(query, pending)
    if histograms is not None and values > EXACT_PERCENTILES_UP_TO:
        found = fetch(compile_percentiles(percentiles, histograms, dialect))
    else:
        found = fetch(compile_query(percentiles, dialect))
    keys = _key_columns(query)
    by_key = {tuple(row[k] for k in keys): row for row in found}
    for row in rows:
        match = by_key.get(tuple(row[k] for k in keys), {})
        for size in sizes:
            del row[size]
        for metric in wanted:
            row[metric] = match.get(metric)
    return rows
