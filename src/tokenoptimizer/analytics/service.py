"""Answering questions about spend: one function per endpoint, no HTTP.

Each takes a resolved `Scope` (see `scope`), describes its queries as `AggregateQuery` values (see
`queries`), runs them on the event store and shapes the answer: empty buckets filled, ratios and
relative changes derived, money converted, project and key ids labelled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tokenoptimizer.analytics import forecast as forecasting
from tokenoptimizer.analytics import schemas
from tokenoptimizer.analytics.periods import (
    MAX_HOURLY_DAYS,
    Period,
    bucket_key,
    bucket_starts,
    local_midnight,
    local_time,
)
from tokenoptimizer.analytics.queries import (
    ADDITIVE,
    LATENCY_QUANTILES,
    LOCAL_HOUR,
    LOCAL_WEEKDAY,
    TIME_BUCKET,
    TTFT_QUANTILES,
    AggregateQuery,
    Interval,
)
from tokenoptimizer.analytics.scope import (
    AnalyticsError,
    OrgView,
    Scope,
    check_dimension,
    labels,
    period_public,
    run,
)
from tokenoptimizer.usage.stores import EventStore

FORECAST_HISTORY_DAYS = 56


def _num(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def _ratio(numerator: Any, denominator: Any) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


def _change(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous)


# -- summary ---------------------------------------------------------------------------------------

_SUMMARY_METRICS = (
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "billed_cost_usd",
    "latency_avg_ms",
    "latency_p95_ms",
)
_COMPARED = (
    "requests",
    "errors",
    "error_rate",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "cost",
    "billed_cost_usd",
    "billed_cost",
    "avg_cost_usd",
    "avg_cost",
    "latency_avg_ms",
    "latency_p95_ms",
)


def _summary_figures(store: EventStore, scope: Scope, period: Period) -> schemas.SummaryFigures:
    row = run(store, AggregateQuery(scope.over(period), _SUMMARY_METRICS))[0]
    org = scope.org
    requests = _int(row["requests"])
    cost_usd = _num(row["cost_usd"])
    billed = _num(row["billed_cost_usd"])
    avg_cost = cost_usd / requests if requests else None
    return schemas.SummaryFigures(
        requests=requests,
        errors=_int(row["errors"]),
        error_rate=_ratio(row["errors"], requests),
        input_tokens=_int(row["input_tokens"]),
        output_tokens=_int(row["output_tokens"]),
        cache_read_tokens=_int(row["cache_read_tokens"]),
        cache_write_tokens=_int(row["cache_write_tokens"]),
        reasoning_tokens=_int(row["reasoning_tokens"]),
        cost_usd=cost_usd,
        cost=cost_usd * org.fx_rate,
        billed_cost_usd=billed,
        billed_cost=billed * org.fx_rate,
        avg_cost_usd=avg_cost,
        avg_cost=org.money(avg_cost),
        latency_avg_ms=row["latency_avg_ms"],
        latency_p95_ms=row["latency_p95_ms"],
        period=period_public(scope, period),
    )


def summary(store: EventStore, scope: Scope, *, compare: bool) -> schemas.Summary:
    """Headline figures of the period, and of the preceding period of equal length when asked."""
    current = _summary_figures(store, scope, scope.period)
    result = schemas.Summary(
        **current.model_dump(),
        currency=scope.org.currency,
        fx_rate=scope.org.fx_rate,
        timezone=scope.org.timezone,
    )
    if compare:
        previous = _summary_figures(store, scope, scope.period.previous())
        result.previous = previous
        result.change = {name: _change(getattr(current, name), getattr(previous, name)) for name in _COMPARED}
    return result


# -- timeseries ------------------------------------------------------------------------------------

_SERIES_METRICS: dict[str, tuple[tuple[str, ...], Callable[[Mapping[str, Any]], float | None], bool]] = {
    "cost": (("cost_usd",), lambda r: _num(r["cost_usd"]), True),
    "requests": (("requests",), lambda r: _num(r["requests"]), False),
    "tokens": (("tokens",), lambda r: _num(r["tokens"]), False),
    "input_tokens": (("input_tokens",), lambda r: _num(r["input_tokens"]), False),
    "output_tokens": (("output_tokens",), lambda r: _num(r["output_tokens"]), False),
    "errors": (("errors",), lambda r: _num(r["errors"]), False),
    "error_rate": (("requests", "errors"), lambda r: _ratio(r["errors"], r["requests"]), False),
    "latency_p50": (("latency_p50_ms",), lambda r: r["latency_p50_ms"], False),
    "latency_p95": (("latency_p95_ms",), lambda r: r["latency_p95_ms"], False),
    "latency_p99": (("latency_p99_ms",), lambda r: r["latency_p99_ms"], False),
    "avg_cost": (("cost_usd", "requests"), lambda r: _ratio(r["cost_usd"], r["requests"]), True),
}
"""metric -> (aggregates it needs, value of a row, whether it is money). Empty buckets: see `_empty`."""


def _empty(metric: str) -> float | None:
    """The value of a bucket without events: 0 for counts and sums, null for rates and percentiles."""
    return (
        0.0 if metric in ("cost", "requests", "tokens", "input_tokens", "output_tokens", "errors") else None
    )


def check_interval(period: Period, interval: Interval) -> None:
    """Refuse hourly series over more than `MAX_HOURLY_DAYS`."""
    if interval == "hour" and period.length > timedelta(days=MAX_HOURLY_DAYS):
        raise AnalyticsError(
            "interval",
            f"interval=hour covers at most {MAX_HOURLY_DAYS} days; use day, week or month for this range",
        )


def _top_keys(
    store: EventStore, scope: Scope, dimension: str, rank_by: str, top: int
) -> tuple[list[str | None], bool]:
    """The `top` values of a dimension by a metric, and whether there are more."""
    rows = run(
        store,
        AggregateQuery(scope.selection, (rank_by,), group_by=(dimension,), order_by=rank_by, limit=top + 1),
    )
    keys: list[str | None] = [row["g0"] for row in rows]
    return keys[:top], len(keys) > top


SeriesKey = tuple[str | None, bool]  # (dimension value or "total", is "other")


def _series_values(
    store: EventStore,
    scope: Scope,
    aggregates: tuple[str, ...],
    value_of: Callable[[Mapping[str, Any]], float | None],
    interval: Interval,
    group_by: str | None,
    top: int,
) -> dict[SeriesKey, dict[datetime, float | None]]:
    """Each series' values by bucket start, series in rank order ("other" last).

    Sums and counts rank and fold the dimension's values inside one query; rates and percentiles
    cannot be re-aggregated, so their top values are found first and the rest folded while scanning.
    """
    zone = scope.org.zone
    local = local_time(zone, scope.period.start, scope.period.end)
    if group_by is None:
        query = AggregateQuery(
            scope.selection, aggregates, group_by=(TIME_BUCKET,), interval=interval, local=local
        )
        values = {bucket_key(r["g0"], r.get("g0_offset"), zone): value_of(r) for r in run(store, query)}
        return {("total", False): values}
    check_dimension(group_by, "group_by")
    grouping = (TIME_BUCKET, group_by)
    by_series: dict[SeriesKey, dict[datetime, float | None]] = {}
    if all(a in ADDITIVE for a in aggregates):
        query = AggregateQuery(
            scope.selection,
            aggregates,
            group_by=grouping,
            interval=interval,
            local=local,
            top=top,
            rank_by=aggregates[0],
        )
        rows = sorted(run(store, query), key=lambda r: (bool(r["is_other"]), r["position"]))
    else:
        keys, more = _top_keys(store, scope, group_by, "requests", top)
        for key in keys:
            by_series[(key, False)] = {}
        query = AggregateQuery(
            scope.selection,
            aggregates,
            group_by=grouping,
            interval=interval,
            local=local,
            top_keys=tuple(keys) if more else None,
        )
        rows = run(store, query)
    for row in rows:
        series = (row["g1"], bool(row.get("is_other", False)))
        by_series.setdefault(series, {})[bucket_key(row["g0"], row.get("g0_offset"), zone)] = value_of(row)
    return by_series


def timeseries(
    store: EventStore,
    scope: Scope,
    *,
    metric: str,
    interval: Interval,
    group_by: str | None,
    top: int,
) -> schemas.Timeseries:
    """A metric per local bucket, zero-filled, as one series or one per top value (+ "other")."""
    check_interval(scope.period, interval)
    aggregates, value_of, is_money = _SERIES_METRICS[metric]
    zone = scope.org.zone
    starts = bucket_starts(scope.period, zone, interval)
    by_series = _series_values(store, scope, aggregates, value_of, interval, group_by, top)
    keys = [key for key, is_other in by_series if not is_other]
    empty = _empty(metric)
    names = labels(scope.session, scope.org.org_id, group_by, keys) if group_by else {}
    buckets = set(starts).union(*by_series.values())
    local_starts = {start: start.astimezone(zone) for start in sorted(buckets)}
    rate = scope.org.fx_rate
    series = []
    for (key, is_other), values in by_series.items():
        points = []
        for start, local_start in local_starts.items():
            value = values.get(start, empty)
            points.append(
                schemas.Point(
                    start=local_start,
                    value=value * rate if is_money and value is not None else value,
                    value_usd=value if is_money else None,
                )
            )
        label = "other" if is_other else names.get(key) if key is not None else None
        series.append(
            schemas.Series(key="other" if is_other else key, label=label, is_other=is_other, points=points)
        )
    return schemas.Timeseries(
        metric=metric,
        interval=interval,
        group_by=group_by,
        timezone=scope.org.timezone,
        period=period_public(scope),
        currency=scope.org.currency,
        fx_rate=scope.org.fx_rate,
        series=series,
    )


# -- breakdown -------------------------------------------------------------------------------------

# No percentiles here: an exact percentile per group costs more than all the sums together at 10M
# events; `performance` has them.
_BREAKDOWN_METRICS = ("requests", "cost_usd", "input_tokens", "output_tokens", "tokens", "errors")
SORT_METRICS = {
    "cost": "cost_usd",
    "requests": "requests",
    "tokens": "tokens",
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "errors": "errors",
}


def _breakdown_figures(org: OrgView, row: Mapping[str, Any]) -> schemas.BreakdownFigures:
    cost_usd = _num(row["cost_usd"])
    return schemas.BreakdownFigures(
        requests=_int(row["requests"]),
        cost_usd=cost_usd,
        cost=cost_usd * org.fx_rate,
        input_tokens=_int(row["input_tokens"]),
        output_tokens=_int(row["output_tokens"]),
        tokens=_int(row["tokens"]),
        errors=_int(row["errors"]),
        error_rate=_ratio(row["errors"], row["requests"]),
    )


def breakdown(
    store: EventStore, scope: Scope, *, by: str, sort: str, limit: int, compare: bool
) -> schemas.Breakdown:
    """Figures by one dimension, sorted, with each row's share of the total of the sort metric."""
    check_dimension(by)
    order = SORT_METRICS[sort]
    rows = run(
        store,
        AggregateQuery(
            scope.selection, _BREAKDOWN_METRICS, group_by=(by,), order_by=order, share_of=order, limit=limit
        ),
    )
    keys = [row["g0"] for row in rows]
    previous: dict[str | None, dict[str, Any]] = {}
    if compare and rows:
        earlier = run(
            store, AggregateQuery(scope.over(scope.period.previous()), _BREAKDOWN_METRICS, group_by=(by,))
        )
        wanted = set(keys)
        previous = {row["g0"]: row for row in earlier if row["g0"] in wanted}
    names = labels(scope.session, scope.org.org_id, by, keys)
    result = []
    for row in rows:
        figures = _breakdown_figures(scope.org, row)
        before = previous.get(row["g0"])
        prior = _breakdown_figures(scope.org, before) if before is not None else None
        result.append(
            schemas.BreakdownRow(
                **figures.model_dump(),
                key=row["g0"],
                label=names.get(row["g0"]) if row["g0"] is not None else None,
                share=row["share"],
                previous=prior if compare else None,
                change=_change(_num(row[order]), _num(before[order])) if before is not None else None,
            )
        )
    return schemas.Breakdown(
        by=by,
        sort=sort,
        period=period_public(scope),
        currency=scope.org.currency,
        fx_rate=scope.org.fx_rate,
        rows=result,
    )


# -- performance -----------------------------------------------------------------------------------

_PERFORMANCE_METRICS = ("requests", "errors", "latency_quantiles", "ttft_quantiles")


def performance(store: EventStore, scope: Scope, *, by: str, limit: int) -> schemas.Performance:
    """Latency percentiles, time to first token, success rate and errors by type, per group."""
    check_dimension(by)
    rows = run(
        store,
        AggregateQuery(
            scope.selection, _PERFORMANCE_METRICS, group_by=(by,), order_by="requests", limit=limit
        ),
    )
    errors = []
    if not scope.selection.statuses or "error" in scope.selection.statuses:
        # Only failed calls: grouping ~1 % of the rows instead of all of them.
        failed = dataclasses.replace(scope.selection, statuses=("error",))
        errors = run(
            store, AggregateQuery(failed, ("errors",), group_by=(by, "error_type"), order_by="errors")
        )
    by_group: dict[str | None, dict[str, int]] = {}
    totals: dict[str | None, int] = {}
    for row in errors:
        if row["errors"]:
            kind = row["g1"] or "unknown"
            by_group.setdefault(row["g0"], {})[kind] = int(row["errors"])
            totals[row["g1"]] = totals.get(row["g1"], 0) + int(row["errors"])
    names = labels(scope.session, scope.org.org_id, by, [row["g0"] for row in rows])
    result = []
    for row in rows:
        p50, p90, p95, p99 = row["latency_quantiles"] or (None,) * len(LATENCY_QUANTILES)
        ttft_p50, ttft_p95 = row["ttft_quantiles"] or (None,) * len(TTFT_QUANTILES)
        result.append(
            schemas.PerformanceRow(
                key=row["g0"],
                label=names.get(row["g0"]) if row["g0"] is not None else None,
                requests=_int(row["requests"]),
                errors=_int(row["errors"]),
                success_rate=_ratio(_int(row["requests"]) - _int(row["errors"]), row["requests"]),
                latency_p50_ms=p50,
                latency_p90_ms=p90,
                latency_p95_ms=p95,
                latency_p99_ms=p99,
                ttft_p50_ms=ttft_p50,
                ttft_p95_ms=ttft_p95,
                error_types=by_group.get(row["g0"], {}),
            )
        )
    error_types = [
        schemas.ErrorCount(error_type=kind, count=count)
        for kind, count in sorted(totals.items(), key=lambda item: (-item[1], item[0] or ""))
    ]
    return schemas.Performance(by=by, period=period_public(scope), rows=result, error_types=error_types)


# -- heatmap ---------------------------------------------------------------------------------------


def heatmap(store: EventStore, scope: Scope, *, metric: str) -> schemas.Heatmap:
    """Requests or cost by local weekday × hour of day, all 168 cells."""
    aggregate = "cost_usd" if metric == "cost" else "requests"
    local = local_time(scope.org.zone, scope.period.start, scope.period.end)
    rows = run(
        store,
        AggregateQuery(scope.selection, (aggregate,), group_by=(LOCAL_WEEKDAY, LOCAL_HOUR), local=local),
    )
    values = {(int(row["g0"]), int(row["g1"])): _num(row[aggregate]) for row in rows}
    factor = scope.org.fx_rate if metric == "cost" else 1.0
    cells = [
        schemas.HeatmapCell(weekday=weekday, hour=hour, value=values.get((weekday, hour), 0.0) * factor)
        for weekday in range(1, 8)
        for hour in range(24)
    ]
    return schemas.Heatmap(
        metric=metric,
        timezone=scope.org.timezone,
        period=period_public(scope),
        currency=scope.org.currency,
        fx_rate=scope.org.fx_rate,
        cells=cells,
    )


# -- environmental impact --------------------------------------------------------------------------

_IMPACT_METRICS = ("requests", "requests_with_impact", "energy_kwh", "co2e_kg", "water_l")


def _impact_row(org: OrgView, key: str | None, row: Mapping[str, Any] | None) -> schemas.ImpactRow:
    row = row or {}
    co2e = _num(row.get("co2e_kg"))
    return schemas.ImpactRow(
        key=key,
        requests=_int(row.get("requests")),
        requests_with_impact=_int(row.get("requests_with_impact")),
        energy_kwh=_num(row.get("energy_kwh")),
        co2e_kg=co2e,
        water_l=_num(row.get("water_l")),
        m2_restored=co2e * org.m2_per_kg_co2e,
    )


def impact(store: EventStore, scope: Scope, *, by: str, interval: Interval, limit: int) -> schemas.Impact:
    """Energy, CO2e, water and m² restored, by a dimension or over time (`by=time`)."""
    org = scope.org
    total = _impact_row(org, None, run(store, AggregateQuery(scope.selection, _IMPACT_METRICS))[0])
    rows: list[schemas.ImpactRow]
    if by == "time":
        check_interval(scope.period, interval)
        zone = org.zone
        local = local_time(zone, scope.period.start, scope.period.end)
        found = run(
            store,
            AggregateQuery(
                scope.selection, _IMPACT_METRICS, group_by=(TIME_BUCKET,), interval=interval, local=local
            ),
        )
        buckets = {bucket_key(r["g0"], r.get("g0_offset"), zone): r for r in found}
        starts = sorted(set(bucket_starts(scope.period, zone, interval)) | buckets.keys())
        rows = [_impact_row(org, start.astimezone(zone).isoformat(), buckets.get(start)) for start in starts]
    else:
        check_dimension(by)
        found = run(
            store,
            AggregateQuery(scope.selection, _IMPACT_METRICS, group_by=(by,), order_by="co2e_kg", limit=limit),
        )
        rows = [_impact_row(org, r["g0"], r) for r in found]
    return schemas.Impact(
        by=by,
        interval=interval if by == "time" else None,
        timezone=org.timezone,
        period=period_public(scope),
        m2_per_kg_co2e=org.m2_per_kg_co2e,
        total=total,
        rows=rows,
    )


# -- top prompts -----------------------------------------------------------------------------------

_PROMPT_METRICS = ("requests", "cost_usd", "avg_input_tokens", "avg_output_tokens", "feature", "model")


def top_prompts(store: EventStore, scope: Scope, *, by: str, limit: int) -> schemas.TopPrompts:
    """The most expensive prompt templates (`prompt_hash`) or features, with cost per call."""
    org = scope.org
    rows = run(
        store,
        AggregateQuery(
            scope.selection,
            _PROMPT_METRICS,
            group_by=(by,),
            order_by="cost_usd",
            share_of="cost_usd",
            limit=limit,
            not_null=by,
        ),
    )
    result = []
    for row in rows:
        cost_usd = _num(row["cost_usd"])
        per_call = cost_usd / _int(row["requests"])
        result.append(
            schemas.PromptRow(
                key=row["g0"],
                feature=row["feature"],
                model=row["model"],
                requests=_int(row["requests"]),
                cost_usd=cost_usd,
                cost=cost_usd * org.fx_rate,
                cost_per_call_usd=per_call,
                cost_per_call=per_call * org.fx_rate,
                avg_input_tokens=_num(row["avg_input_tokens"]),
                avg_output_tokens=_num(row["avg_output_tokens"]),
                share=row["share"],
            )
        )
    return schemas.TopPrompts(
        by=by, period=period_public(scope), currency=org.currency, fx_rate=org.fx_rate, rows=result
    )


# -- forecast --------------------------------------------------------------------------------------


def _daily_cost(store: EventStore, scope: Scope, period: Period) -> dict[date, float]:
    zone = scope.org.zone
    local = local_time(zone, period.start, period.end)
    rows = run(
        store,
        AggregateQuery(
            scope.over(period), ("cost_usd",), group_by=(TIME_BUCKET,), interval="day", local=local
        ),
    )
    return {row["g0"].date(): _num(row["cost_usd"]) for row in rows}


def forecast(
    store: EventStore, scope: Scope, *, budget: float | None, now: datetime | None = None
) -> schemas.Forecast:
    """Projected spend of the current local week and month, and when a monthly budget runs out.

    The period filters are ignored (a forecast is always about now); the other filters apply.
    """
    now = now or datetime.now(UTC)
    org = scope.org
    zone = org.zone
    local_now = now.astimezone(zone)
    today = local_now.date()
    day_start = local_midnight(today, zone)
    day_end = local_midnight(today + timedelta(days=1), zone)
    today_remaining = max(0.0, min(1.0, (day_end - now) / (day_end - day_start)))
    week_start = today - timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    month_end = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    history_start = min(today - timedelta(days=FORECAST_HISTORY_DAYS), month_start)
    daily = _daily_cost(store, scope, Period(local_midnight(history_start, zone), now))

    fit_start = today - timedelta(days=FORECAST_HISTORY_DAYS)
    history = [daily.get(fit_start + timedelta(days=i), 0.0) for i in range(FORECAST_HISTORY_DAYS)]
    first_active = next((i for i, value in enumerate(history) if value > 0), len(history))
    model = forecasting.fit(fit_start + timedelta(days=first_active), history[first_active:])

    def projection(start: date, end: date) -> schemas.Projection:
        actual = sum(value for day, value in daily.items() if start <= day <= today)
        ahead = forecasting.project(model, today, today_remaining, end)
        return schemas.Projection(
            start=start,
            end=end,
            actual=actual * org.fx_rate,
            projected=(actual + ahead.value) * org.fx_rate,
            low=max(actual, actual + ahead.value - ahead.half_width) * org.fx_rate,
            high=(actual + ahead.value + ahead.half_width) * org.fx_rate,
            actual_usd=actual,
            projected_usd=actual + ahead.value,
        )

    month = projection(month_start, month_end)
    days = []
    for offset in range((month_end - today).days + 1):
        day = today + timedelta(days=offset)
        ahead = forecasting.project(model, day, 1.0, day)
        days.append(
            schemas.ForecastDay(
                date=day,
                value=ahead.value * org.fx_rate,
                low=max(0.0, ahead.value - ahead.half_width) * org.fx_rate,
                high=(ahead.value + ahead.half_width) * org.fx_rate,
            )
        )
    budget_projection = None
    if budget is not None:
        budget_usd = budget / org.fx_rate
        spent = 0.0
        crossed: date | None = None
        for offset in range((today - month_start).days + 1):
            day = month_start + timedelta(days=offset)
            spent += daily.get(day, 0.0)
            if crossed is None and spent >= budget_usd:
                crossed = day
        if crossed is None:
            crossed = forecasting.exhaustion_day(
                model,
                today=today,
                today_remaining=today_remaining,
                spent=spent,
                budget=budget_usd,
                last_day=month_end,
            )
        budget_projection = schemas.BudgetProjection(
            amount=budget,
            spent=spent * org.fx_rate,
            projected=month.projected,
            exhausted_on=crossed,
            already_exhausted=spent >= budget_usd,
        )
    return schemas.Forecast(
        currency=org.currency,
        fx_rate=org.fx_rate,
        timezone=org.timezone,
        as_of=local_now,
        interval_level=0.8,
        history_days=FORECAST_HISTORY_DAYS - first_active,
        method="linear trend × weekday profile over the last 8 weeks of daily spend",
        week=projection(week_start, week_start + timedelta(days=6)),
        month=month,
        daily=days,
        budget=budget_projection,
    )
