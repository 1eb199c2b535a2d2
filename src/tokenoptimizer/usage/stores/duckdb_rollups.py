"""Keeping the rollups of the DuckDB event store (what they are: see `rollups`).

Appends stay cheap: they only insert into `events`. The store stamps each commit's events with an
`ingested_at` later than any before, and `rollup_watermark` holds the newest `ingested_at` folded
into the rollups, so the events after it — the view `events_pending` — are the ones not folded yet.
Every `FOLD_SECONDS`, or at `FOLD_ROWS` pending events, or when idle, a thread of its own *folds*
them into the rollup tables in one transaction: their aggregates are added as partial rows and the
watermark moves past them. It runs beside the writer, on its own cursor (DuckDB transactions
appending to `events` and inserting into the rollup tables do not conflict), so appends never wait
for a fold; a fold's snapshot ends at some commit, and later commits carry later stamps, so they
stay pending. Folds, merges and re-pricing take `lock`: only one of them writes the rollups.
Readers read the rollup tables *and* `events_pending` (`analytics.queries`) in one snapshot, so an
answer is never behind the events, and a crash leaves them consistent (a fold is one transaction).
Every `MERGE_SECONDS`, or after `IDLE_MERGE_SECONDS` without appends, the partial rows of the time
slots folded into are merged (a merge rewrites every slot touched: ~1–1.7 s for 90 days of demo
data, so not in the short pauses of a burst), so a slot ends with one row per key.

(Copying each append's rows into a pending table instead cost a third of the writer's time.)

Re-pricing folds first, then recomputes the hours it changed from the events. A file whose
rollups are missing, of an older `ROLLUP_VERSION`, or do not add up to its events (written by a
version without rollups) gets them rebuilt from the events on open.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

import duckdb

from tokenoptimizer.threads import lower_thread_priority
from tokenoptimizer.usage.stores.rollups import (
    PENDING,
    ROLLUP_VERSION,
    ROLLUPS,
    USAGE_HOURLY,
    WATERMARK,
    compact_sql,
    create_sql,
    insert_sql,
    pending_create_sql,
)

log = logging.getLogger(__name__)

FOLD_ROWS = 50_000
FOLD_SECONDS = 10.0
MERGE_SECONDS = 60.0
IDLE_FOLD_SECONDS = 5.0  # fold pending events after this long without appends
IDLE_MERGE_SECONDS = 30.0  # merge partial rows after this long without appends
TICK_SECONDS = 0.5  # how often the rollup thread looks for work


class RollupKeeper:
    """The rollup upkeep of one DuckDB event store: its thread folds and merges (`start`)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        # Events appended since the last fold; 0 only when `events_pending` is empty, so readers
        # may skip it then (raised before an append is acknowledged, lowered after a fold commits).
        self.pending_rows = 0
        self.lock = threading.RLock()  # held while writing the rollup tables
        self._count_lock = threading.Lock()
        self._dirty: dict[str, set[datetime]] = {"hour": set(), "day": set()}
        self._folded_at = self._merged_at = self._appended_at = time.monotonic()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Fold and merge in a thread of its own from now on."""
        self._thread = threading.Thread(target=self._run, name="tokenoptimizer-rollups", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread; then fold and merge what is left (on close)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self.fold(self._con)
        self.merge(self._con)

    def _run(self) -> None:
        lower_thread_priority()
        cursor = self._con.cursor()
        try:
            while not self._stop.is_set():
                self._wake.wait(TICK_SECONDS)
                self._wake.clear()
                if not self._stop.is_set():
                    self._upkeep(cursor)
        finally:
            cursor.close()

    def _upkeep(self, con: duckdb.DuckDBPyConnection) -> None:
        now = time.monotonic()
        idle = now - self._appended_at
        due = now - self._folded_at >= FOLD_SECONDS or idle >= IDLE_FOLD_SECONDS
        if self.pending_rows and (self.pending_rows >= FOLD_ROWS or due):
            self.fold(con)
        elif self.dirty and (now - self._merged_at >= MERGE_SECONDS or idle >= IDLE_MERGE_SECONDS):
            self.merge(con)

    @property
    def dirty(self) -> bool:
        """Whether some slot has partial rows to merge."""
        return any(self._dirty.values())

    # -- opening ---------------------------------------------------------------------------------

    def ensure(self, events: int) -> None:
        """Create the tables; rebuild the rollups when missing, outdated or not matching the events."""
        con = self._con
        con.execute("CREATE TABLE IF NOT EXISTS rollup_version (version INTEGER NOT NULL)")
        stored = con.execute("SELECT max(version) FROM rollup_version").fetchall()[0][0]
        tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        views = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
        if (
            stored == ROLLUP_VERSION
            and all(rollup.table in tables for rollup in ROLLUPS)
            and WATERMARK in tables
            and PENDING in views
        ):
            pending = int(con.execute(f"SELECT count(*) FROM {PENDING}").fetchall()[0][0])
            counted = con.execute(f"SELECT sum(requests) FROM {USAGE_HOURLY.table}").fetchall()[0][0]
            if int(counted or 0) + pending == events:
                self.pending_rows = pending
                return
            log.warning(
                "the rollups do not match the events (%s + %d vs %d): rebuilding", counted, pending, events
            )
        self._rebuild(events, pending_is_table=PENDING in tables)

    def _rebuild(self, events: int, *, pending_is_table: bool) -> None:
        started = time.monotonic()
        con = self._con
        con.execute("BEGIN")
        try:
            for rollup in ROLLUPS:
                con.execute(f"DROP TABLE IF EXISTS {rollup.table}")
                con.execute(create_sql(rollup))
                if events:
                    con.execute(insert_sql(rollup, "events", ordered=True))
            # Rollup version 3 kept the pending events in a table.
            con.execute(f"DROP {'TABLE' if pending_is_table else 'VIEW'} IF EXISTS {PENDING}")
            con.execute(f"CREATE OR REPLACE TABLE {WATERMARK} (folded_through TIMESTAMP NOT NULL)")
            con.execute(
                f"INSERT INTO {WATERMARK} "
                "SELECT coalesce(max(ingested_at), TIMESTAMP '1970-01-01') FROM events"
            )
            con.execute(pending_create_sql())  # its columns follow the definitions too
            con.execute("DELETE FROM rollup_version")
            con.execute("INSERT INTO rollup_version VALUES (?)", [ROLLUP_VERSION])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self.pending_rows = 0
        if events:
            log.info("built the rollups of %d events in %.1f s", events, time.monotonic() - started)

    # -- appending -------------------------------------------------------------------------------

    def added(self, rows: int) -> None:
        """After an append committed `rows` events."""
        with self._count_lock:
            self.pending_rows += rows
        self._appended_at = time.monotonic()
        if self.pending_rows >= FOLD_ROWS:
            self._wake.set()

    # -- folding and merging ---------------------------------------------------------------------

    def fold(self, con: duckdb.DuckDBPyConnection) -> None:
        """Move the pending events into the rollup tables, in a transaction of its own."""
        with self.lock:
            try:
                con.execute("BEGIN")
                folded = self.fold_in_transaction(con)
                con.execute("COMMIT")
            except duckdb.Error:
                _rollback(con)
                log.warning("folding the pending events into the rollups failed (they stay pending)")
            else:
                self.folded_committed(folded)

    def fold_in_transaction(self, con: duckdb.DuckDBPyConnection) -> int:
        """`fold` inside the caller's transaction (holding `lock`); how many events it folded.

        The caller calls `folded_committed` with that number once it commits.
        """
        self._folded_at = time.monotonic()
        slots = con.execute(
            f"SELECT date_trunc('hour', ts), date_trunc('day', ts), count(*) FROM {PENDING} GROUP BY ALL"
        ).fetchall()
        if not slots:
            return 0
        for rollup in ROLLUPS:
            con.execute(insert_sql(rollup, PENDING))
        con.execute(
            f"UPDATE {WATERMARK} SET folded_through = (SELECT max(ingested_at) FROM events "
            f"WHERE ingested_at > (SELECT folded_through FROM {WATERMARK}))"
        )
        for hour, day, _count in slots:
            self._dirty["hour"].add(hour)
            self._dirty["day"].add(day)
        return sum(int(count) for _hour, _day, count in slots)

    def folded_committed(self, rows: int) -> None:
        """After the transaction holding `fold_in_transaction` committed."""
        with self._count_lock:
            self.pending_rows = max(0, self.pending_rows - rows)

    def merge(self, con: duckdb.DuckDBPyConnection) -> None:
        """Merge the partial rows of the slots folded into since the last merge."""
        with self.lock:
            self._merge(con)

    def _merge(self, con: duckdb.DuckDBPyConnection) -> None:
        self._merged_at = time.monotonic()
        dirty = {grain: sorted(slots) for grain, slots in self._dirty.items() if slots}
        if not dirty:
            return
        try:
            con.execute("BEGIN")
            for rollup in ROLLUPS:
                if rollup.grain not in dirty:
                    continue
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE compact_slots AS SELECT unnest(?::TIMESTAMP[]) AS slot",
                    [dirty[rollup.grain]],
                )
                for sql in compact_sql(rollup):
                    con.execute(sql)
            con.execute("DROP TABLE IF EXISTS compact_slots")
            con.execute("COMMIT")
        except duckdb.Error:
            _rollback(con)
            log.warning("merging rollup rows failed (they stay correct, only larger)", exc_info=True)
            return
        for grain in dirty:
            self._dirty[grain].clear()

    # -- re-pricing ------------------------------------------------------------------------------

    def rebuild_hours(self, con: duckdb.DuckDBPyConnection, org_id: str, changed: str) -> None:
        """Recompute the organisation's hourly sums of the hours holding the events in `changed`.

        Runs inside a re-pricing transaction, after the events changed; `changed` is a relation
        with their `event_id`. The caller folds before changing the events, so no pending copy
        keeps an old cost.
        """
        con.execute(
            "CREATE OR REPLACE TEMP TABLE repriced_hours AS SELECT DISTINCT date_trunc('hour', ts) AS slot "
            f"FROM events WHERE org_id = ? AND event_id IN (SELECT event_id::UUID FROM {changed})",
            [org_id],
        )
        first, last = con.execute("SELECT min(slot), max(slot) FROM repriced_hours").fetchall()[0]
        if first is not None:
            # The ts range lets DuckDB skip row groups outside the re-priced hours.
            where = (
                "org_id = $1 AND ts >= $2 AND ts < $3 + INTERVAL 1 HOUR "
                "AND date_trunc('hour', ts) IN (SELECT slot FROM repriced_hours)"
            )
            for rollup in ROLLUPS:
                if rollup.grain != "hour" or not rollup.has_costs:
                    continue
                con.execute(
                    f"DELETE FROM {rollup.table} WHERE org_id = ? "
                    "AND hour IN (SELECT slot FROM repriced_hours)",
                    [org_id],
                )
                con.execute(insert_sql(rollup, "events", where), [org_id, first, last])
        con.execute("DROP TABLE repriced_hours")


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        log.debug("nothing to roll back", exc_info=True)
