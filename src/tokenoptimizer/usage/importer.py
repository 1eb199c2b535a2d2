"""File import through the one pipeline, chunk by chunk, with a report of what happened.

`import_rows` (the API) and `import_rows_sync` (the CLI writing straight to the store) read rows
with `import_rows.RowReader`, send them to the pipeline a chunk at a time (a few thousand rows, so
memory stays flat for any file size), store the valid rows and report the others with their line
number, field and reason. A dry run validates and prices every row and stores nothing.

Chunks are committed one by one: if an import stops half-way, running it again stores only the
rest, because every row's event id is deterministic (see `import_rows`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from itertools import islice

import anyio.to_thread
from pydantic import BaseModel, Field

from tokenoptimizer.pricing.cost import UNKNOWN_SOURCE
from tokenoptimizer.usage.import_rows import ParsedRow, RejectedRow, RowReader
from tokenoptimizer.usage.partial_ingest import EventProblem, ingest_valid, ingest_valid_sync, prepare_valid
from tokenoptimizer.usage.pipeline import Attribution, IngestPipeline
from tokenoptimizer.usage.schemas import IngestResult
from tokenoptimizer.usage.stores.base import EventColumns

SOURCE = "import"
DEFAULT_CHUNK_ROWS = 5_000
MAX_REPORTED_REJECTS = 1_000
"""Rejected rows listed in a report (all are counted; the CLI's --rejects file gets all of them)."""

RejectListener = Callable[[Sequence[RejectedRow]], None]


class RejectedRowPublic(BaseModel):
    """A row that was not imported."""

    line: int = Field(description="Line of the file (1 = first line; a CSV header is line 1).")
    field: str | None = Field(description="The event field at fault, or null for the whole row.")
    message: str


class ImportReport(BaseModel):
    """What an import stored, or (dry run) would store."""

    dry_run: bool
    rows: int = Field(description="Data rows read (blank lines and the CSV header not counted).")
    accepted: int = Field(
        description="Events newly stored; in a dry run, valid rows (duplicates are not looked up)."
    )
    duplicates: int = Field(description="Rows already stored by an earlier import (not counted again).")
    rejected_count: int
    rejected: list[RejectedRowPublic] = Field(
        description=f"The first {MAX_REPORTED_REJECTS} rejected rows, in file order."
    )
    ignored_columns: list[str] = Field(description="Columns of the file that no event field reads.")
    cost_usd: float | None = Field(
        default=None, description="Dry run: the priced cost of the valid rows, in USD."
    )
    unpriced_models: list[str] = Field(
        default_factory=list,
        description="Dry run: provider/model pairs the price catalogue does not know (priced 0).",
    )


class ImportTally:
    """Adds up chunk results into a report."""

    def __init__(self, dry_run: bool, on_reject: RejectListener | None) -> None:
        self.dry_run = dry_run
        self.on_reject = on_reject
        self.accepted = 0
        self.duplicates = 0
        self.rejected_count = 0
        self.rejected: list[RejectedRowPublic] = []
        self.cost_usd = 0.0
        self.unpriced: set[str] = set()
        self._pending: list[RejectedRow] = []

    def reject(self, rows: Sequence[RejectedRow]) -> None:
        """Note rejected rows of the current chunk (reported in file order by `end_chunk`)."""
        self._pending.extend(rows)

    def end_chunk(self) -> None:
        """Count the chunk's rejected rows, keep the first ones for the report, pass them on."""
        if not self._pending:
            return
        ordered = sorted(self._pending, key=lambda row: row.line)
        self._pending = []
        self.rejected_count += len(ordered)
        room = MAX_REPORTED_REJECTS - len(self.rejected)
        self.rejected.extend(
            RejectedRowPublic(line=row.line, field=row.field, message=row.message) for row in ordered[:room]
        )
        if self.on_reject is not None:
            self.on_reject(ordered)

    def stored(self, parsed: Sequence[ParsedRow], result: IngestResult, problems: list[EventProblem]) -> None:
        """Add what the pipeline stored of a chunk, and the rows it refused."""
        self.accepted += result.accepted
        self.duplicates += result.duplicates
        self.reject(_refused_rows(parsed, problems))

    def priced(
        self, parsed: Sequence[ParsedRow], columns: EventColumns | None, problems: list[EventProblem]
    ) -> None:
        """Add a dry-run chunk: its priced columns, and the rows the pipeline refused."""
        self.reject(_refused_rows(parsed, problems))
        if columns is None:
            return
        self.accepted += len(columns["cost_usd"])
        self.cost_usd += float(sum(columns["cost_usd"]))
        for provider, model, source in zip(
            columns["provider"], columns["model"], columns["price_source"], strict=True
        ):
            if source == UNKNOWN_SOURCE:
                self.unpriced.add(f"{provider}/{model}")

    def merge(self, part: ImportReport, lines: Sequence[int]) -> None:
        """Add a server's report on a chunk whose JSONL line `i` was line `lines[i - 1]` of the file."""
        self.accepted += part.accepted
        self.duplicates += part.duplicates
        if part.cost_usd is not None:
            self.cost_usd += part.cost_usd
        self.unpriced.update(part.unpriced_models)
        self.rejected_count += part.rejected_count - len(part.rejected)  # beyond the listed ones
        self.reject(
            [
                RejectedRow(
                    lines[row.line - 1] if 0 < row.line <= len(lines) else row.line, row.field, row.message
                )
                for row in part.rejected
            ]
        )

    def report(self, reader: RowReader) -> ImportReport:
        """The report of the whole file."""
        return ImportReport(
            dry_run=self.dry_run,
            rows=reader.rows_read,
            accepted=self.accepted,
            duplicates=self.duplicates,
            rejected_count=self.rejected_count,
            rejected=self.rejected,
            ignored_columns=sorted(reader.ignored_columns),
            cost_usd=round(self.cost_usd, 10) if self.dry_run else None,
            unpriced_models=sorted(self.unpriced),
        )


def _refused_rows(parsed: Sequence[ParsedRow], problems: list[EventProblem]) -> list[RejectedRow]:
    return [RejectedRow(parsed[p.index].line, p.field, p.message) for p in problems]


def chunks(reader: RowReader, size: int) -> Iterator[tuple[list[ParsedRow], list[RejectedRow]]]:
    """The rows of a file, `size` at a time: (events to store, rows rejected while reading)."""
    rows = iter(reader)
    while True:
        chunk = list(islice(rows, size))
        if not chunk:
            return
        parsed = [row for row in chunk if isinstance(row, ParsedRow)]
        rejected = [row for row in chunk if isinstance(row, RejectedRow)]
        yield parsed, rejected


def import_rows_sync(
    pipeline: IngestPipeline,
    attribution: Attribution,
    reader: RowReader,
    *,
    dry_run: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_reject: RejectListener | None = None,
    on_chunk: Callable[[], None] | None = None,
) -> ImportReport:
    """Import a file's rows from a synchronous caller (the CLI); `MappingError` for a bad mapping."""
    tally = ImportTally(dry_run, on_reject)
    for parsed, rejected in chunks(reader, chunk_rows):
        tally.reject(rejected)
        events = [row.event for row in parsed]
        if dry_run:
            tally.priced(parsed, *prepare_valid(pipeline, events, attribution, source=SOURCE))
        else:
            tally.stored(parsed, *ingest_valid_sync(pipeline, events, attribution, source=SOURCE))
        tally.end_chunk()
        if on_chunk is not None:
            on_chunk()
    return tally.report(reader)


async def import_rows(
    pipeline: IngestPipeline,
    attribution: Attribution,
    reader: RowReader,
    *,
    dry_run: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> ImportReport:
    """Import a file's rows from the server; parsing runs off the event loop, a chunk at a time."""
    tally = ImportTally(dry_run, None)
    pending = chunks(reader, chunk_rows)
    while True:
        chunk = await anyio.to_thread.run_sync(next, pending, None)
        if chunk is None:
            return tally.report(reader)
        parsed, rejected = chunk
        tally.reject(rejected)
        events = [row.event for row in parsed]
        if dry_run:
            columns, problems = await anyio.to_thread.run_sync(
                partial(prepare_valid, pipeline, events, attribution, source=SOURCE)
            )
            tally.priced(parsed, columns, problems)
        else:
            tally.stored(parsed, *await ingest_valid(pipeline, events, attribution, source=SOURCE))
        tally.end_chunk()
