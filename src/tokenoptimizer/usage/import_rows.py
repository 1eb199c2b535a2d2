"""Rows of a CSV or JSONL usage file → usage events (pure: no HTTP, no storage).

One module reads files for both the `tokenoptimizer import` command and `POST /api/v1/import`,
so a file means the same thing whichever way it comes in. It reads line by line (a million-row
file is never held in memory), maps columns to event fields (`--map input_tokens=prompt_tokens`),
converts text to numbers and times, and either yields an event or says which row is wrong, where
(line number and field) and why.

**Idempotency.** Each event id is the row's own `event_id` column when it has one (a UUID is
kept, any other text is hashed into one), else a UUID derived from the imported fields of the row
(before defaults such as `--provider` apply). Re-importing a file, or a file that overlaps an
earlier one, stores nothing twice. Two rows with exactly the same imported fields are one event,
unless an id column tells them apart.
"""

from __future__ import annotations

import csv
import gzip
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

import msgspec
import orjson

from tokenoptimizer.usage.wire import WireEvent, to_wire

Format = Literal["csv", "jsonl"]

IMPORT_NAMESPACE = uuid.UUID("0b6e4f3a-7c1d-4e8b-9f25-3a9d6c2e1b74")
"""Namespace of the event ids derived from row content or from a non-UUID id column."""

FIELDS: tuple[str, ...] = tuple(WireEvent.__struct_fields__)
"""Event fields a column can be mapped to (plus `tag.NAME` for one tag)."""
TAG_PREFIXES = ("tag.", "tags.")

_INTEGERS = frozenset(
    {"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens"}
)
_FLOATS = frozenset({"latency_ms", "time_to_first_token_ms", "reported_cost_usd"})
_OBJECTS = frozenset({"raw_usage", "tags"})

# Column names that mean an event field in common exports, tried when no column has the field's name.
ALIASES: dict[str, tuple[str, ...]] = {
    "event_id": ("id", "request_id"),
    "ts": ("timestamp", "time", "created_at", "start_time"),
    "input_tokens": ("prompt_tokens",),
    "output_tokens": ("completion_tokens",),
    "cache_read_tokens": ("cached_tokens",),
    "latency_ms": ("duration_ms",),
}


class MappingError(ValueError):
    """A `--map` option or a mapping against the file's columns is wrong; the message says how."""


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row that is not imported: where (1-based line of the file), which field, and why."""

    line: int
    field: str | None
    message: str


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """A row turned into an event."""

    line: int
    event: WireEvent


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How to read a file: its format, column mapping (field → column) and defaults."""

    format: Format
    mapping: Mapping[str, str] = field(default_factory=dict)
    provider: str | None = None
    """Provider of rows without one."""


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """`["input_tokens=prompt_tokens", "tag.env=environment"]` → `{field: column}`.

    Raises:
        MappingError: A pair is not `FIELD=COLUMN`, names an unknown field, or repeats a field.
    """
    mapping: dict[str, str] = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        target, source = target.strip(), source.strip()
        if not sep or not target or not source:
            raise MappingError(f"--map {pair!r}: write FIELD=COLUMN, e.g. input_tokens=prompt_tokens")
        if target not in FIELDS and not _tag_name(target):
            raise MappingError(
                f"--map {pair!r}: {target!r} is not an event field; use one of {', '.join(FIELDS)} "
                "or tag.NAME"
            )
        if target in mapping:
            raise MappingError(f"--map: {target!r} is mapped twice")
        mapping[target] = source
    return mapping


def _tag_name(name: str) -> str | None:
    for prefix in TAG_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix) :]
    return None


def format_named(name: str) -> Format | None:
    """`csv` or `jsonl` (also `ndjson`), case-insensitive; None for anything else."""
    lowered = name.strip().lower()
    if lowered == "csv":
        return "csv"
    if lowered in ("jsonl", "ndjson"):
        return "jsonl"
    return None


def format_of(name: str | None, content_type: str | None = None) -> Format | None:
    """The format a file name (`.csv`, `.jsonl`, `.ndjson`, also `.gz`) or media type implies."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("text/csv", "application/csv"):
        return "csv"
    if media in ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonl"):
        return "jsonl"
    lowered = (name or "").lower().removesuffix(".gz")
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return None


Converter = Callable[[str, Any], Any]


@dataclass(frozen=True, slots=True)
class _Plan:
    fields: tuple[tuple[str, str, Converter], ...]
    """(event field, key it is read from, conversion)."""
    tags: tuple[tuple[str, str], ...]
    """(tag name, key it is read from)."""
    ignored: frozenset[str]


class RowReader:
    """Reads the rows of a file and turns each into a `ParsedRow` or a `RejectedRow`.

    `lines` are the file's lines with their line endings (an open text file, or
    `io.StringIO(text, newline="")`). Consumed once, lazily.
    """

    def __init__(self, lines: Iterable[str], options: ImportOptions) -> None:
        self.options = options
        self._lines = lines
        self.ignored_columns: set[str] = set()
        """Columns (CSV) or keys (JSONL) present in the file but not imported."""
        self.rows_read = 0
        self._plans: dict[tuple[str, ...], _Plan] = {}

    def __iter__(self) -> Iterator[ParsedRow | RejectedRow]:
        """Every row, in file order."""
        records = self._csv() if self.options.format == "csv" else self._jsonl()
        for line, record in records:
            self.rows_read += 1
            yield record if isinstance(record, RejectedRow) else self._to_event(line, record)

    # -- reading records -------------------------------------------------------------------------

    def _csv(self) -> Iterator[tuple[int, dict[str, Any] | RejectedRow]]:
        reader = csv.reader(self._lines)
        header: list[str] | None = None
        previous_end = 0
        for values in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if header is None:
                header = [name.strip().lstrip("\ufeff") for name in values]
                self._plan_csv(header)
                continue
            if not any(value.strip() for value in values):
                continue  # blank line
            if len(values) != len(header):
                yield (
                    line,
                    RejectedRow(
                        line,
                        None,
                        f"the row has {len(values)} values but the header has {len(header)} columns",
                    ),
                )
                continue
            yield line, dict(zip(header, values, strict=True))
        if header is None:
            raise MappingError("the file is empty: a CSV file starts with a header line naming its columns")

    def _plan_csv(self, header: Sequence[str]) -> None:
        columns = set(header)
        if len(columns) != len(header):
            twice = sorted({name for name in header if header.count(name) > 1})
            raise MappingError(f"the header names these columns twice: {', '.join(twice)}")
        missing = {target: source for target, source in self.options.mapping.items() if source not in columns}
        if missing:
            named = ", ".join(f"{source!r} (for {target})" for target, source in missing.items())
            raise MappingError(
                f"--map names columns the file does not have: {named}; its columns are {header}"
            )
        self.ignored_columns = set(self._plan(tuple(header)).ignored)

    def _source_for(self, target: str, keys: set[str] | Mapping[str, Any]) -> str | None:
        explicit = self.options.mapping.get(target)
        if explicit is not None:
            return explicit
        if target in keys and target not in self.options.mapping.values():
            return target
        for alias in ALIASES.get(target, ()):
            if alias in keys and alias not in self.options.mapping.values():
                return alias
        return None

    def _jsonl(self) -> Iterator[tuple[int, dict[str, Any] | RejectedRow]]:
        for line, text in enumerate(self._lines, start=1):
            if not text.strip():
                continue
            try:
                record = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                yield line, RejectedRow(line, None, f"not valid JSON: {exc}")
                continue
            if not isinstance(record, dict):
                yield line, RejectedRow(line, None, "each line must be one JSON object")
                continue
            yield line, record

    # -- mapping ---------------------------------------------------------------------------------

    def _plan(self, keys: tuple[str, ...]) -> _Plan:
        """Which key feeds which field, worked out once per set of keys (once per CSV file)."""
        plan = self._plans.get(keys)
        if plan is not None:
            return plan
        present = set(keys)
        fields = tuple(
            (target, source, _CONVERTERS.get(target, _text))
            for target in FIELDS
            if (source := self._source_for(target, present)) is not None
        )
        tags = [(name, key) for key in keys if (name := _tag_name(key)) is not None]
        tags += [
            (name, source) for target, source in self.options.mapping.items() if (name := _tag_name(target))
        ]
        sources = [source for _, source, _ in fields] + [source for _, source in tags]
        # A dotted source reads a column of that name, or a path into a nested JSON object.
        used = set(sources) | {source.partition(".")[0] for source in sources}
        plan = _Plan(fields, tuple(tags), frozenset(present - used))
        if len(self._plans) >= 1_000:  # JSONL whose every line has other keys: do not grow without end
            self._plans.clear()
        self._plans[keys] = plan
        return plan

    def _to_event(self, line: int, record: dict[str, Any]) -> ParsedRow | RejectedRow:
        plan = self._plan(tuple(record))
        data: dict[str, Any] = {}
        try:
            for target, source, convert in plan.fields:
                value = record[source] if source in record else _lookup(record, source)
                if value is not None and value != "":
                    data[target] = convert(target, value)
            if plan.tags:
                tags = {
                    name: _text(f"tag.{name}", value)
                    for name, source in plan.tags
                    if (value := _lookup(record, source)) not in (None, "")
                }
                if tags:
                    data["tags"] = {**data.get("tags", {}), **tags}
        except _FieldProblem as exc:
            return RejectedRow(line, exc.field, exc.message)
        if plan.ignored and self.options.format == "jsonl":
            self.ignored_columns.update(plan.ignored)
        return self._finish(line, data)

    def _finish(self, line: int, data: dict[str, Any]) -> ParsedRow | RejectedRow:
        identity = data.pop("event_id", None)
        event_id = _event_id(identity, data)
        if "provider" not in data and self.options.provider:
            data["provider"] = self.options.provider
        for required, hint in (
            ("provider", "add a provider column, map one (--map provider=COLUMN) or give --provider"),
            ("model", "add a model column or map one (--map model=COLUMN)"),
            ("ts", "add a timestamp column (ISO 8601 or epoch) or map one (--map ts=COLUMN)"),
        ):
            if required not in data:
                return RejectedRow(line, required, f"missing: {hint}")
        data["event_id"] = str(event_id)
        try:
            return ParsedRow(line, to_wire(data))
        except msgspec.ValidationError as exc:
            name, message = _split_msgspec_error(str(exc))
            return RejectedRow(line, name, message)


class _FieldProblem(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


def _lookup(record: Mapping[str, Any], source: str) -> Any:
    """The value of a column, or of a dotted path into nested JSON objects (`usage.prompt_tokens`)."""
    if source in record:
        return record[source]
    value: Any = record
    for part in source.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _lower_text(target: str, value: Any) -> str:
    return _text(target, value).strip().lower()


def _iso_time(_target: str, value: Any) -> str:
    return _timestamp(value).isoformat()


def _integer(target: str, value: Any) -> int:
    if isinstance(value, bool):
        raise _FieldProblem(target, f"{value!r} is not a token count")
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip().replace("_", ""))
    except ValueError:
        raise _FieldProblem(target, f"{value!r} is not a whole number") from None
    if not number.is_integer():
        raise _FieldProblem(target, f"{value!r} is not a whole number")
    return int(number)


def _number(target: str, value: Any) -> float:
    if isinstance(value, bool):
        raise _FieldProblem(target, f"{value!r} is not a number")
    try:
        return float(str(value).strip()) if not isinstance(value, int | float) else float(value)
    except ValueError:
        raise _FieldProblem(target, f"{value!r} is not a number") from None


def _text(target: str, value: Any) -> str:
    if isinstance(value, dict | list):
        raise _FieldProblem(target, "expected text, got a JSON object or list")
    return str(value)


def _object(target: str, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise _FieldProblem(target, "expected a JSON object") from None
    if not isinstance(value, dict):
        raise _FieldProblem(target, "expected a JSON object")
    if target == "tags":
        return {str(key): _text(f"tags.{key}", item) for key, item in value.items()}
    return value


def parse_timestamp(value: Any) -> datetime:
    """An ISO 8601 time (UTC when it has no offset) or a Unix epoch in s, ms, µs or ns.

    Raises:
        ValueError: The value is not a time.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time")
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            if text.upper().endswith(" UTC"):
                text = text[:-4]
            parsed = datetime.fromisoformat(text)
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    for scale in (1.0, 1e3, 1e6, 1e9):  # seconds until year 5138, then ms, µs, ns
        if abs(number) / scale < 1e11:
            return datetime.fromtimestamp(number / scale, UTC)
    raise ValueError(f"{value!r} is not a time")


def _timestamp(value: Any) -> datetime:
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError, OSError):
        raise _FieldProblem(
            "ts", f"{value!r} is not a time: use ISO 8601 (2025-03-01T12:00:00Z) or a Unix epoch"
        ) from None


def _event_id(identity: Any, data: Mapping[str, Any]) -> uuid.UUID:
    if identity is not None:
        try:
            return uuid.UUID(str(identity))
        except ValueError:
            return uuid.uuid5(IMPORT_NAMESPACE, f"id:{identity}")
    content = orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    return uuid.uuid5(IMPORT_NAMESPACE, f"row:{content}")


def _split_msgspec_error(message: str) -> tuple[str | None, str]:
    """`Expected int >= 0 - at $.input_tokens` → (`input_tokens`, `Expected int >= 0`)."""
    text, sep, where = message.rpartition(" - at `$.")
    if not sep:
        return None, message
    name = where.rstrip("`").split(".")[0].split("[")[0]
    return name, text


class FileLines:
    """The lines of a (possibly gzipped) file as text, read lazily, with how far reading got.

    `position` is the number of bytes read from the file on disk, for a progress bar whose total is
    the file's size. A line that is not UTF-8 raises `MappingError` naming the line.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size
        self._raw: BinaryIO = path.open("rb")
        self._binary: BinaryIO | gzip.GzipFile = self._raw
        if path.name.lower().endswith(".gz"):
            self._binary = gzip.GzipFile(fileobj=self._raw)
        self._read = 0

    @property
    def position(self) -> int:
        """Bytes of the file on disk consumed so far."""
        return self._raw.tell() if self._binary is not self._raw else self._read

    def __iter__(self) -> Iterator[str]:
        """The file's lines, line endings kept (as `csv` needs for quoted newlines)."""
        for number, raw in enumerate(self._binary, start=1):
            self._read += len(raw)
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise MappingError(
                    f"line {number} is not UTF-8 text (byte {exc.start} of the line): "
                    "convert the file to UTF-8"
                ) from exc

    def close(self) -> None:
        """Close the file."""
        self._binary.close()
        self._raw.close()

    def __enter__(self) -> FileLines:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


_CONVERTERS: dict[str, Converter] = {
    **dict.fromkeys(_INTEGERS, _integer),
    **dict.fromkeys(_FLOATS, _number),
    **dict.fromkeys(_OBJECTS, _object),
    "ts": _iso_time,
    "provider": _lower_text,
    "status": _lower_text,
}
