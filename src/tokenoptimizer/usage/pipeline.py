"""The one ingestion pipeline: validate → normalise usage → price → store.

Every way in (REST API, gateway, SDK, OpenTelemetry, file import, demo data) calls `IngestPipeline`;
nothing else writes events (DESIGN.md §1). Preparation is all-or-nothing: if any event of a batch
is inconsistent or its raw usage cannot be normalised, none is stored and the error names each bad
event by index and field. Accounting (budgets, wallets, alerts) will run here after the batch is
stored, on the rows the store reports as new, so a re-sent event is never accounted twice.

Preparation is the ingest hot path (tens of thousands of events per second on two cores), so it
builds columns directly instead of one object per stored row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tokenoptimizer.impact import compute_impact
from tokenoptimizer.pricing import (
    NormalisedUsage,
    PriceOverride,
    billed_cost,
    compute_cost,
    normalise_usage,
)
from tokenoptimizer.usage.schemas import IngestResult
from tokenoptimizer.usage.stores.base import EventColumns, EventStore
from tokenoptimizer.usage.wire import WireEvent

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who sent the events: set from the credential, never from the event body."""

    org_id: str
    project_id: str
    api_key_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrgPricing:
    """An organisation's pricing settings that apply at ingest."""

    markup_percent: float = 0.0
    fee_percents: tuple[float, ...] = ()
    overrides: tuple[PriceOverride, ...] = ()
    electricity_zone: str | None = None


@dataclass
class IngestError(Exception):
    """Some events cannot be stored; `errors` are FastAPI-style entries with `loc`, `msg`, `type`."""

    errors: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in self.errors)


def _consistency_problem(event: WireEvent) -> tuple[str, str] | None:
    """(field, message) when fields contradict each other, else None."""
    counts = (
        event.input_tokens,
        event.output_tokens,
        event.cache_read_tokens,
        event.cache_write_tokens,
        event.reasoning_tokens,
    )
    if event.raw_usage is not None:
        if event.api is None:
            return "api", "'api' is required with 'raw_usage' (e.g. chat, messages, responses)"
        if any(counts):
            return "raw_usage", "give either 'raw_usage' or normalised token counts, not both"
        return None
    if event.cache_read_tokens + event.cache_write_tokens > event.input_tokens:
        return "cache_read_tokens", "cache_read_tokens + cache_write_tokens cannot exceed input_tokens"
    if event.reasoning_tokens > event.output_tokens:
        return "reasoning_tokens", "reasoning_tokens cannot exceed output_tokens (output includes reasoning)"
    return None


def _usage_of(event: WireEvent) -> NormalisedUsage:
    if event.raw_usage is not None and event.api is not None:
        return normalise_usage(event.provider.lower(), event.api, event.raw_usage)
    return NormalisedUsage(
        input_tokens=event.input_tokens,
        output_tokens=event.output_tokens,
        cache_read_tokens=event.cache_read_tokens,
        cache_write_tokens=event.cache_write_tokens,
        reasoning_tokens=event.reasoning_tokens,
    )


# Stored as sent.
_PASSTHROUGH = (
    "model",
    "requested_model",
    "endpoint",
    "request_type",
    "status",
    "error_type",
    "user",
    "end_user",
    "team",
    "feature",
    "tags",
    "latency_ms",
    "time_to_first_token_ms",
    "prompt_hash",
    "trace_id",
)
# Filled per event by normalisation, pricing and impact.
_COMPUTED = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "cost_usd",
    "cost_input_usd",
    "cost_cache_read_usd",
    "cost_cache_write_usd",
    "cost_output_usd",
    "cost_reasoning_usd",
    "billed_cost_usd",
    "reported_cost_usd",
    "price_source",
    "energy_kwh",
    "co2e_kg",
    "water_l",
)


class IngestPipeline:
    """Turns validated events into priced rows and stores them, all or nothing."""

    def __init__(self, store: EventStore, org_pricing: Callable[[str], OrgPricing]) -> None:
        self.store = store
        self.org_pricing = org_pricing

    def prepare(
        self,
        events: Sequence[WireEvent],
        attribution: Attribution,
        *,
        source: str,
        loc: Loc = ("body", "events"),
    ) -> EventColumns:
        """Normalise and price events into stored-row columns; raise `IngestError` naming bad events."""
        pricing = self.org_pricing(attribution.org_id)
        now = datetime.now(UTC)
        columns: dict[str, list[Any]] = {name: [] for name in _COMPUTED}
        computed = [columns[name] for name in _COMPUTED]
        event_ids: list[str] = []
        timestamps: list[datetime] = []
        providers: list[str] = []
        errors: list[dict[str, Any]] = []
        for index, event in enumerate(events):
            problem = _consistency_problem(event)
            if problem is not None:
                errors.append({"loc": [*loc, index, problem[0]], "msg": problem[1], "type": "value_error"})
                continue
            try:
                usage = _usage_of(event)
            except ValueError as exc:
                errors.append({"loc": [*loc, index, "raw_usage"], "msg": str(exc), "type": "value_error"})
                continue
            provider = event.provider.lower()
            ts = event.ts or now
            if ts.tzinfo is None:
                ts = ts.replace(tzinfo=UTC)
            cost = compute_cost(
                usage, provider=provider, model=event.model, ts=ts, overrides=pricing.overrides
            )
            impact = compute_impact(
                provider=provider,
                model=event.model,
                output_tokens=usage.output_tokens,
                latency_ms=event.latency_ms,
                electricity_zone=pricing.electricity_zone,
            )
            reported = (
                event.reported_cost_usd if event.reported_cost_usd is not None else usage.reported_cost_usd
            )
            values = (
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_read_tokens,
                usage.cache_write_tokens,
                usage.cache_write_1h_tokens,
                usage.reasoning_tokens,
                cost.total_usd,
                cost.input_usd,
                cost.cache_read_usd,
                cost.cache_write_usd,
                cost.output_usd,
                cost.reasoning_usd,
                billed_cost(
                    cost.total_usd, markup_percent=pricing.markup_percent, fee_percents=pricing.fee_percents
                ),
                reported,
                cost.price_source,
                impact.energy_kwh if impact else None,
                impact.co2e_kg if impact else None,
                impact.water_l if impact else None,
            )
            for column, value in zip(computed, values, strict=True):
                column.append(value)
            event_ids.append(str(event.event_id or uuid.uuid4()))
            timestamps.append(ts)
            providers.append(provider)
        if errors:
            raise IngestError(errors)
        count = len(event_ids)
        for name in _PASSTHROUGH:
            columns[name] = [getattr(event, name) for event in events]
        columns["event_id"] = event_ids
        columns["ts"] = timestamps
        columns["provider"] = providers
        columns["org_id"] = [attribution.org_id] * count
        columns["project_id"] = [attribution.project_id] * count
        columns["api_key_id"] = [attribution.api_key_id] * count
        columns["source"] = [source] * count
        columns["ingested_at"] = [now] * count
        return columns

    async def ingest(
        self, events: Sequence[WireEvent], attribution: Attribution, *, source: str
    ) -> IngestResult:
        """Prepare and durably store events; answer only once they are stored."""
        batch = self.prepare(events, attribution, source=source)
        result = await self.store.append_async(batch)
        return IngestResult(accepted=result.accepted, duplicates=result.duplicates)

    def ingest_sync(
        self, events: Sequence[WireEvent], attribution: Attribution, *, source: str
    ) -> IngestResult:
        """`ingest` for synchronous callers (CLI, demo data)."""
        batch = self.prepare(events, attribution, source=source)
        result = self.store.append(batch)
        return IngestResult(accepted=result.accepted, duplicates=result.duplicates)
