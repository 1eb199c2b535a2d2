"""The event store interface: an append-only, idempotent log of usage events.

Stores take columnar batches (Arrow tables with the columns of `EVENT_COLUMNS`) because columnar
engines append batches 100–1000× faster than rows (DESIGN.md §6). Appends are idempotent by
`event_id`: a re-sent event is reported as a duplicate and stored once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

# Column name -> Arrow type. The order is the physical order of the stored table.
EVENT_COLUMNS: dict[str, pa.DataType] = {
    "event_id": pa.string(),
    "ts": pa.timestamp("us"),  # UTC
    "org_id": pa.string(),
    "project_id": pa.string(),
    "api_key_id": pa.string(),
    "provider": pa.string(),
    "model": pa.string(),
    "requested_model": pa.string(),
    "endpoint": pa.string(),
    "request_type": pa.string(),
    "status": pa.string(),
    "error_type": pa.string(),
    "user": pa.string(),
    "end_user": pa.string(),
    "team": pa.string(),
    "feature": pa.string(),
    "tags": pa.map_(pa.string(), pa.string()),
    "input_tokens": pa.int64(),
    "output_tokens": pa.int64(),
    "cache_read_tokens": pa.int64(),
    "cache_write_tokens": pa.int64(),
    "cache_write_1h_tokens": pa.int64(),  # part of cache_write_tokens with Anthropic's 1-hour TTL
    "reasoning_tokens": pa.int64(),
    "latency_ms": pa.float64(),
    "time_to_first_token_ms": pa.float64(),
    "cost_usd": pa.float64(),
    "cost_input_usd": pa.float64(),
    "cost_cache_read_usd": pa.float64(),
    "cost_cache_write_usd": pa.float64(),
    "cost_output_usd": pa.float64(),
    "cost_reasoning_usd": pa.float64(),
    "billed_cost_usd": pa.float64(),
    "reported_cost_usd": pa.float64(),
    "price_source": pa.string(),
    "energy_kwh": pa.float64(),
    "co2e_kg": pa.float64(),
    "water_l": pa.float64(),
    "prompt_hash": pa.string(),
    "trace_id": pa.string(),
    "source": pa.string(),
    "ingested_at": pa.timestamp("us"),  # UTC; stamped by the store at commit, increasing
}
EVENT_SCHEMA = pa.schema(list(EVENT_COLUMNS.items()))


_UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")


def _column(values: ColumnValues, dtype: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(dtype):
        # Aware datetimes are converted to UTC; naive ones are taken as UTC already.
        return pa.array(values, type=_UTC_TIMESTAMP).cast(dtype)
    return pa.array(values, type=dtype)


def _missing(length: int, dtype: pa.DataType) -> pa.Array:
    # Token counts are never null: a count not given is zero.
    if pa.types.is_integer(dtype):
        return pa.repeat(pa.scalar(0, type=dtype), length)
    return pa.nulls(length, type=dtype)


ColumnValues: TypeAlias = list[Any] | npt.NDArray[Any]
EventColumns: TypeAlias = dict[str, ColumnValues]
"""Events as columns (names of `EVENT_COLUMNS`): Python lists, or numpy arrays for numbers (which
become Arrow without a copy). A store turns small batches into Arrow once per commit."""

EventBatch: TypeAlias = pa.Table | EventColumns


def batch_rows(batch: EventBatch) -> int:
    """How many events a batch holds."""
    return batch.num_rows if isinstance(batch, pa.Table) else len(batch["event_id"])


def combine_batches(batches: list[EventBatch]) -> pa.Table:
    """One Arrow table of several batches.

    Column lists are concatenated first and converted once: converting each small request's lists
    separately costs ~10 µs per column per request, most of a single-event request's budget.
    """
    lists = [b for b in batches if not isinstance(b, pa.Table)]
    tables = [b for b in batches if isinstance(b, pa.Table)]
    if lists:
        merged = {name: _concatenate([batch[name] for batch in lists]) for name in lists[0]}
        tables.insert(0, events_table(merged))
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def _concatenate(parts: list[ColumnValues]) -> ColumnValues:
    if len(parts) == 1:
        return parts[0]
    if all(isinstance(part, np.ndarray) for part in parts):
        return np.concatenate(parts)
    return [value for part in parts for value in (part.tolist() if isinstance(part, np.ndarray) else part)]


def events_table(columns: EventColumns) -> pa.Table:
    """Build an Arrow table of events from column lists (missing columns become nulls)."""
    length = len(columns["event_id"])
    arrays = [
        _column(columns[name], dtype) if name in columns else _missing(length, dtype)
        for name, dtype in EVENT_COLUMNS.items()
    ]
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one append stored."""

    accepted: int
    duplicates: int


T = TypeVar("T")

StoredListener: TypeAlias = Callable[[pa.Table], None]
"""Receives the newly stored rows of one append (an Arrow table with the columns of EVENT_COLUMNS)."""


class EventStoreError(RuntimeError):
    """The event store cannot be opened or written (the message says why and what to do)."""


class EventStore(Protocol):
    """Append-only storage of usage events, idempotent by event id."""

    sql_dialect: str
    """The SQLGlot dialect its `fetch` queries are written in (`duckdb`, `clickhouse`)."""

    rollups: bool
    """Whether it keeps the rollup tables of `usage.stores.rollups` (analytics then read them
    where they can answer a question)."""

    @property
    def rollups_pending(self) -> str | None:
        """A table of events not yet added to the rollups, or None while there are none.

        Readers of the rollups must read it too.
        """
        ...

    def append(self, batch: EventBatch) -> AppendResult:
        """Store a batch durably and return once it is stored; rows whose event_id exists are skipped."""
        ...

    async def append_async(self, batch: EventBatch) -> AppendResult:
        """`append` for async callers: waits without blocking the event loop."""
        ...

    def fetch(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a read-only query and return its rows."""
        ...

    def fetch_arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a read-only query and return an Arrow table."""
        ...

    def update_costs(self, org_id: str, costs: pa.Table) -> int:
        """Replace the cost columns of the organisation's events named by `event_id` in `costs`."""
        ...

    def add_listener(self, listener: StoredListener) -> None:
        """Call `listener` with the rows of every append that were new, right after they are stored.

        Listeners run one at a time, in commit order, between appends (budget and wallet
        accounting rely on this: a counter rebuilt in `run_exclusive` is never counted twice).
        A failing listener is logged and never fails the append.
        """
        ...

    def run_exclusive(self, work: Callable[[], T]) -> T:
        """Run `work` between appends (no append is stored while it runs) and return its result."""
        ...

    def count(self) -> int:
        """Number of stored events (all organisations)."""
        ...

    def ping(self) -> None:
        """Raise if the store is unreachable."""
        ...

    def close(self) -> None:
        """Flush pending writes and release the store."""
        ...
