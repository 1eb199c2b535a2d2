"""Price overrides in the database, and re-pricing stored events. No HTTP here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from tokenoptimizer.accounts.service import audit
from tokenoptimizer.pricing import NormalisedUsage, PriceOverride, billed_cost, compute_cost
from tokenoptimizer.pricing_api.models import PriceOverrideRow
from tokenoptimizer.pricing_api.schemas import PriceOverrideIn, RepriceResult
from tokenoptimizer.usage.pipeline import OrgPricing
from tokenoptimizer.usage.stores import EventStore

REPRICE_CHUNK = 200_000
_COST_COLUMNS = (
    "cost_usd",
    "cost_input_usd",
    "cost_cache_read_usd",
    "cost_cache_write_usd",
    "cost_output_usd",
    "cost_reasoning_usd",
    "billed_cost_usd",
)


class OverrideNotFound(LookupError):
    """No such override in this organisation."""


def to_price_override(row: PriceOverrideRow) -> PriceOverride:
    """The pure-pricing form of a stored override."""
    kind: Literal["custom_model", "discount"] = "discount" if row.kind == "discount" else "custom_model"
    return PriceOverride(
        id=row.id,
        kind=kind,
        model_pattern=row.model_pattern,
        provider=row.provider,
        input_per_mtok=row.input_per_mtok,
        cache_read_per_mtok=row.cache_read_per_mtok,
        cache_write_per_mtok=row.cache_write_per_mtok,
        output_per_mtok=row.output_per_mtok,
        reasoning_per_mtok=row.reasoning_per_mtok,
        discount_percent=row.discount_percent,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
    )


def org_overrides(session: Session, org_id: str) -> tuple[PriceOverride, ...]:
    """Every override of the organisation, oldest first (later ones win ties)."""
    rows = session.scalars(
        select(PriceOverrideRow)
        .where(PriceOverrideRow.org_id == org_id)
        .order_by(PriceOverrideRow.created_at)
    )
    return tuple(to_price_override(row) for row in rows)


def _details(body: PriceOverrideIn) -> dict[str, Any]:
    return body.model_dump(mode="json")


def list_overrides(session: Session, org_id: str) -> list[PriceOverrideRow]:
    """The organisation's overrides, newest first."""
    return list(
        session.scalars(
            select(PriceOverrideRow)
            .where(PriceOverrideRow.org_id == org_id)
            .order_by(PriceOverrideRow.created_at.desc())
        )
    )


def get_override(session: Session, org_id: str, override_id: str) -> PriceOverrideRow:
    """One of the organisation's overrides, or `OverrideNotFound`."""
    row = session.scalar(
        select(PriceOverrideRow).where(PriceOverrideRow.org_id == org_id, PriceOverrideRow.id == override_id)
    )
    if row is None:
        raise OverrideNotFound(override_id)
    return row


def create_override(session: Session, org_id: str, actor: str, body: PriceOverrideIn) -> PriceOverrideRow:
    """Store a new override and audit it."""
    row = PriceOverrideRow(org_id=org_id, **body.model_dump())
    session.add(row)
    session.flush()
    audit(session, org_id, actor, "price_override.create", row.id, _details(body))
    return row


def update_override(
    session: Session, org_id: str, actor: str, override_id: str, body: PriceOverrideIn
) -> PriceOverrideRow:
    """Replace an override's fields and audit the change."""
    row = get_override(session, org_id, override_id)
    for name, value in body.model_dump().items():
        setattr(row, name, value)
    session.flush()
    audit(session, org_id, actor, "price_override.update", row.id, _details(body))
    return row


def delete_override(session: Session, org_id: str, actor: str, override_id: str) -> None:
    """Remove an override and audit it."""
    row = get_override(session, org_id, override_id)
    session.delete(row)
    audit(session, org_id, actor, "price_override.delete", override_id, {})


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def reprice(
    store: EventStore,
    org_id: str,
    pricing: OrgPricing,
    start: datetime,
    end: datetime,
    model: str | None = None,
) -> RepriceResult:
    """Price the organisation's stored events in [start, end) again, and store what changed.

    Idempotent: running it twice with the same prices changes nothing the second time.
    """
    where = "org_id = ? AND ts >= ? AND ts < ?"
    params: list[Any] = [org_id, _naive(start), _naive(end)]
    if model is not None:
        where += " AND model = ?"
        params.append(model)
    events = changed = 0
    before = after = 0.0
    offset = 0
    while True:
        table = store.fetch_arrow(
            "SELECT event_id::VARCHAR AS event_id, ts, provider, model, input_tokens, output_tokens, "
            "cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, cost_usd, "
            f"billed_cost_usd, price_source FROM events WHERE {where} "
            f"ORDER BY ts, event_id LIMIT {REPRICE_CHUNK} OFFSET {offset}",
            params,
        )
        if table.num_rows == 0:
            break
        offset += table.num_rows
        updates: dict[str, list[Any]] = {name: [] for name in ("event_id", *_COST_COLUMNS, "price_source")}
        for row in table.to_pylist():
            events += 1
            usage = NormalisedUsage(
                input_tokens=row["input_tokens"],
                output_tokens=row["output_tokens"],
                cache_read_tokens=row["cache_read_tokens"],
                cache_write_tokens=row["cache_write_tokens"],
                cache_write_1h_tokens=row["cache_write_1h_tokens"],
                reasoning_tokens=row["reasoning_tokens"],
            )
            cost = compute_cost(
                usage,
                provider=row["provider"],
                model=row["model"],
                ts=row["ts"].replace(tzinfo=UTC),
                overrides=pricing.overrides,
            )
            billed = billed_cost(
                cost.total_usd, markup_percent=pricing.markup_percent, fee_percents=pricing.fee_percents
            )
            before += row["cost_usd"]
            after += cost.total_usd
            if (
                abs(cost.total_usd - row["cost_usd"]) <= 1e-15
                and abs(billed - (row["billed_cost_usd"] or 0.0)) <= 1e-15
                and cost.price_source == row["price_source"]
            ):
                continue
            changed += 1
            values = (
                row["event_id"],
                cost.total_usd,
                cost.input_usd,
                cost.cache_read_usd,
                cost.cache_write_usd,
                cost.output_usd,
                cost.reasoning_usd,
                billed,
                cost.price_source,
            )
            for column, value in zip(updates.values(), values, strict=True):
                column.append(value)
        if updates["event_id"]:
            store.update_costs(org_id, pa.table(updates))
    return RepriceResult(
        events=events, changed=changed, cost_before_usd=before, cost_after_usd=after, delta_usd=after - before
    )
