"""HTTP routes of the analytics API under `/api/v1/usage/`: parameters in, answers out.

Every endpoint takes the common filters (`AnalyticsFilters`) and answers for the caller's
organisation only; the work is in `service`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from tokenoptimizer.analytics import schemas, service
from tokenoptimizer.analytics.queries import Interval
from tokenoptimizer.analytics.scope import AnalyticsError, Filters, Scope, resolve_scope
from tokenoptimizer.server.deps import Caller, ContextDep, ReadCaller, SessionDep

router = APIRouter(prefix="/api/v1/usage", tags=["analytics"])

Values = list[str]
_422: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid parameters (unknown dimension, `from` after `to`, …)."}
}


def _invalid(param: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ["query", param], "msg": message, "type": "value_error"}])


def _bound(param: str, value: str | None) -> date | datetime | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        raise _invalid(param, f"'{param}' must be a date (2026-03-31) or an ISO 8601 date-time") from None


def _tags(request: Request) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`tag.<key>=<value>` (or `tag=<key>=<value>`), repeatable; values of one key mean OR."""
    tags: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        if name.startswith("tag.") and len(name) > 4:
            tags.setdefault(name[4:], []).append(value)
        elif name == "tag":
            key, sep, tag_value = value.partition("=")
            if not sep or not key:
                raise _invalid("tag", "use tag.<key>=<value> (or tag=<key>=<value>)")
            tags.setdefault(key, []).append(tag_value)
    return tuple((key, tuple(values)) for key, values in tags.items())


def analytics_filters(
    request: Request,
    from_: Annotated[
        str | None,
        Query(
            alias="from",
            description="Start, inclusive: a date (the local day's start) or an ISO 8601 date-time "
            "(local time without an offset). Default: 30 days before `to`.",
        ),
    ] = None,
    to: Annotated[
        str | None,
        Query(
            description="End: a date (included whole) or a date-time (exclusive). "
            "Default: the end of today in the organisation's time zone."
        ),
    ] = None,
    project: Annotated[Values, Query(description="Project name or id; repeat for OR.")] = [],  # noqa: B006
    provider: Annotated[Values, Query(description="openai, anthropic, …; repeat for OR.")] = [],  # noqa: B006
    model: Annotated[Values, Query(description="Model name; repeat for OR.")] = [],  # noqa: B006
    feature: Annotated[Values, Query()] = [],  # noqa: B006
    user: Annotated[Values, Query()] = [],  # noqa: B006
    end_user: Annotated[Values, Query()] = [],  # noqa: B006
    team: Annotated[Values, Query()] = [],  # noqa: B006
    api_key: Annotated[Values, Query(description="API key id, name or prefix.")] = [],  # noqa: B006
    status: Annotated[list[Literal["ok", "error"]], Query()] = [],  # noqa: B006
) -> Filters:
    """The common filters; tags come as `tag.<key>=<value>` (not listed: the key is free)."""
    return Filters(
        start=_bound("from", from_),
        end=_bound("to", to),
        projects=tuple(project),
        providers=tuple(provider),
        models=tuple(model),
        features=tuple(feature),
        users=tuple(user),
        end_users=tuple(end_user),
        teams=tuple(team),
        api_keys=tuple(api_key),
        statuses=tuple(status),
        tags=_tags(request),
    )


AnalyticsFilters = Annotated[Filters, Depends(analytics_filters)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Most rows returned.")]


def _json(answer: BaseModel) -> Response:
    """The answer as JSON, serialised once.

    Routes declare `response_model` for the OpenAPI schema but return the serialised model:
    FastAPI would otherwise validate the model it was given again, which costs more than the
    query for a long series.
    """
    return Response(content=answer.model_dump_json(by_alias=True), media_type="application/json")


@contextmanager
def _answering() -> Iterator[None]:
    """Turn the service's parameter errors into FastAPI's 422 shape."""
    try:
        yield
    except AnalyticsError as exc:
        raise _invalid(exc.param, exc.message) from exc


def _scope(session: SessionDep, caller: Caller, filters: Filters) -> Scope:
    with _answering():
        return resolve_scope(session, caller.org_id, filters, project_restriction=caller.project_restriction)


@router.get("/summary", response_model=schemas.Summary, responses=_422)
def read_summary(
    caller: ReadCaller,
    context: ContextDep,
    session: SessionDep,
    filters: AnalyticsFilters,
    compare: Annotated[
        Literal["previous_period"] | None,
        Query(description="`previous_period` adds the preceding period of equal length and the change."),
    ] = None,
) -> Response:
    """Cost, billed cost, requests, tokens, errors, error rate, average cost and latency of a period.

    With `compare=previous_period`, also the same figures for the preceding period of equal length
    (`previous`) and the relative change of each (`change`, 0.25 = +25 %).
    """
    scope = _scope(session, caller, filters)
    return _json(service.summary(context.store, scope, compare=compare is not None))


@router.get("/timeseries", response_model=schemas.Timeseries, responses=_422)
def read_timeseries(
    caller: ReadCaller,
    context: ContextDep,
    session: SessionDep,
    filters: AnalyticsFilters,
    metric: schemas.TimeseriesMetric = "cost",
    interval: Interval = "day",
    group_by: Annotated[
        str | None, Query(description="A dimension (model, provider, feature, project, …, tag.<key>).")
    ] = None,
    top: Annotated[
        int, Query(ge=1, le=50, description="Series kept with group_by; the rest is `other`.")
    ] = 10,
) -> Response:
    """A metric per hour, day, week or month in the organisation's time zone, empty buckets included.

    Without `group_by`, one series `total`; with it, one series per top value of the dimension
    (ranked by the metric, or by requests for rates and percentiles) and one `other` for the rest.
    Hourly series cover at most 400 days.
    """
    scope = _scope(session, caller, filters)
    with _answering():
        answer = service.timeseries(
            context.store, scope, metric=metric, interval=interval, group_by=group_by, top=top
        )
    return _json(answer)


@router.get("/breakdown", response_model=schemas.Breakdown, responses=_422)
def read_breakdown(
    caller: ReadCaller,
    context: ContextDep,
    session: SessionDep,
    filters: AnalyticsFilters,
    by: Annotated[
        str,
        Query(
            description="model, provider, feature, project, user, end_user, team, api_key, "
            "status, error_type, request_type, prompt_hash or tag.<key>."
        ),
    ] = "model",
    sort: schemas.BreakdownSort = "cost",
    limit: Limit = 50,
    compare: Literal["previous_period"] | None = None,
) -> Response:
    """Requests, cost, tokens and errors per value of one dimension, largest first.

    `share` is each row's part of the total of the sort metric over all rows (also those beyond
    `limit`). With `compare=previous_period`, each row carries its figures of the preceding period.
    """
    scope = _scope(session, caller, filters)
    with _answering():
        answer = service.breakdown(
            context.store, scope, by=by, sort=sort, limit=limit, compare=compare is not None
        )
    return _json(answer)


@router.get("/performance", response_model=schemas.Performance, responses=_422)
def read_performance(
    caller: ReadCaller,
    context: ContextDep,
    session: SessionDep,
    filters: AnalyticsFilters,
    by: str = "model",
    limit: Limit = 50,
) -> Response:
    """Latency p50/p90/p95/p99, time to first token, success rate and errors by type, per group.

    Percentiles are exact (linear interpolation, as numpy's default) over the calls that report
    a latency.
    """
    scope = _scope(session, caller, filters)
    with _answering():
        answer = service.performance(context.store, scope, by=by, limit=limit)
    return _json(answer)


@router.get("/heatmap", response_model=schemas.Heatmap, responses=_422)
def read_heatmap(
    caller: ReadCaller,
    context: ContextDep,
    session: SessionDep,
    filters: AnalyticsFilters,
    metric: schemas.HeatmapMetric = "requests",
) -> Response:
    """Requests or cost by weekday (1 = Monday) × hour of day in the organisation's time zone."""
    scope = _scope(session, caller, filters)
    return _json(service.heatmap(context.store, scope, metric=metric))


@router.get("/impact", response_model=schemas.Impact, responses=_422)
def read_impact(
    caller: ReadCaller,
    context: ContextDep,
    session: SessionDep,
    filters: AnalyticsFilters,
    by: Annotated[str, Query(description="`time`, or a dimension such as `model`.")] = "model",
    interval: Interval = "day",
    limit: Limit = 50,
) -> Response:
    """Energy (kWh), emissions (kg CO2e), water (l) and m² restored, by model or over time.

    `m2_restored` is `co2e_kg` × the organisation's `m2_per_kg_co2e`. Calls to models without
    impact data count in `requests` but not in `requests_with_impact`.
    """
    scope = _scope(session, caller, filters)
    with _answering():
        answer = service.impact(context.store, scope, by=by, interval=interval, limit=limit)
    return _json(answer)


@router.get("/top-prompts", response_model=schemas.TopPrompts, responses=_422)
def read_top_prompts(
    caller: ReadCaller,
    context: ContextDep,
    session: SessionDep,
    filters: AnalyticsFilters,
    by: Literal["prompt_hash", "feature"] = "prompt_hash",
    limit: Limit = 20,
) -> Response:
    """The most expensive prompt templates (by `prompt_hash`) or features, with their efficiency.

    Each row has the call count, total cost, cost per call and average input and output tokens.
    """
    scope = _scope(session, caller, filters)
    return _json(service.top_prompts(context.store, scope, by=by, limit=limit))


@router.get("/forecast", response_model=schemas.Forecast, responses=_422)
def read_forecast(
    caller: ReadCaller,
    context: ContextDep,
    session: SessionDep,
    filters: AnalyticsFilters,
    budget: Annotated[
        float | None, Query(gt=0, description="A budget for this month, in the organisation's currency.")
    ] = None,
) -> Response:
    """Projected spend for the current week and month, with an 80 % interval, from the daily series.

    The projection is a linear trend times a weekday profile fitted to the last 8 weeks. With
    `budget`, also the day this month's spend would reach it at the projected rate. `from` and `to`
    are ignored; the other filters apply.
    """
    scope = _scope(session, caller, filters)
    return _json(service.forecast(context.store, scope, budget=budget))
