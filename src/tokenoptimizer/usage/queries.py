"""Reading single events and pages of events, always inside one organisation.

Pages use keyset (cursor) pagination on (sort value, event_id): each page starts strictly after
the last row of the previous one, so every event appears exactly once even while new events
arrive, and deep pages cost no more than the first.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from tokenoptimizer.usage.stores import EVENT_COLUMNS, EventStore

SortKey = Literal["ts", "cost", "latency", "tokens"]
SORT_EXPRESSIONS: dict[str, str] = {
    "ts": "ts",
    "cost": "cost_usd",
    "latency": "coalesce(latency_ms, -1)",
    "tokens": "(input_tokens + output_tokens)",
}
_SELECT = ", ".join(f'"{name}"' for name in EVENT_COLUMNS)


class CursorError(ValueError):
    """A cursor that this query did not produce."""


@dataclass(frozen=True)
class EventFilter:
    """What to select: always one organisation, optionally narrowed."""

    org_id: str
    start: datetime | None = None
    end: datetime | None = None
    project_ids: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = field(default=())

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition and its parameters. Several values of one filter mean OR."""
        clauses = ["org_id = ?"]
        params: list[Any] = [self.org_id]
        if self.start is not None:
            clauses.append("ts >= ?")
            params.append(_naive_utc(self.start))
        if self.end is not None:
            clauses.append("ts < ?")
            params.append(_naive_utc(self.end))
        for column, values in (
            ("project_id", self.project_ids),
            ("provider", self.providers),
            ("model", self.models),
            ("feature", self.features),
            ('"user"', self.users),
            ("status", self.statuses),
        ):
            if values:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        for key, value in self.tags:
            clauses.append("element_at(tags, ?)[1] = ?")
            params.extend([key, value])
        return " AND ".join(clauses), params


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def encode_cursor(sort: str, order: str, value: Any, event_id: str) -> str:
    """An opaque cursor pointing after one row."""
    if isinstance(value, datetime):
        value = {"ts": value.isoformat()}
    raw = json.dumps([sort, order, value, event_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, order: str) -> tuple[Any, str]:
    """The (sort value, event_id) a cursor points after; `CursorError` when it does not fit."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        c_sort, c_order, value, event_id = json.loads(base64.urlsafe_b64decode(padded))
        uuid.UUID(event_id)
    except (ValueError, TypeError) as exc:
        raise CursorError("malformed cursor") from exc
    if (c_sort, c_order) != (sort, order):
        raise CursorError("the cursor belongs to another sort order; start again without it")
    if isinstance(value, dict) and "ts" in value:
        value = datetime.fromisoformat(value["ts"])
    return value, event_id


def list_events(
    store: EventStore,
    flt: EventFilter,
    *,
    sort: SortKey = "ts",
    order: Literal["asc", "desc"] = "desc",
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of events and the cursor of the next page (None on the last page)."""
    where, params = flt.where()
    expr = SORT_EXPRESSIONS[sort]
    if cursor is not None:
        value, event_id = decode_cursor(cursor, sort, order)
        op = "<" if order == "desc" else ">"
        where += f" AND ({expr} {op} ? OR ({expr} = ? AND event_id {op} ?::UUID))"
        params.extend([value, value, event_id])
    direction = "DESC" if order == "desc" else "ASC"
    sql = (
        f"SELECT {_SELECT}, {expr} AS _sort FROM events WHERE {where} "
        f"ORDER BY {expr} {direction}, event_id {direction} LIMIT {int(limit) + 1}"
    )
    table = store.fetch_arrow(sql, params)
    rows = table.to_pylist()
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        next_cursor = encode_cursor(sort, order, last["_sort"], str(last["event_id"]))
    for row in rows:
        row.pop("_sort")
    return [_public_row(row) for row in rows], next_cursor


def get_event(
    store: EventStore, org_id: str, event_id: uuid.UUID, project_id: str | None
) -> dict[str, Any] | None:
    """One event of the organisation (and project, when restricted), or None."""
    sql = f"SELECT {_SELECT} FROM events WHERE org_id = ? AND event_id = ?::UUID"
    params: list[Any] = [org_id, str(event_id)]
    if project_id is not None:
        sql += " AND project_id = ?"
        params.append(project_id)
    rows = store.fetch_arrow(sql, params).to_pylist()
    return _public_row(rows[0]) if rows else None


def _public_row(row: dict[str, Any]) -> dict[str, Any]:
    row["ts"] = row["ts"].replace(tzinfo=UTC)
    row["ingested_at"] = row["ingested_at"].replace(tzinfo=UTC)
    tags = row.get("tags")
    row["tags"] = dict(tags) if tags else {}
    return row
