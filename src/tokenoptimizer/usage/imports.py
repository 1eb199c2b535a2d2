"""`POST /api/v1/import`: import a CSV or JSONL usage file through the one pipeline.

The file comes as the raw body (`Content-Type: text/csv` or `application/x-ndjson`) or as the
`file` part of a multipart form. Options come as query parameters or form fields. Files larger
than `IMPORT_MAX_BYTES` are refused with 413: `tokenoptimizer import FILE --url …` sends any size,
in parts. Parsing and mapping are `import_rows`'s, shared with the CLI.
"""

from __future__ import annotations

import email.parser
import email.policy
import io
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError

from tokenoptimizer.server.deps import ContextDep, IngestCaller
from tokenoptimizer.usage.import_rows import (
    Format,
    ImportOptions,
    MappingError,
    RowReader,
    format_named,
    format_of,
    parse_mapping,
)
from tokenoptimizer.usage.importer import ImportReport, import_rows
from tokenoptimizer.usage.pipeline import Attribution
from tokenoptimizer.usage.request_body import MIB, read_body

router = APIRouter(prefix="/api/v1/import", tags=["import"])

IMPORT_MAX_BYTES = 32 * MIB
"""Largest file accepted in one request (the CLI sends bigger files in parts)."""

_OPENAPI = {
    "requestBody": {
        "required": True,
        "description": "The file: a raw CSV or JSONL body, or the `file` part of a multipart form "
        "(whose fields `map`, `provider`, `format`, `dry_run` work like the query parameters).",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "map": {"type": "array", "items": {"type": "string"}},
                        "provider": {"type": "string"},
                        "format": {"type": "string", "enum": ["csv", "jsonl"]},
                        "dry_run": {"type": "boolean"},
                    },
                }
            },
        },
    }
}


@dataclass
class _Upload:
    data: bytes
    filename: str | None = None
    content_type: str | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)


def _invalid(loc: list[str | int], message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": message, "type": "value_error"}])


@router.post(
    "",
    response_model=ImportReport,
    openapi_extra=_OPENAPI,
    responses={
        413: {"description": "The file is larger than 32 MiB (use the CLI, which sends it in parts)."},
        422: {
            "description": "Bad options or an unreadable file (rows with problems are reported, not refused)."
        },
    },
)
async def import_file(
    request: Request,
    caller: IngestCaller,
    context: ContextDep,
    format_: Annotated[
        str | None,
        Query(alias="format", description="csv or jsonl (default: from the Content-Type or file name)."),
    ] = None,
    map_: Annotated[
        list[str],
        Query(alias="map", description="FIELD=COLUMN, repeatable: e.g. input_tokens=prompt_tokens."),
    ] = [],  # noqa: B006
    provider: Annotated[str | None, Query(description="Provider of rows without one.")] = None,
    dry_run: Annotated[bool, Query(description="Validate and price every row; store nothing.")] = False,
) -> ImportReport:
    """Import usage from a CSV or JSONL file into the key's project.

    Valid rows are stored and rows with problems are reported by line, field and reason; re-running
    the same file stores nothing twice (see docs/import.md for ids, columns and mapping).
    """
    if caller.api_key_id is None or caller.key_project_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "import with a project API key (ingest scope)")
    raw = await read_body(
        request,
        IMPORT_MAX_BYTES,
        advice="Send it in parts, or use `tokenoptimizer import FILE --url …`, which does.",
    )
    upload = _upload(raw, request.headers.get("content-type", ""))
    form = upload.fields
    fmt = _format(format_ or _last(form, "format"), upload)
    try:
        mapping = parse_mapping([*map_, *form.get("map", [])])
    except MappingError as exc:
        raise _invalid(["query", "map"], str(exc)) from exc
    options = ImportOptions(format=fmt, mapping=mapping, provider=provider or _last(form, "provider"))
    form_dry_run = _last(form, "dry_run")
    if form_dry_run is not None:
        dry_run = dry_run or form_dry_run.strip().lower() in ("1", "true", "yes", "on")
    text = _text(upload.data)
    reader = RowReader(io.StringIO(text, newline=""), options)
    attribution = Attribution(
        org_id=caller.org_id, project_id=caller.key_project_id, api_key_id=caller.api_key_id
    )
    try:
        return await import_rows(context.pipeline, attribution, reader, dry_run=dry_run)
    except MappingError as exc:
        raise _invalid(["body"], str(exc)) from exc


def _last(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[-1] if values else None


def _upload(raw: bytes, content_type: str) -> _Upload:
    media = content_type.split(";")[0].strip().lower()
    if media != "multipart/form-data":
        return _Upload(raw, content_type=media or None)
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
    )
    if not parsed.is_multipart():
        raise _invalid(["body"], "a multipart/form-data body without parts (is the boundary right?)")
    upload: _Upload | None = None
    fields: dict[str, list[str]] = {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if name == "file":
            upload = _Upload(data, filename=part.get_filename(), content_type=part.get_content_type())
        elif isinstance(name, str):
            fields.setdefault(name, []).append(data.decode("utf-8", errors="replace"))
    if upload is None:
        raise _invalid(["body", "file"], "the form has no 'file' part: send the CSV or JSONL file as 'file'")
    upload.fields = fields
    return upload


def _format(requested: str | None, upload: _Upload) -> Format:
    if requested is not None:
        named = format_named(requested)
        if named is None:
            raise _invalid(["query", "format"], "format must be csv or jsonl")
        return named
    found = format_of(upload.filename, upload.content_type)
    if found is None:
        raise _invalid(
            ["query", "format"],
            "cannot tell the file's format: send Content-Type text/csv or application/x-ndjson, a file "
            "name ending in .csv or .jsonl, or format=csv|jsonl",
        )
    return found


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _invalid(
            ["body"], f"the file is not UTF-8 text (byte {exc.start} cannot be decoded): convert it to UTF-8"
        ) from exc
