"""Store the good events of a batch and name the bad ones, through the one pipeline.

The pipeline is all-or-nothing on purpose (the ingest API answers 422 and stores nothing). Bulk
ways in — OTLP export requests and file imports — must instead store what is valid and report
the rest: a span or a row is rejected, not the whole request. The pipeline's error names every
bad event at once (`loc = (..., index, field)`), so one retry without them stores the rest, and
nothing is stored twice because a failed preparation stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from tokenoptimizer.usage.pipeline import Attribution, IngestError, IngestPipeline
from tokenoptimizer.usage.schemas import IngestResult
from tokenoptimizer.usage.stores.base import EventColumns
from tokenoptimizer.usage.wire import WireEvent

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class EventProblem:
    """Why the pipeline refused the event at `index` of the batch it was given."""

    index: int
    field: str
    message: str


def _refuse(exc: IngestError, positions: list[int], problems: list[EventProblem]) -> list[int]:
    """Record the events `exc` names and return the positions left to try.

    `positions` maps the index of an event in the attempted batch to its index in the caller's
    list. An error that names no event is not ours to split, and is raised again.
    """
    found: dict[int, EventProblem] = {}
    for error in exc.errors:
        loc = list(error.get("loc", ()))
        if len(loc) < 2 or not isinstance(loc[-2], int) or not 0 <= loc[-2] < len(positions):
            continue
        index = positions[loc[-2]]
        found.setdefault(index, EventProblem(index, str(loc[-1]), str(error.get("msg", "invalid"))))
    if not found:
        raise exc
    problems.extend(found.values())
    problems.sort(key=lambda problem: problem.index)
    return [i for i in positions if i not in found]


async def ingest_valid(
    pipeline: IngestPipeline, events: Sequence[WireEvent], attribution: Attribution, *, source: str
) -> tuple[IngestResult, list[EventProblem]]:
    """Store every event the pipeline accepts; return what it stored and the refused events."""
    positions = list(range(len(events)))
    problems: list[EventProblem] = []
    while positions:
        try:
            batch = [events[i] for i in positions]
            return await pipeline.ingest(batch, attribution, source=source), problems
        except IngestError as exc:
            positions = _refuse(exc, positions, problems)
    return IngestResult(accepted=0, duplicates=0), problems


def _without_problems(
    events: Sequence[WireEvent], attempt: Callable[[list[WireEvent]], T], empty: T
) -> tuple[T, list[EventProblem]]:
    positions = list(range(len(events)))
    problems: list[EventProblem] = []
    while positions:
        try:
            return attempt([events[i] for i in positions]), problems
        except IngestError as exc:
            positions = _refuse(exc, positions, problems)
    return empty, problems


def ingest_valid_sync(
    pipeline: IngestPipeline, events: Sequence[WireEvent], attribution: Attribution, *, source: str
) -> tuple[IngestResult, list[EventProblem]]:
    """`ingest_valid` for synchronous callers (the CLI writing straight to the store)."""
    return _without_problems(
        events,
        lambda batch: pipeline.ingest_sync(batch, attribution, source=source),
        IngestResult(accepted=0, duplicates=0),
    )


def prepare_valid(
    pipeline: IngestPipeline, events: Sequence[WireEvent], attribution: Attribution, *, source: str
) -> tuple[EventColumns | None, list[EventProblem]]:
    """Validate and price without storing (dry runs): the priced columns and the refused events."""
    return _without_problems(events, lambda batch: pipeline.prepare(batch, attribution, source=source), None)
