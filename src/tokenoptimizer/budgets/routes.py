"""HTTP routes of budgets, reservations and alerts (thin: logic lives in `budgets.service`)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from tokenoptimizer.accounts.models import ApiKey, Organization, Project
from tokenoptimizer.accounts.service import actor_name, audit
from tokenoptimizer.budgets.models import Alert, Budget
from tokenoptimizer.budgets.schemas import (
    AlertPage,
    AlertPublic,
    BudgetIn,
    BudgetList,
    BudgetPatch,
    BudgetPublic,
    BudgetStatus,
    CommitIn,
    CommitResult,
    ReservationIn,
    ReservationPublic,
)
from tokenoptimizer.budgets.service import BudgetExceeded, compile_rule
from tokenoptimizer.pricing import NormalisedUsage, compute_cost
from tokenoptimizer.server.context import AppContext
from tokenoptimizer.server.deps import AdminCaller, Caller, ContextDep, IngestCaller, ReadCaller, SessionDep
from tokenoptimizer.usage.routes import accept_events

router = APIRouter(prefix="/api/v1", tags=["budgets"])

_NOT_FOUND = "budget not found"


def _invalid(loc: list[str | int], msg: str) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": msg, "type": "value_error"}])


def _resolve_scope(session: Session, org_id: str, scope: dict[str, str]) -> dict[str, str]:
    """Projects given by name become ids; projects and API keys must belong to the organisation."""
    resolved = dict(scope)
    if "project" in scope:
        value = scope["project"]
        project_id = session.scalar(
            select(Project.id).where(
                Project.org_id == org_id, or_(Project.id == value, Project.name == value)
            )
        )
        if project_id is None:
            raise _invalid(["body", "scope", "project"], f"no project {value!r} in this organisation")
        resolved["project"] = project_id
    if "api_key" in scope:
        key_id = session.scalar(
            select(ApiKey.id).where(
                ApiKey.org_id == org_id, or_(ApiKey.id == scope["api_key"], ApiKey.prefix == scope["api_key"])
            )
        )
        if key_id is None:
            raise _invalid(
                ["body", "scope", "api_key"], f"no API key {scope['api_key']!r} in this organisation"
            )
        resolved["api_key"] = key_id
    return resolved


def _check_channels(session: Session, org_id: str, channel_ids: list[str]) -> None:
    if not channel_ids:
        return
    from tokenoptimizer.notify import models as notify_models

    channel_table = getattr(notify_models, "Channel", None)
    if channel_table is None:
        return
    found = set(
        session.scalars(
            select(channel_table.id).where(channel_table.org_id == org_id, channel_table.id.in_(channel_ids))
        )
    )
    missing = [c for c in channel_ids if c not in found]
    if missing:
        raise _invalid(
            ["body", "channel_ids"], f"no notification channel {missing[0]!r} in this organisation"
        )


def _public(context: AppContext, budget: Budget, org: Organization, *, with_status: bool) -> BudgetPublic:
    public = BudgetPublic(
        id=budget.id,
        name=budget.name,
        scope=budget.scope,
        period=budget.period,
        starts_on=budget.starts_on,
        limit=budget.limit_amount,
        currency=org.currency,
        thresholds=budget.thresholds,
        action=budget.action,
        rollover=budget.rollover,
        channel_ids=budget.channel_ids,
        enabled=budget.enabled,
        created_at=budget.created_at,
        updated_at=budget.updated_at,
    )
    if with_status:
        public.status = _status(context, budget, org)
    return public


def _status(context: AppContext, budget: Budget, org: Organization) -> BudgetStatus:
    rule = compile_rule(budget, org)
    state = context.budgets.status(rule)
    return BudgetStatus(
        spent=round(state.spent, 6),
        reserved=round(state.reserved, 6),
        remaining=round(state.remaining, 6),
        limit=state.limit,
        percent=round(state.percent, 2),
        currency=org.currency,
        period_start=state.window.start if state.window else None,
        period_end=state.window.end if state.window else None,
        forecast_exhaustion_date=state.forecast_exhaustion,
        forecast_period_spend=round(state.forecast_spend, 6) if state.forecast_spend is not None else None,
        thresholds_reached=[t for t in rule.thresholds if state.percent >= t],
    )


def _budget(session: Session, caller: Caller, budget_id: str) -> tuple[Budget, Organization]:
    budget = session.get(Budget, budget_id)
    if budget is None or budget.org_id != caller.org_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND)
    org = session.get(Organization, caller.org_id)
    assert org is not None
    return budget, org


# -- budgets -------------------------------------------------------------------------------------


@router.get("/budgets", response_model=BudgetList)
def list_budgets(
    caller: ReadCaller,
    session: SessionDep,
    context: ContextDep,
    with_status: bool = Query(default=True, description="Include each budget's current status."),
) -> BudgetList:
    """The organisation's budgets, each with spent, reserved, remaining and forecast."""
    org = session.get(Organization, caller.org_id)
    assert org is not None
    budgets = session.scalars(
        select(Budget).where(Budget.org_id == caller.org_id).order_by(Budget.created_at, Budget.id)
    )
    return BudgetList(budgets=[_public(context, b, org, with_status=with_status) for b in budgets])


@router.post("/budgets", status_code=status.HTTP_201_CREATED, response_model=BudgetPublic)
def create_budget(
    body: BudgetIn, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> BudgetPublic:
    """Create a budget (admins). Its spend so far in the current period is counted at once."""
    org = session.get(Organization, caller.org_id)
    assert org is not None
    _check_channels(session, caller.org_id, body.channel_ids)
    budget = Budget(
        org_id=caller.org_id,
        name=body.name,
        scope=_resolve_scope(session, caller.org_id, body.scope),
        period=body.period.value,
        starts_on=body.starts_on,
        limit_amount=body.limit,
        thresholds=body.thresholds,
        action=body.action,
        rollover=body.rollover,
        channel_ids=body.channel_ids,
        enabled=body.enabled,
    )
    session.add(budget)
    session.flush()
    audit(
        session,
        caller.org_id,
        actor_name(caller.user_id, caller.api_key_id),
        "budget.create",
        budget.id,
        body.model_dump(mode="json"),
    )
    session.commit()
    context.budgets.changed(caller.org_id)
    return _public(context, budget, org, with_status=True)


@router.get("/budgets/{budget_id}", response_model=BudgetPublic)
def get_budget(budget_id: str, caller: ReadCaller, session: SessionDep, context: ContextDep) -> BudgetPublic:
    """One budget with its status."""
    budget, org = _budget(session, caller, budget_id)
    return _public(context, budget, org, with_status=True)


@router.patch("/budgets/{budget_id}", response_model=BudgetPublic)
def update_budget(
    budget_id: str, body: BudgetPatch, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> BudgetPublic:
    """Change a budget (admins); only the fields given change."""
    budget, org = _budget(session, caller, budget_id)
    changes = body.model_dump(exclude_unset=True, mode="json")
    if "scope" in changes and body.scope is not None:
        budget.scope = _resolve_scope(session, caller.org_id, body.scope)
    if body.channel_ids is not None:
        _check_channels(session, caller.org_id, body.channel_ids)
    for name, column in (
        ("name", "name"),
        ("period", "period"),
        ("starts_on", "starts_on"),
        ("limit", "limit_amount"),
        ("thresholds", "thresholds"),
        ("action", "action"),
        ("rollover", "rollover"),
        ("channel_ids", "channel_ids"),
        ("enabled", "enabled"),
    ):
        if name in body.model_fields_set:
            value = getattr(body, name)
            if value is None and name not in ("starts_on",):
                raise _invalid(["body", name], f"{name} cannot be null")
            setattr(budget, column, value.value if name == "period" else value)
    if budget.rollover and budget.period == "total":
        raise _invalid(
            ["body", "rollover"], "rollover needs a repeating period (a total budget has no previous period)"
        )
    audit(
        session,
        caller.org_id,
        actor_name(caller.user_id, caller.api_key_id),
        "budget.update",
        budget.id,
        changes,
    )
    session.commit()
    context.budgets.changed(caller.org_id)
    return _public(context, budget, org, with_status=True)


@router.delete("/budgets/{budget_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_budget(budget_id: str, caller: AdminCaller, session: SessionDep, context: ContextDep) -> Response:
    """Delete a budget and its alerts (admins)."""
    budget, _org = _budget(session, caller, budget_id)
    session.delete(budget)
    audit(
        session,
        caller.org_id,
        actor_name(caller.user_id, caller.api_key_id),
        "budget.delete",
        budget_id,
        {"name": budget.name},
    )
    session.commit()
    context.budgets.changed(caller.org_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/budgets/{budget_id}/status", response_model=BudgetStatus)
def budget_status(
    budget_id: str, caller: ReadCaller, session: SessionDep, context: ContextDep
) -> BudgetStatus:
    """Spent, reserved, remaining, percent, period and forecast exhaustion date."""
    budget, org = _budget(session, caller, budget_id)
    return _status(context, budget, org)


# -- reservations --------------------------------------------------------------------------------


def _amount(body: ReservationIn) -> float:
    if body.estimated_cost_usd is not None:
        return body.estimated_cost_usd
    assert body.model is not None and body.max_output_tokens is not None
    usage = NormalisedUsage(input_tokens=body.input_tokens or 0, output_tokens=body.max_output_tokens)
    cost = compute_cost(usage, provider=body.provider, model=body.model, ts=datetime.now(UTC))
    if cost.price_source == "unknown":
        raise _invalid(
            ["body", "model"],
            f"no price for model {body.model!r}; give estimated_cost_usd, or add a price override for it",
        )
    return cost.total_usd


@router.post(
    "/reservations",
    status_code=status.HTTP_201_CREATED,
    response_model=ReservationPublic,
    responses={402: {"description": "A hard budget would be exceeded (body names it, with its figures)."}},
)
def create_reservation(body: ReservationIn, caller: IngestCaller, context: ContextDep) -> Any:
    """Hold a call's worst-case cost against every hard budget it falls under, atomically.

    Commit it with the call's event once done (or release it); unused reservations expire.
    """
    attribution = {k: v for k, v in body.attribution.items() if v is not None}
    attribution.setdefault("project", caller.key_project_id)  # type: ignore[arg-type]
    if caller.api_key_id is not None:
        attribution["api_key"] = caller.api_key_id
    if body.model is not None:
        attribution.setdefault("model", body.model)
    amount = _amount(body)
    try:
        reservation = context.budgets.reserve(caller.org_id, attribution, amount, ttl=body.ttl_seconds)
    except BudgetExceeded as exc:
        return JSONResponse(status_code=status.HTTP_402_PAYMENT_REQUIRED, content=exc.as_dict())
    return ReservationPublic(
        reservation_id=reservation.reservation_id, expires_at=reservation.expires_at, amount_usd=amount
    )


@router.post("/reservations/{reservation_id}/commit", response_model=CommitResult)
async def commit_reservation(
    reservation_id: str, body: CommitIn, caller: IngestCaller, context: ContextDep
) -> CommitResult:
    """Replace the estimate with the actual cost: store the call's event (or await it by id), then release."""
    if body.event is not None:
        result = await accept_events(context, caller, orjson.dumps(body.event))
        context.budgets.release(caller.org_id, reservation_id)
        return CommitResult(
            reservation_id=reservation_id,
            committed="stored",
            accepted=result.accepted,
            duplicates=result.duplicates,
        )
    assert body.event_id is not None
    if not context.budgets.await_event(caller.org_id, reservation_id, body.event_id):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "reservation not found (released, expired or never made)"
        )
    return CommitResult(reservation_id=reservation_id, committed="awaiting_event")


@router.delete("/reservations/{reservation_id}", status_code=status.HTTP_204_NO_CONTENT)
def release_reservation(reservation_id: str, caller: IngestCaller, context: ContextDep) -> Response:
    """Release a reservation (the call did not happen)."""
    if not context.budgets.release(caller.org_id, reservation_id):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "reservation not found (released, expired or never made)"
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- alerts --------------------------------------------------------------------------------------


def _cursor(alert: Alert) -> str:
    return base64.urlsafe_b64encode(f"{alert.created_at.isoformat()}|{alert.id}".encode()).decode()


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, alert_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created), alert_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid(["query", "cursor"], "invalid cursor; use next_cursor from the previous page") from exc


@router.get("/alerts", response_model=AlertPage)
def list_alerts(
    caller: ReadCaller,
    session: SessionDep,
    kind: str | None = Query(default=None, description="budget_threshold, spend_spike or error_rate"),
    budget_id: str | None = None,
    unread: bool | None = Query(default=None, description="true: only unacknowledged alerts"),
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = None,
) -> AlertPage:
    """Alerts, newest first, with the number of unread ones."""
    conditions = [Alert.org_id == caller.org_id]
    if kind:
        conditions.append(Alert.kind == kind)
    if budget_id:
        conditions.append(Alert.budget_id == budget_id)
    if unread is True:
        conditions.append(Alert.acked_at.is_(None))
    elif unread is False:
        conditions.append(Alert.acked_at.is_not(None))
    query = select(Alert).where(*conditions)
    if cursor:
        created, alert_id = _parse_cursor(cursor)
        query = query.where(
            or_(Alert.created_at < created, and_(Alert.created_at == created, Alert.id < alert_id))
        )
    rows = list(session.scalars(query.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit + 1)))
    unread_count = session.scalar(
        select(func.count()).select_from(Alert).where(Alert.org_id == caller.org_id, Alert.acked_at.is_(None))
    )
    page = rows[:limit]
    return AlertPage(
        alerts=[AlertPublic.model_validate(a, from_attributes=True) for a in page],
        unread_count=unread_count or 0,
        next_cursor=_cursor(page[-1]) if len(rows) > limit else None,
    )


@router.post("/alerts/{alert_id}/ack", response_model=AlertPublic)
def ack_alert(alert_id: str, caller: ReadCaller, session: SessionDep) -> AlertPublic:
    """Mark an alert as read (any member)."""
    alert = session.get(Alert, alert_id)
    if alert is None or alert.org_id != caller.org_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "alert not found")
    if alert.acked_at is None:
        alert.acked_at = datetime.now(UTC)
        alert.acked_by = actor_name(caller.user_id, caller.api_key_id)
    session.commit()
    return AlertPublic.model_validate(alert, from_attributes=True)
