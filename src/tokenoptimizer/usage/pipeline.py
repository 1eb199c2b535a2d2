"""The one ingestion pipeline: validate → normalise usage → price → store.

Every way in (REST API, gateway, SDK, OpenTelemetry, file import, demo data) calls `IngestPipeline`;
nothing else writes events (DESIGN.md §1). Preparation is all-or-nothing: if any event of a batch
is inconsistent or its raw usage cannot be normalised, none is stored and the error names each bad
event by index and field. Accounting (budgets, wallets, alerts) will run here after the batch is
stored, on the rows the store reports as new, so a re-sent event is never accounted twice.

Preparation is the ingest hot path (tens of thousands of events per second on two cores), so it
builds columns directly instead of one object per stored row, and prices a batch at once: events
are grouped by (provider, model), each group's prices and impact factors are resolved once, and
costs and impact are computed with numpy over the whole batch (`pricing.batch`, `impact.batch`;
docs/decisions/0003-batched-pricing.md). The results are those of pricing each event on its own,
to the last bit; that per-event path is kept for small batches (where numpy's fixed cost per call
dominates) and for batches with a bad event (it names every problem) or out-of-range counts.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
import numpy as np
import numpy.typing as npt

from tokenoptimizer.impact import compute_impact
from tokenoptimizer.impact.batch import impact_batch
from tokenoptimizer.pricing import (
    NormalisedUsage,
    PriceOverride,
    billed_cost,
    compute_cost,
    normalise_usage,
)
from tokenoptimizer.pricing.batch import UsageArrays, billed_costs, group_calls, price_batch
from tokenoptimizer.usage.schemas import IngestResult
from tokenoptimizer.usage.stores.base import EventBatch, EventColumns, EventStore, events_table
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


BATCH_MIN_EVENTS = 16
"""Batches at least this long take the batch path. Its fixed cost (~100 µs of numpy calls) beats
per-event pricing (~11 µs an event) from ~10 events on; measured with `bench/ingest.py`'s data."""

ARROW_MIN_EVENTS = 256
"""Batches at least this long are handed to the store as Arrow tables (see `_for_store`)."""

_FIELDS: tuple[str, ...] = WireEvent.__struct_fields__
_COUNTS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
# Counts beyond this (impossible from the API, which caps them at 10^9) take the per-event path,
# so int64 sums cannot overflow.
_MAX_COUNT = 2**52


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
        columns = None
        if len(events) >= BATCH_MIN_EVENTS:
            columns = _prepare_batch(events, pricing, now)
        if columns is None:
            columns = _prepare_each(events, pricing, now, loc)
        count = len(columns["event_id"])
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
        batch = _for_store(self.prepare(events, attribution, source=source))
        result = await self.store.append_async(batch)
        return IngestResult(accepted=result.accepted, duplicates=result.duplicates)

    def ingest_sync(
        self, events: Sequence[WireEvent], attribution: Attribution, *, source: str
    ) -> IngestResult:
        """`ingest` for synchronous callers (CLI, demo data)."""
        batch = _for_store(self.prepare(events, attribution, source=source))
        result = self.store.append(batch)
        return IngestResult(accepted=result.accepted, duplicates=result.duplicates)


def warm_up() -> None:
    """Load now what pricing and impact load on first use (price catalogue, impact models, caches).

    The server calls it before freezing its start-up objects out of the garbage collector's reach
    (`serve`); otherwise they are loaded by the first request and scanned by every full collection.
    """
    now = datetime.now(UTC)
    for provider, model in (("openai", "gpt-4o-mini"), ("anthropic", "claude-3-5-haiku-latest")):
        event = WireEvent(provider=provider, model=model, input_tokens=1000, output_tokens=100)
        _prepare_batch([event] * BATCH_MIN_EVENTS, OrgPricing(), now)
        _prepare_each([event], OrgPricing(), now, ("warm-up",))


def _for_store(columns: EventColumns) -> EventBatch:
    """A large batch as an Arrow table, converted here rather than in the store's writer thread.

    The writer is the one serial step of ingestion: converting there, it could not append while
    converting. Small batches stay columns, which the writer converts together once per commit
    (converting a table costs ~10 µs per column whatever its length).
    """
    return events_table(columns) if len(columns["event_id"]) >= ARROW_MIN_EVENTS else columns


def _prepare_each(events: Sequence[WireEvent], pricing: OrgPricing, now: datetime, loc: Loc) -> EventColumns:
    """Event by event: the reference behaviour, and the one that names every bad event."""
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
        cost = compute_cost(usage, provider=provider, model=event.model, ts=ts, overrides=pricing.overrides)
        impact = compute_impact(
            provider=provider,
            model=event.model,
            output_tokens=usage.output_tokens,
            latency_ms=event.latency_ms,
            electricity_zone=pricing.electricity_zone,
        )
        reported = event.reported_cost_usd if event.reported_cost_usd is not None else usage.reported_cost_usd
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
    for name in _PASSTHROUGH:
        columns[name] = [getattr(event, name) for event in events]
    columns["event_id"] = event_ids
    columns["ts"] = timestamps
    columns["provider"] = providers
    return cast(EventColumns, columns)  # lists, as `EventColumns` allows


IntArray = npt.NDArray[np.int64]


@dataclass(slots=True)
class _BatchUsage:
    """A batch's normalised usage: the arrays that price it and the stored token columns."""

    arrays: UsageArrays
    columns: EventColumns
    reported: list[float | None]


def _prepare_batch(events: Sequence[WireEvent], pricing: OrgPricing, now: datetime) -> EventColumns | None:
    """The whole batch at once, or None when it needs the per-event path (a bad event, odd counts)."""
    fields = dict(
        zip(_FIELDS, map(list, zip(*map(msgspec.structs.astuple, events), strict=True)), strict=True)
    )
    keys, group_of = group_calls(fields["provider"], fields["model"])
    lowered = [(provider.lower(), model) for provider, model in keys]
    providers: list[str] = np.array([provider for provider, _ in lowered], dtype=object)[group_of].tolist()
    usage = _batch_usage(fields, providers)
    if usage is None:
        return None
    timestamps = [
        now if ts is None else ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC) for ts in fields["ts"]
    ]
    cost = price_batch(lowered, group_of, timestamps, usage.arrays, pricing.overrides)
    billed = billed_costs(
        cost.total_usd, markup_percent=pricing.markup_percent, fee_percents=pricing.fee_percents
    )
    latency = np.array(fields["latency_ms"], dtype=np.float64)  # None becomes NaN
    energy, co2e, water = impact_batch(
        lowered, group_of, usage.arrays.output_tokens, latency, pricing.electricity_zone
    )
    columns: EventColumns = {name: fields[name] for name in _PASSTHROUGH}
    columns.update(usage.columns)
    # Numbers stay numpy arrays: they become Arrow columns without a copy.
    columns.update(
        cost_usd=cost.total_usd,
        cost_input_usd=cost.input_usd,
        cost_cache_read_usd=cost.cache_read_usd,
        cost_cache_write_usd=cost.cache_write_usd,
        cost_output_usd=cost.output_usd,
        cost_reasoning_usd=cost.reasoning_usd,
        billed_cost_usd=billed,
        reported_cost_usd=usage.reported,
        price_source=cost.price_source,
        energy_kwh=energy,
        co2e_kg=co2e,
        water_l=water,
        event_id=_event_id_strings(fields["event_id"]),
        ts=timestamps,
        provider=providers,
    )
    return columns


def _int_columns(columns: list[list[Any]]) -> list[IntArray] | None:
    """Token counts as int64 arrays, or None unless every one is a plain int in [0, _MAX_COUNT]."""
    if not set(map(type, itertools.chain.from_iterable(columns))) <= {int}:
        return None
    try:
        array = np.array(columns, dtype=np.int64)
    except OverflowError:
        return None
    if array.size and (array.min() < 0 or array.max() > _MAX_COUNT):
        return None
    return list(array)


def _batch_usage(fields: dict[str, list[Any]], providers: list[str]) -> _BatchUsage | None:
    """Check and normalise every event's usage; None if any event is bad (the per-event path names it)."""
    arrays = _int_columns([fields[name] for name in _COUNTS])
    if arrays is None:
        return None
    input_tokens, output_tokens, cache_read, cache_write, reasoning = arrays
    # The checks of `_consistency_problem` for normalised counts; events with raw usage have all
    # counts zero (or are refused below), so these hold for them too.
    if ((cache_read + cache_write > input_tokens) | (reasoning > output_tokens)).any():
        return None
    count = len(input_tokens)
    zeros = np.zeros(count, dtype=np.int64)
    reported: list[float | None] = fields["reported_cost_usd"]
    raw_usage = fields["raw_usage"]
    with_raw = [index for index, raw in enumerate(raw_usage) if raw is not None]
    if not with_raw:
        columns: EventColumns = dict(zip(_COUNTS, arrays, strict=True))
        columns["cache_write_1h_tokens"] = zeros
        return _BatchUsage(
            UsageArrays(input_tokens, output_tokens, cache_read, cache_write, zeros, reasoning, zeros, zeros),
            columns,
            reported,
        )
    apis = fields["api"]
    extra = [zeros.copy() for _ in range(3)]  # cache_write_1h, input audio, output audio
    everything = (*arrays, *extra)
    reported = list(reported)
    selected = np.array(with_raw, dtype=np.int64)
    if any(array[selected].any() for array in arrays):
        return None  # raw usage beside normalised counts
    for index in with_raw:
        api = apis[index]
        if api is None:
            return None
        try:
            usage = normalise_usage(providers[index], api, raw_usage[index])
        except ValueError:
            return None
        values = (
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_read_tokens,
            usage.cache_write_tokens,
            usage.reasoning_tokens,
            usage.cache_write_1h_tokens,
            usage.input_audio_tokens,
            usage.output_audio_tokens,
        )
        if max(values) > _MAX_COUNT:
            return None
        for array, value in zip(everything, values, strict=True):
            array[index] = value
        if reported[index] is None:
            reported[index] = usage.reported_cost_usd
    write_1h, audio_in, audio_out = extra
    columns = dict(zip(_COUNTS, arrays, strict=True))
    columns["cache_write_1h_tokens"] = write_1h
    return _BatchUsage(
        UsageArrays(
            input_tokens, output_tokens, cache_read, cache_write, write_1h, reasoning, audio_in, audio_out
        ),
        columns,
        reported,
    )


# Positions of the 32 hex digits in the 36 characters of a UUID's text (dashes at 8, 13, 18, 23).
_HEX_POSITIONS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def _event_id_strings(event_ids: list[uuid.UUID | None]) -> list[str]:
    """`str(event_id)` of each id (a new random one where missing), ~2x faster than `str` per id."""
    ids = [event_id if event_id is not None else uuid.uuid4() for event_id in event_ids]
    if not set(map(type, ids)) <= {uuid.UUID}:
        return [str(event_id) for event_id in ids]
    raw = b"".join([event_id.int.to_bytes(16, "big") for event_id in ids])
    text = np.full((len(ids), 37), ord("-"), dtype=np.uint8)
    text[:, _HEX_POSITIONS] = np.frombuffer(raw.hex().encode("ascii"), dtype=np.uint8).reshape(-1, 32)
    text[:, 36] = ord(" ")
    return text.tobytes().decode("ascii").split()
