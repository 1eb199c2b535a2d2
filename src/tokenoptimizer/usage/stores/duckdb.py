"""The default event store: one DuckDB file, written by one writer thread with group commit.

Why a writer thread: a columnar engine appends a batch of thousands of rows almost as fast as one
row (DESIGN.md §6: ~1k one-row inserts/s vs 60–380k events/s in batches). Every request hands its
batch to a queue; the writer takes *everything* waiting, appends it in one transaction and then
answers all the waiting requests. Under load, many small requests therefore cost one append.

Idempotency: see `seen_ids`. Reads use their own cursors and never wait for the writer.
Checkpoints are taken deliberately when the writer is idle, not by DuckDB in the middle of an
append (an automatic checkpoint stalled appends for seconds at 10M rows).

Rollups (see `rollups` and `duckdb_rollups`): the writer stamps each commit's events with an
`ingested_at` later than any before; a thread of the rollups folds the events stored since the
last fold into the rollup tables every few seconds; readers read both, so the rollups are never
behind the events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import duckdb
import numpy as np
import pyarrow as pa

from tokenoptimizer.threads import in_background_thread, lower_thread_priority
from tokenoptimizer.usage.stores.base import (
    EVENT_COLUMNS,
    AppendResult,
    EventBatch,
    EventStoreError,
    StoredListener,
    T,
    batch_rows,
    combine_batches,
)
from tokenoptimizer.usage.stores.duckdb_rollups import RollupKeeper
from tokenoptimizer.usage.stores.rollups import PENDING
from tokenoptimizer.usage.stores.seen_ids import SeenIds

log = logging.getLogger(__name__)

MAX_GROUP_ROWS = 200_000
GROUP_LINGER_SECONDS = 0.002
IDLE_CHECKPOINT_SECONDS = 30.0
DEFAULT_MEMORY_LIMIT = "1GB"

_DUCKDB_TYPES = {
    "event_id": "UUID NOT NULL",
    "ts": "TIMESTAMP NOT NULL",
    "org_id": "VARCHAR NOT NULL",
    "project_id": "VARCHAR NOT NULL",
    "tags": "MAP(VARCHAR, VARCHAR)",
    "provider": "VARCHAR NOT NULL",
    "model": "VARCHAR NOT NULL",
    "request_type": "VARCHAR NOT NULL",
    "status": "VARCHAR NOT NULL",
    "price_source": "VARCHAR NOT NULL",
    "source": "VARCHAR NOT NULL",
    "ingested_at": "TIMESTAMP NOT NULL",
}


def _column_ddl(name: str, dtype: pa.DataType) -> str:
    if name in _DUCKDB_TYPES:
        sql_type = _DUCKDB_TYPES[name]
    elif pa.types.is_integer(dtype):
        sql_type = "BIGINT NOT NULL DEFAULT 0"
    elif pa.types.is_floating(dtype):
        sql_type = "DOUBLE"
    else:
        sql_type = "VARCHAR"
    return f'"{name}" {sql_type}'


CREATE_EVENTS = (
    "CREATE TABLE IF NOT EXISTS events (\n  "
    + ",\n  ".join(_column_ddl(n, t) for n, t in EVENT_COLUMNS.items())
    + "\n)"
)


def duckdb_path(url: str) -> str:
    """The file path of a `duckdb:///path` URL (`duckdb:///:memory:` for a throwaway store)."""
    prefix = "duckdb:///"
    if not url.startswith(prefix):
        raise EventStoreError(f"not a DuckDB URL: {url!r} (expected duckdb:///path/to/events.duckdb)")
    return url[len(prefix) :].partition("?")[0] or ":memory:"


def duckdb_options(url: str) -> dict[str, str]:
    """DuckDB settings given in the URL's query (`duckdb:///events.duckdb?memory_limit=2GB&threads=2`)."""
    known = ("memory_limit", "threads")
    query = parse_qs(url.partition("?")[2])
    unknown = sorted(set(query) - set(known))
    if unknown:
        raise EventStoreError(f"unknown DuckDB option(s) in the events URL: {', '.join(unknown)}")
    return {name: values[-1] for name, values in query.items()}


def _connect(path: str, memory_limit: str, threads: int | None) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file with its settings, explaining the usual failures.

    DuckDB starts its worker threads when the database opens, and they inherit the opening
    thread's priority: opened from a background thread, their parallel work (folds, merges,
    checkpoints, large queries) yields the CPU to the threads serving requests (`tokenoptimizer.threads`).
    """
    return in_background_thread(lambda: _open(path, memory_limit, threads))


def _open(path: str, memory_limit: str, threads: int | None) -> duckdb.DuckDBPyConnection:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(path)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise EventStoreError(
                f"the event store {path} is held by another process (is `tokenoptimizer serve` "
                "running?). Stop it, or send events through its API instead."
            ) from exc
        raise EventStoreError(f"cannot open the event store {path}: {exc}") from exc
    try:
        con.execute("SET memory_limit = ?", [memory_limit])
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
    except duckdb.Error as exc:
        con.close()
        raise EventStoreError(f"invalid DuckDB setting for the event store: {exc}") from exc
    return con


class _Pending:
    __slots__ = ("batch", "future")

    def __init__(self, batch: EventBatch) -> None:
        self.batch = batch
        self.future: Future[AppendResult] = Future()


class _Job:
    """A write other than an append (e.g. re-pricing), run by the writer between groups.

    With `rollups`, it runs holding the rollups' lock (no fold or merge meanwhile); `committed`
    is called after its transaction commits.
    """

    __slots__ = ("run", "future", "rollups", "committed")

    def __init__(
        self,
        run: Callable[[duckdb.DuckDBPyConnection], int],
        *,
        rollups: bool = False,
        committed: Callable[[], None] | None = None,
    ) -> None:
        self.run = run
        self.future: Future[int] = Future()
        self.rollups = rollups
        self.committed = committed


class DuckDBEventStore:
    """Events in a DuckDB file, appended by a single group-committing writer thread.

    `memory_limit` caps DuckDB's buffer memory (DuckDB's own default is 80 % of the machine's RAM,
    far more than a server sharing the machine should take); `threads` caps its worker threads
    (default: one per core). Both can also come from the URL's query string.
    """

    sql_dialect = "duckdb"
    rollups = True

    def __init__(self, url: str, *, memory_limit: str | None = None, threads: int | None = None) -> None:
        options = duckdb_options(url)
        memory_limit = memory_limit or options.get("memory_limit") or DEFAULT_MEMORY_LIMIT
        if threads is None and "threads" in options:
            if not options["threads"].isdigit():
                raise EventStoreError(
                    f"threads in the events URL must be a number, not {options['threads']!r}"
                )
            threads = int(options["threads"])
        self._con = _connect(duckdb_path(url), memory_limit, threads)
        self._con.execute(CREATE_EVENTS)
        # We checkpoint when idle; DuckDB's own threshold is only a backstop.
        self._con.execute("SET checkpoint_threshold = '1GB'")
        self._rollups = RollupKeeper(self._con)
        self._rollups.ensure(self.count_with(self._con))
        newest = self._con.execute("SELECT max(ingested_at) FROM events").fetchall()[0][0]
        self._stamped = np.datetime64(newest or "1970-01-01", "us")
        self._local = threading.local()
        self._queue: queue.Queue[_Pending | _Job | None] = queue.Queue()
        self._seen = self._load_seen_ids()
        self._listeners: list[StoredListener] = []
        self._closed = False
        self._writer = threading.Thread(
            target=self._write_loop, name="tokenoptimizer-event-writer", daemon=True
        )
        self._writer.start()
        self._rollups.start()

    # -- writing ---------------------------------------------------------------------------------

    def append(self, batch: EventBatch) -> AppendResult:
        """Store a batch and return once it is committed."""
        return self._submit(batch).result()

    async def append_async(self, batch: EventBatch) -> AppendResult:
        """Store a batch; the caller's event loop keeps running while the writer commits."""
        return await asyncio.wrap_future(self._submit(batch))

    def _submit(self, batch: EventBatch) -> Future[AppendResult]:
        if self._closed:
            raise EventStoreError("the event store is closed")
        pending = _Pending(batch)
        if batch_rows(batch) == 0:
            pending.future.set_result(AppendResult(0, 0))
        else:
            self._queue.put(pending)
        return pending.future

    def _write_loop(self) -> None:
        lower_thread_priority()
        while True:
            try:
                first = self._queue.get(timeout=IDLE_CHECKPOINT_SECONDS)
            except queue.Empty:
                self._checkpoint()
                continue
            if first is None:
                return
            if isinstance(first, _Job):
                self._run_job(first)
                continue
            group = [first]
            rows = batch_rows(first.batch)
            deferred: _Job | None = None
            # Linger briefly for more requests: each commit has a fixed cost of milliseconds, so
            # waiting GROUP_LINGER_SECONDS lets concurrent small requests share one commit.
            deadline = time.monotonic() + GROUP_LINGER_SECONDS
            while rows < MAX_GROUP_ROWS:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # finish this group, then stop
                    break
                if isinstance(item, _Job):
                    deferred = item  # runs right after this group, keeping arrival order
                    break
                group.append(item)
                rows += batch_rows(item.batch)
            try:
                results = self._write_group([p.batch for p in group])
            except Exception as exc:  # every waiting request learns of the failure
                log.exception("event append failed")
                for pending in group:
                    pending.future.set_exception(exc)
            else:
                for pending, result in zip(group, results, strict=True):
                    pending.future.set_result(result)
            if deferred is not None:
                self._run_job(deferred)

    def _run_job(self, job: _Job) -> None:
        con = self._con
        with self._rollups.lock if job.rollups else contextlib.nullcontext():
            try:
                con.execute("BEGIN")
                result = job.run(con)
                con.execute("COMMIT")
            except Exception as exc:
                self._rollback()
                job.future.set_exception(exc)
                return
        if job.committed is not None:
            job.committed()
        job.future.set_result(result)

    def _rollback(self) -> None:
        """Roll back the writer's transaction, if one is still open (never kills the writer)."""
        try:
            self._con.execute("ROLLBACK")
        except duckdb.Error:
            log.debug("nothing to roll back", exc_info=True)

    def update_costs(self, org_id: str, costs: pa.Table) -> int:
        """Replace the cost columns of the organisation's events named in `costs` (by event_id).

        `costs` has `event_id` and every cost column (`cost_usd`, `cost_*_usd`, `billed_cost_usd`,
        `price_source`). Runs in the writer thread, so it never races an append, and rebuilds the
        hourly rollups of the hours it changed in the same transaction. Returns rows updated.
        """
        if costs.num_rows == 0:
            return 0
        columns = [name for name in costs.column_names if name != "event_id"]
        assignments = ", ".join(f'"{name}" = c."{name}"' for name in columns)

        folded: list[int] = []

        def run(con: duckdb.DuckDBPyConnection) -> int:
            con.register("new_costs", costs)
            try:
                folded.append(self._rollups.fold_in_transaction(con))
                rows = con.execute(
                    f"UPDATE events SET {assignments} FROM new_costs c "
                    "WHERE events.org_id = ? AND events.event_id = c.event_id::UUID",
                    [org_id],
                ).fetchall()
                self._rollups.rebuild_hours(con, org_id, "new_costs")
            finally:
                con.unregister("new_costs")
            return int(rows[0][0]) if rows else 0

        if self._closed:
            raise EventStoreError("the event store is closed")
        job = _Job(run, rollups=True, committed=lambda: self._rollups.folded_committed(sum(folded)))
        self._queue.put(job)
        return job.future.result()

    @property
    def rollups_pending(self) -> str | None:
        """`events_pending` while it holds events, else None (queries then skip reading it)."""
        return PENDING if self._rollups.pending_rows else None

    def add_listener(self, listener: StoredListener) -> None:
        """Call `listener` in the writer thread with each append's new rows, after they commit."""
        self._listeners.append(listener)

    def run_exclusive(self, work: Callable[[], T]) -> T:
        """Run `work` in the writer thread between appends and return its result."""
        if self._closed:
            raise EventStoreError("the event store is closed")
        if threading.current_thread() is self._writer:
            return work()
        result: list[T] = []

        def run(_con: duckdb.DuckDBPyConnection) -> int:
            result.append(work())
            return 0

        job = _Job(run)
        self._queue.put(job)
        job.future.result()
        return result[0]

    def _notify(self, stored: pa.Table) -> None:
        for listener in self._listeners:
            try:
                listener(stored)
            except Exception:
                log.exception(
                    "a listener of stored events failed (%s)", getattr(listener, "__qualname__", listener)
                )

    def _write_group(self, batches: list[EventBatch]) -> list[AppendResult]:
        """Append several requests' batches in one transaction; report each request's counts."""
        combined = self._stamp(combine_batches(batches))
        con = self._con
        con.register("incoming", combined)
        try:
            hashes = con.execute(
                "SELECT hash(event_id::UUID, org_id) AS h1, hash(event_id::UUID, org_id, 'tko') AS h2 "
                "FROM incoming"
            ).fetchnumpy()
            h1 = np.asarray(hashes["h1"], dtype=np.uint64)
            h2 = np.asarray(hashes["h2"], dtype=np.uint64)
            keep = self._new_rows(combined, h1, h2)
            accepted_rows = int(keep.sum())
            if accepted_rows:
                to_store = combined.filter(pa.array(keep)) if accepted_rows < combined.num_rows else combined
                con.register("to_store", to_store)
                try:
                    con.execute("BEGIN")
                    con.execute("INSERT INTO events BY NAME SELECT * FROM to_store")
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                finally:
                    con.unregister("to_store")
                self._rollups.added(accepted_rows)
                self._seen.add(h1[keep], h2[keep])
                if self._seen.full:
                    self._seen = self._load_seen_ids()
                if self._listeners:
                    self._notify(to_store)
        finally:
            con.unregister("incoming")
        results = []
        offset = 0
        for batch in batches:
            count = batch_rows(batch)
            stored = int(keep[offset : offset + count].sum())
            results.append(AppendResult(accepted=stored, duplicates=count - stored))
            offset += count
        return results

    def _stamp(self, table: pa.Table) -> pa.Table:
        """Set `ingested_at` to now, later than every event stored before (the rollups' watermark)."""
        now = np.datetime64(datetime.now(UTC).replace(tzinfo=None), "us")
        self._stamped = max(now, self._stamped + np.timedelta64(1, "us"))
        stamps = pa.array(np.full(table.num_rows, self._stamped), type=EVENT_COLUMNS["ingested_at"])
        return table.set_column(table.schema.get_field_index("ingested_at"), "ingested_at", stamps)

    def _new_rows(self, combined: pa.Table, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        """Which rows are new: neither stored already nor repeated earlier in the same group.

        Idempotency is per organisation: the key is (org_id, event_id), so one tenant's ids can
        neither collide with nor reveal another's. Only rows the hashes cannot clear (a possible
        match in `SeenIds`, a repeated hash within the group) are compared by their keys.
        """
        keep = np.ones(combined.num_rows, dtype=bool)
        maybe = np.flatnonzero(self._seen.maybe_contains(h1, h2))
        if len(maybe):
            suspects = _keys(combined, maybe)
            stored = {
                (org_id, str(event_id))
                for org_id, event_id in self._con.execute(
                    "SELECT org_id, event_id FROM events WHERE event_id IN (SELECT unnest(?::UUID[]))",
                    [[event_id for _org_id, event_id in suspects]],
                ).fetchall()
            }
            keep[maybe] = [key not in stored for key in suspects]
        if len(np.unique(h1)) < len(h1):  # some key may repeat within the group
            first_seen: set[tuple[str, str]] = set()
            for position, key in enumerate(_keys(combined, np.arange(combined.num_rows))):
                if key in first_seen:
                    keep[position] = False
                else:
                    first_seen.add(key)
        return keep

    def _load_seen_ids(self) -> SeenIds:
        count = self.count_with(self._con)
        seen = SeenIds(expected=max(count, 1_000_000))
        reader = self._con.sql(
            "SELECT hash(event_id, org_id), hash(event_id, org_id, 'tko') FROM events"
        ).to_arrow_reader(1_000_000)
        for chunk in reader:
            seen.add(
                chunk.column(0).to_numpy().astype(np.uint64, copy=False),
                chunk.column(1).to_numpy().astype(np.uint64, copy=False),
            )
        return seen

    def _checkpoint(self) -> None:
        try:
            with self._rollups.lock:  # not in the middle of a fold
                self._con.execute("CHECKPOINT")
        except duckdb.Error:
            log.warning("checkpoint failed", exc_info=True)

    # -- reading ---------------------------------------------------------------------------------

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._con.cursor()
            self._local.cursor = cursor
        return cursor

    def fetch(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a read-only query and return its rows."""
        result: list[tuple[Any, ...]] = self._cursor().execute(sql, params or []).fetchall()
        return result

    def fetch_arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a read-only query and return an Arrow table."""
        table: pa.Table = self._cursor().sql(sql, params=params or None).to_arrow_table()
        return table

    @staticmethod
    def count_with(con: duckdb.DuckDBPyConnection) -> int:
        """Count events using the given connection."""
        return int(con.execute("SELECT count(*) FROM events").fetchall()[0][0])

    def count(self) -> int:
        """Number of stored events (all organisations)."""
        return self.count_with(self._cursor())

    def ping(self) -> None:
        """Raise if the store cannot answer a query."""
        self._cursor().execute("SELECT 1").fetchall()

    def close(self) -> None:
        """Finish pending appends, checkpoint and close the file."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join(timeout=60)
        self._rollups.stop()
        self._checkpoint()
        self._con.close()

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every submitted batch is committed (tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while not self._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.001)


def _keys(table: pa.Table, rows: np.ndarray) -> list[tuple[str, str]]:
    """The (org_id, event_id) of the given rows."""
    org_ids = table.column("org_id").take(rows).to_pylist()
    event_ids = table.column("event_id").take(rows).to_pylist()
    return list(zip(org_ids, event_ids, strict=True))
