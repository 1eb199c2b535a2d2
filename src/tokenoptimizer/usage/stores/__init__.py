"""Event stores: where usage events live (DuckDB by default; ClickHouse when one machine is outgrown)."""

from tokenoptimizer.usage.stores.base import (
    EVENT_COLUMNS,
    EVENT_SCHEMA,
    AppendResult,
    EventStore,
    EventStoreError,
    events_table,
)


def open_event_store(url: str, *, memory_limit: str | None = None, threads: int | None = None) -> EventStore:
    """Open the event store named by a URL (`duckdb:///path`).

    `memory_limit` (e.g. `1GB`) and `threads` cap what an embedded engine (DuckDB) may take.
    """
    if url.startswith("duckdb:"):
        from tokenoptimizer.usage.stores.duckdb import DuckDBEventStore

        return DuckDBEventStore(url, memory_limit=memory_limit, threads=threads)
    raise EventStoreError(f"unsupported events URL {url!r}: use duckdb:///path/to/events.duckdb")


__all__ = [
    "EVENT_COLUMNS",
    "EVENT_SCHEMA",
    "AppendResult",
    "EventStore",
    "EventStoreError",
    "events_table",
    "open_event_store",
]
