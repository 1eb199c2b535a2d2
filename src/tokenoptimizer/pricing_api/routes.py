"""HTTP routes of pricing: overrides, re-pricing, the model catalogue, unpriced models, estimates."""

from __future__ import annotations

import dataclasses
from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from tokenoptimizer.accounts.service import actor_name, audit
from tokenoptimizer.pricing import list_models
from tokenoptimizer.pricing_api import service
from tokenoptimizer.pricing_api.models import PriceOverrideRow
from tokenoptimizer.pricing_api.schemas import (
    EstimateIn,
    ModelPricePublic,
    PriceOverrideIn,
    PriceOverridePublic,
    RepriceIn,
    RepriceResult,
    UnpricedModel,
)
from tokenoptimizer.server.deps import AdminCaller, Caller, ContextDep, ReadCaller, SessionDep
from tokenoptimizer.tokens import estimate

router = APIRouter(prefix="/api/v1", tags=["pricing"])


def _actor(caller: Caller) -> str:
    return actor_name(caller.user_id, caller.api_key_id)


@router.get("/price-overrides", response_model=list[PriceOverridePublic])
def list_price_overrides(caller: ReadCaller, session: SessionDep) -> list[PriceOverrideRow]:
    """The organisation's custom model prices and discounts."""
    return service.list_overrides(session, caller.org_id)


@router.post("/price-overrides", status_code=status.HTTP_201_CREATED, response_model=PriceOverridePublic)
def create_price_override(
    body: PriceOverrideIn, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> PriceOverrideRow:
    """Add a custom model price or a discount. New events use it at once; past ones after a re-price."""
    row = service.create_override(session, caller.org_id, _actor(caller), body)
    session.commit()
    context.org_pricing.invalidate(caller.org_id)
    return row


@router.get("/price-overrides/{override_id}", response_model=PriceOverridePublic)
def get_price_override(override_id: str, caller: ReadCaller, session: SessionDep) -> PriceOverrideRow:
    """One override."""
    try:
        return service.get_override(session, caller.org_id, override_id)
    except service.OverrideNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such price override") from exc


@router.put("/price-overrides/{override_id}", response_model=PriceOverridePublic)
def update_price_override(
    override_id: str, body: PriceOverrideIn, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> PriceOverrideRow:
    """Replace an override."""
    try:
        row = service.update_override(session, caller.org_id, _actor(caller), override_id, body)
    except service.OverrideNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such price override") from exc
    session.commit()
    context.org_pricing.invalidate(caller.org_id)
    return row


@router.delete("/price-overrides/{override_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_price_override(
    override_id: str, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> None:
    """Remove an override."""
    try:
        service.delete_override(session, caller.org_id, _actor(caller), override_id)
    except service.OverrideNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such price override") from exc
    session.commit()
    context.org_pricing.invalidate(caller.org_id)


@router.post("/reprice", response_model=RepriceResult)
def reprice(body: RepriceIn, caller: AdminCaller, session: SessionDep, context: ContextDep) -> RepriceResult:
    """Recompute the cost of stored events in [from, to) with today's catalogue, overrides and markup.

    Reports how many events and how much cost changed. Running it again changes nothing.
    """
    pricing = context.org_pricing(caller.org_id)
    result = service.reprice(
        context.store, caller.org_id, pricing, body.from_.astimezone(UTC), body.to.astimezone(UTC), body.model
    )
    audit(
        session,
        caller.org_id,
        _actor(caller),
        "reprice",
        body.model or "*",
        {**body.model_dump(mode="json", by_alias=True), **result.model_dump()},
    )
    context.budgets.changed(caller.org_id, rebuild=True)  # spend counters follow the new costs
    return result


@router.get("/models", response_model=list[ModelPricePublic])
def models(
    _caller: ReadCaller,
    q: Annotated[str | None, Query(description="Part of the model id or name.")] = None,
    provider: Annotated[str | None, Query(description="Provider id, e.g. openai.")] = None,
) -> list[dict[str, Any]]:
    """Models of the price catalogue with their current prices per million tokens."""
    return [dataclasses.asdict(model) for model in list_models(q=q, provider=provider)]


@router.get("/models/unpriced", response_model=list[UnpricedModel])
def unpriced_models(caller: ReadCaller, context: ContextDep) -> list[dict[str, Any]]:
    """Models seen in this organisation's events without a known price (their cost is stored as 0).

    Add a custom-model price override for each, then re-price.
    """
    sql = (
        "SELECT provider, model, count(*) AS events, min(ts) AS first_seen, max(ts) AS last_seen "
        "FROM events WHERE org_id = ? AND price_source = 'unknown'"
    )
    params: list[Any] = [caller.org_id]
    if caller.project_restriction is not None:
        sql += " AND project_id = ?"
        params.append(caller.project_restriction)
    sql += " GROUP BY provider, model ORDER BY events DESC"
    rows: list[dict[str, Any]] = context.store.fetch_arrow(sql, params).to_pylist()
    for row in rows:
        row["first_seen"] = row["first_seen"].replace(tzinfo=UTC)
        row["last_seen"] = row["last_seen"].replace(tzinfo=UTC)
    return rows


@router.post("/estimate")
def estimate_call(body: EstimateIn, caller: ReadCaller, context: ContextDep) -> dict[str, Any]:
    """Tokens and cost of a call before making it, and of cheaper comparable models.

    Counting is exact for OpenAI-family models (tiktoken, offline) and approximate for others.
    """
    pricing = context.org_pricing(caller.org_id)
    result = estimate(
        model=body.model,
        provider=body.provider,
        messages=body.messages,
        prompt=body.prompt,
        max_output_tokens=body.max_output_tokens,
        overrides=pricing.overrides,
    )
    return dataclasses.asdict(result)
