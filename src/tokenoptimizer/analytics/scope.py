"""Who asks and for what: the organisation, the period and the selected events of a request.

`resolve_scope` turns the filters a caller gave (`Filters`) into a `Scope`: the organisation's
time zone and display currency (`OrgView`), the period in UTC, and a `Selection` that always names
the caller's organisation (and its project, for a project key). `run` executes a query description
on the event store in the store's SQL dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tokenoptimizer.accounts.models import ApiKey, Organization, Project
from tokenoptimizer.analytics import schemas
from tokenoptimizer.analytics.periods import Period, default_period, resolve_bound
from tokenoptimizer.analytics.planner import run_query
from tokenoptimizer.analytics.queries import AggregateQuery, CompiledQuery, Selection, is_dimension
from tokenoptimizer.pricing import convert_currency
from tokenoptimizer.usage.stores import EventStore

NO_MATCH = "-none-"  # an id no row has: a filter that names nothing selects nothing


class AnalyticsError(ValueError):
    """An invalid request parameter; `param` names it (as in the query string)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass(frozen=True)
class Filters:
    """The common filters of every analytics request, as the caller gave them."""

    start: date | datetime | None = None
    end: date | datetime | None = None
    projects: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    end_users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    api_keys: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    tags: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class OrgView:
    """What the analytics need to know about an organisation."""

    org_id: str
    timezone: str
    currency: str
    fx_rate: float
    m2_per_kg_co2e: float

    @property
    def zone(self) -> ZoneInfo:
        """The organisation's time zone."""
        return ZoneInfo(self.timezone)

    def money(self, usd: float | None) -> float | None:
        """An amount in the display currency."""
        return None if usd is None else usd * self.fx_rate


@dataclass(frozen=True)
class Scope:
    """A resolved request: the organisation, the period and the selected events."""

    org: OrgView
    period: Period
    selection: Selection
    session: Session = field(repr=False, compare=False)

    def over(self, period: Period) -> Selection:
        """The same selection over another period."""
        return self.selection.shifted(*period.naive())


# -- resolving a request ---------------------------------------------------------------------------


def _resolve_period(filters: Filters, zone: ZoneInfo, now: datetime) -> Period:
    fallback = default_period(zone, now)
    start = resolve_bound(filters.start, zone, is_end=False) if filters.start is not None else None
    end = resolve_bound(filters.end, zone, is_end=True) if filters.end is not None else None
    if start is None and end is None:
        return fallback
    if start is None:
        assert end is not None
        start = end - (fallback.end - fallback.start)
    elif end is None:
        end = max(fallback.end, start + timedelta(days=1))
    if start >= end:
        raise AnalyticsError("from", "'from' must be before 'to'")
    return Period(start, end)


def _project_ids(session: Session, org_id: str, names: Sequence[str]) -> tuple[str, ...]:
    rows = session.scalars(
        select(Project.id).where(
            Project.org_id == org_id, or_(Project.name.in_(names), Project.id.in_(names))
        )
    )
    return tuple(rows) or (NO_MATCH,)


def _api_key_ids(session: Session, org_id: str, names: Sequence[str]) -> tuple[str, ...]:
    rows = session.scalars(
        select(ApiKey.id).where(
            ApiKey.org_id == org_id,
            or_(ApiKey.id.in_(names), ApiKey.name.in_(names), ApiKey.prefix.in_(names)),
        )
    )
    return tuple(rows) or (NO_MATCH,)


def org_view(session: Session, org_id: str, on: date) -> OrgView:
    """The organisation's time zone, currency (with the rate on a day) and offset factor."""
    org = session.get(Organization, org_id)
    if org is None:
        raise LookupError(f"no organisation {org_id}")
    currency = (org.currency or "USD").upper()
    fx_rate = 1.0
    if currency != "USD" or org.fixed_fx_rate is not None:
        amount, _rate = convert_currency(1.0, currency, on, fixed_rate=org.fixed_fx_rate)
        fx_rate = float(amount)
    return OrgView(
        org_id=org.id,
        timezone=org.timezone or "UTC",
        currency=currency,
        fx_rate=fx_rate,
        m2_per_kg_co2e=float(org.m2_per_kg_co2e or 0.0),
    )


def resolve_scope(
    session: Session,
    org_id: str,
    filters: Filters,
    *,
    project_restriction: str | None = None,
    now: datetime | None = None,
) -> Scope:
    """The organisation, period and selection of a request (`AnalyticsError` when invalid).

    `project_restriction` (an API key without the admin scope) narrows every selection to one
    project, whatever projects the request names.
    """
    now = now or datetime.now(UTC)
    org = session.get(Organization, org_id)
    if org is None:
        raise LookupError(f"no organisation {org_id}")
    zone = ZoneInfo(org.timezone or "UTC")
    period = _resolve_period(filters, zone, now)
    rate_day = min(period.end - timedelta(microseconds=1), now).astimezone(zone).date()
    view = org_view(session, org_id, rate_day)
    project_ids = _project_ids(session, org_id, filters.projects) if filters.projects else ()
    if project_restriction is not None:
        project_ids = (
            (NO_MATCH,) if project_ids and project_restriction not in project_ids else (project_restriction,)
        )
    start, end = period.naive()
    selection = Selection(
        org_id=org_id,
        start=start,
        end=end,
        project_ids=project_ids,
        providers=tuple(p.lower() for p in filters.providers),
        models=filters.models,
        features=filters.features,
        users=filters.users,
        end_users=filters.end_users,
        teams=filters.teams,
        api_key_ids=_api_key_ids(session, org_id, filters.api_keys) if filters.api_keys else (),
        statuses=filters.statuses,
        tags=filters.tags,
    )
    return Scope(org=view, period=period, selection=selection, session=session)


# -- running queries -------------------------------------------------------------------------------


def run(store: EventStore, query: AggregateQuery) -> list[dict[str, Any]]:
    """Answer a query on the store (from its rollups where they can answer) as a list of dicts."""

    def fetch(compiled: CompiledQuery) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = store.fetch_arrow(compiled.sql, compiled.params).to_pylist()
        return rows

    return run_query(
        query,
        dialect=store.sql_dialect,
        fetch=fetch,
        rollups=getattr(store, "rollups", False),
        pending=getattr(store, "rollups_pending", None),
    )


def period_public(scope: Scope, period: Period | None = None) -> schemas.PeriodPublic:
    """A period (the scope's by default) as the API shows it, in the organisation's time zone."""
    period = period or scope.period
    zone = scope.org.zone
    return schemas.PeriodPublic(from_=period.start.astimezone(zone), to=period.end.astimezone(zone))


def check_dimension(name: str, param: str = "by") -> None:
    """Refuse an unknown dimension, naming the query parameter that gave it."""
    if not is_dimension(name):
        raise AnalyticsError(
            param, f"unknown dimension {name!r}: use one of {', '.join(DIMENSIONS)} or tag.<key>"
        )


DIMENSIONS = (
    "model",
    "provider",
    "feature",
    "project",
    "user",
    "end_user",
    "team",
    "api_key",
    "status",
    "error_type",
    "request_type",
    "prompt_hash",
)


def labels(session: Session, org_id: str, dimension: str, keys: Sequence[str | None]) -> dict[str, str]:
    """Display names of project and API key ids (other dimensions are their own names)."""
    ids = [k for k in keys if k is not None]
    if not ids:
        return {}
    if dimension == "project":
        rows = session.execute(
            select(Project.id, Project.name).where(Project.org_id == org_id, Project.id.in_(ids))
        )
        return {row[0]: row[1] for row in rows}
    if dimension == "api_key":
        keys_rows = session.execute(
            select(ApiKey.id, ApiKey.name, ApiKey.prefix).where(ApiKey.org_id == org_id, ApiKey.id.in_(ids))
        )
        return {row[0]: row[1] or row[2] for row in keys_rows}
    return {}
