"""Keeping the rollups of the DuckDB event store (what they are: see `rollups`).

Appends stay cheap: they only insert into `events`. The store stamps each commit's events with an
`ingested_at` later than any before, and `rollup_watermark` holds the newest `ingested_at` folded
into the rollups, so the events after it — the view `events_pending` — are the ones not folded yet.
Every `FOLD_SECONDS`, or at `FOLD_ROWS` pending events, or when idle, the writer *folds* them into
the rollup tables in one transaction: their aggregates are added as partial rows and the
watermark moves past them. Readers read the rollup tables *and* `events_pending`
(`analytics.queries`) in one snapshot, so an answer is never behind the events, and a crash
leaves them consistent (a fold is one transaction). Every `MERGE_SECONDS`, or when idle, the
partial rows of the time slots folded into are merged, so a slot ends with one row per key.

(Copying each append's rows into a pending table instead cost a third of the writer's time.)

Re-pricing folds first, then recomputes the hours it changed from the events. A file whose
rollups are missing, of an older `ROLLUP_VERSION`, or do not add up to its events (written by a
version without rollups) gets them rebuilt from the events on open.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

import duckdb

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


class RollupKeeper:
    """The rollup upkeep of one DuckDB event store; used by its writer thread only."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        # Events appended since the last fold; 0 only when `events_pending` is empty, so readers
        # may skip it then (raised before an append is acknowledged, cleared after a fold commits).
        self.pending_rows = 0
        self._dirty: dict[str, set[datetime]] = {"hour": set(), "day": set()}
        self._folded_at = self._merged_at = time.monotonic()

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
        self.pending_rows += rows

    def after_append(self) -> None:
        """Fold and merge when due (called by the writer after each append)."""
        now = time.monotonic()
        if self.pending_rows >= FOLD_ROWS or (self.pending_rows and now - self._folded_at >= FOLD_SECONDS):
            self.fold()
        if self.dirty and now - self._merged_at >= MERGE_SECONDS:
            self.merge()

    def when_idle(self) -> bool:
        """Fold, else merge, whatever is left; False when there was nothing to do."""
        if self.pending_rows:
            self.fold()
        elif self.dirty:
            self.merge()
        else:
            return False
        return True

    # -- folding and merging ---------------------------------------------------------------------

    def fold(self) -> None:
        """Move the pending events into the rollup tables, in a transaction of its own."""
        con = self._con
        try:
            con.execute("BEGIN")
            self.fold_in_transaction()
            con.execute("COMMIT")
        except duckdb.Error:
            _rollback(con)
            self.recount()
            log.warning("folding pending events into the rollups failed (they stay pending)", exc_info=True)
        else:
            self.pending_rows = 0

    def fold_in_transaction(self) -> None:
        """`fold` inside the caller's transaction.

        The caller sets `pending_rows` to 0 once it commits, or calls `recount` if it rolls back.
        """
        con = self._con
        self._folded_at = time.monotonic()
        slots = con.execute(
            f"SELECT DISTINCT date_trunc('hour', ts), date_trunc('day', ts) FROM {PENDING}"
        ).fetchall()
        if not slots:
            return
        for rollup in ROLLUPS:
            con.execute(insert_sql(rollup, PENDING))
        con.execute(
            f"UPDATE {WATERMARK} SET folded_through = (SELECT max(ingested_at) FROM events "
            f"WHERE ingested_at > (SELECT folded_through FROM {WATERMARK}))"
        )
        for hour, day in slots:
            self._dirty["hour"].add(hour)
            self._dirty["day"].add(day)

    def recount(self) -> None:
        """Count the pending events again (after a transaction that folded them rolled back)."""
        self.pending_rows = int(self._con.execute(f"SELECT count(*) FROM {PENDING}").fetchall()[0][0])

    def merge(self) -> None:
        """Merge the partial rows of the slots folded into since the last merge."""
        self._merged_at = time.monotonic()
        dirty = {grain: sorted(slots) for grain, slots in self._dirty.items() if slots}
        if not dirty:
            return
        con = self._con
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

    def rebuild_hours(self, org_id: str, changed: str) -> None:
        """Recompute the organisation's hourly sums of the hours holding the events in `changed`.

        Runs inside a re-pricing transaction, after the events changed; `changed` is a relation
        with their `event_id`. The caller folds before changing the events, so no pending copy
        keeps an old cost.
        """
        con = self._con
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
