"""Send a file to a running server's `POST /api/v1/import`, a chunk at a time.

When `tokenoptimizer serve` runs, it owns the DuckDB event file (one writing process, DESIGN.md §5),
so `tokenoptimizer import FILE --url …` goes through its API. Rows are read and mapped here, by
the same `import_rows` code the server uses, and sent as JSONL with their event ids, a few thousand
per request: any file size works, line numbers in the report are the file's, and a re-run stores
nothing twice. The server validates and prices everything again; nothing is trusted.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import msgspec

from tokenoptimizer.usage.import_rows import RowReader
from tokenoptimizer.usage.importer import (
    DEFAULT_CHUNK_ROWS,
    ImportReport,
    ImportTally,
    RejectListener,
    chunks,
)

IMPORT_PATH = "/api/v1/import"


class ImportClientError(RuntimeError):
    """The server could not be reached or refused the import; the message says what to do."""


def send_rows(
    base_url: str,
    api_key: str,
    reader: RowReader,
    *,
    dry_run: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_reject: RejectListener | None = None,
    on_chunk: Callable[[], None] | None = None,
    timeout: float = 300.0,
) -> ImportReport:
    """Import a file's rows through a server; `MappingError` for a bad mapping or file."""
    tally = ImportTally(dry_run, on_reject)
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/x-ndjson"}
    params = {"format": "jsonl", "dry_run": "true" if dry_run else "false"}
    encoder = msgspec.json.Encoder()
    with httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout) as http:
        for parsed, rejected in chunks(reader, chunk_rows):
            tally.reject(rejected)
            if parsed:
                body = b"\n".join(encoder.encode(row.event) for row in parsed)
                part = _post(http, body, params)
                tally.merge(part, [row.line for row in parsed])
            tally.end_chunk()
            if on_chunk is not None:
                on_chunk()
    return tally.report(reader)


def check_server(base_url: str, api_key: str, *, timeout: float = 30.0) -> None:
    """Raise `ImportClientError` unless the server is reachable and accepts the key for imports."""
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/x-ndjson"}
    with httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout) as http:
        _post(http, b"", {"format": "jsonl", "dry_run": "true"})  # an empty import: stores nothing


def _post(http: httpx.Client, body: bytes, params: dict[str, str]) -> ImportReport:
    try:
        response = http.post(IMPORT_PATH, content=body, params=params)
    except httpx.HTTPError as exc:
        raise ImportClientError(f"cannot reach the server at {http.base_url}: {exc}") from exc
    if response.status_code == 200:
        return ImportReport.model_validate_json(response.content)
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    if response.status_code in (401, 403):
        raise ImportClientError(
            f"the server refused the API key ({response.status_code}: {detail}); "
            "give an ingest key with --api-key or TOKENOPTIMIZER_API_KEY"
        )
    if response.status_code == 404:
        raise ImportClientError(f"{http.base_url} has no {IMPORT_PATH}: is it a TokenOptimizer server?")
    raise ImportClientError(f"the server answered {response.status_code}: {detail}")
