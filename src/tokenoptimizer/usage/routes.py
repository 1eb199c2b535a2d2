"""HTTP routes for usage events: ingest, list, fetch one."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
import orjson
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import select

from tokenoptimizer.accounts.models import Organization, Project
from tokenoptimizer.pricing import convert_currency
from tokenoptimizer.server.context import AppContext
from tokenoptimizer.server.deps import Caller, ContextDep, IngestCaller, ReadCaller, SessionDep
from tokenoptimizer.usage.pipeline import Attribution, IngestError
from tokenoptimizer.usage.queries import CursorError, EventFilter, get_event, list_events
from tokenoptimizer.usage.request_body import INGEST_MAX_BYTES, decode_content
from tokenoptimizer.usage.schemas import EventBatchIn, EventIn, EventPage, EventPublic, IngestResult
from tokenoptimizer.usage.wire import WireBatch, WireEvent, batch_decoder

router = APIRouter(prefix="/api/v1/events", tags=["events"])

_INGEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/EventIn"},
                        {"$ref": "#/components/schemas/EventBatchIn"},
                    ]
                }
            }
        },
    }
}


def _parse_events(raw: bytes, max_batch: int) -> list[WireEvent]:
    """Decode one event or `{"events": [...]}` on the fast path.

    When the body is invalid, it is validated again with pydantic to list every problem with its
    location (`body.events[i].field`), which the fast decoder, stopping at the first, cannot.
    """
    try:
        if raw.lstrip()[:9] == b'{"events"':  # what our SDKs send: decode straight from bytes
            events = batch_decoder.decode(raw).events
        else:
            body = orjson.loads(raw)
            if isinstance(body, dict) and "events" in body:
                events = msgspec.convert(body, WireBatch).events
            else:
                events = [msgspec.convert(body, WireEvent)]
    except (msgspec.DecodeError, orjson.JSONDecodeError) as exc:
        raise RequestValidationError(_detailed_errors(raw, exc)) from exc
    if not events:
        raise RequestValidationError(
            [{"loc": ["body", "events"], "msg": "a non-empty list of events", "type": "too_short"}]
        )
    if len(events) > max_batch:
        raise RequestValidationError(
            [
                {
                    "loc": ["body", "events"],
                    "msg": f"at most {max_batch} events per request (got {len(events)}); split the batch",
                    "type": "too_long",
                }
            ]
        )
    return events


def _detailed_errors(raw: bytes, fast_error: Exception) -> list[dict[str, Any]]:
    """Every problem of an invalid body, by location, from the pydantic model of the API."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return [{"loc": ["body"], "msg": f"invalid JSON: {exc}", "type": "json_invalid"}]
    model: type[EventIn] | type[EventBatchIn] = (
        EventBatchIn if isinstance(body, dict) and "events" in body else EventIn
    )
    try:
        model.model_validate_json(raw)
    except ValidationError as exc:
        return _errors(exc, ["body"])
    # The two definitions agree (a test checks it); should they not, report the fast decoder's word.
    return [{"loc": ["body"], "msg": str(fast_error), "type": "value_error"}]


def _errors(exc: ValidationError, prefix: list[str | int]) -> list[dict[str, Any]]:
    return [
        {"loc": [*prefix, *error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in exc.errors(include_url=False)
    ]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=IngestResult,
    openapi_extra=_INGEST_BODY,
    responses={422: {"description": "Some events are invalid; none was stored."}},
)
async def ingest_events(request: Request, caller: IngestCaller, context: ContextDep) -> IngestResult:
    """Store one event, or a batch `{"events": [...]}` of up to 10,000.

    Answers only once the events are durably stored. Organisation and project come from the API
    key. Re-sending an `event_id` never double-counts: it is reported under `duplicates`.
    If any event is invalid, none is stored and each problem is named by index and field.
    """
    body = decode_content(await request.body(), request.headers.get("content-encoding", ""), INGEST_MAX_BYTES)
    return await accept_events(context, caller, body)


async def accept_events(context: AppContext, caller: Caller, raw: bytes) -> IngestResult:
    """Decode, price and store a request body of events for an authenticated caller.

    Raises `HTTPException` or `RequestValidationError`; shared by the route above and the
    ingest fast path (`usage.fast_path`), which serves the same URL without FastAPI's overhead.
    """
    if "ingest" not in caller.scopes:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this credential lacks the 'ingest' scope")
    if caller.api_key_id is None or caller.key_project_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "send events with a project API key (ingest scope)")
    events = _parse_events(raw, context.settings.ingest_max_batch)
    attribution = Attribution(
        org_id=caller.org_id, project_id=caller.key_project_id, api_key_id=caller.api_key_id
    )
    try:
        return await context.pipeline.ingest(events, attribution, source="api")
    except IngestError as exc:
        raise RequestValidationError(exc.errors) from exc


def _tag_filters(request: Request) -> tuple[tuple[str, str], ...]:
    tags = []
    for key, value in request.query_params.multi_items():
        if key.startswith("tag."):
            tags.append((key[4:], value))
    for value in request.query_params.getlist("tag"):
        name, sep, tag_value = value.partition("=")
        if not sep:
            raise RequestValidationError(
                [
                    {
                        "loc": ["query", "tag"],
                        "msg": "use tag=key=value or tag.key=value",
                        "type": "value_error",
                    }
                ]
            )
        tags.append((name, tag_value))
    return tuple(tags)


def _project_ids(session: SessionDep, org_id: str, names: list[str]) -> tuple[str, ...]:
    if not names:
        return ()
    rows = session.scalars(
        select(Project.id).where(
            Project.org_id == org_id, (Project.name.in_(names)) | (Project.id.in_(names))
        )
    )
    ids = tuple(rows)
    return ids or ("-none-",)


@router.get("", response_model=EventPage)
def read_events(
    request: Request,
    caller: ReadCaller,
    context: ContextDep,
    session: SessionDep,
    from_: Annotated[datetime | None, Query(alias="from", description="Start (inclusive), ISO 8601.")] = None,
    to: Annotated[datetime | None, Query(description="End (exclusive), ISO 8601.")] = None,
    project: Annotated[list[str], Query(description="Project name or id; repeat for OR.")] = [],  # noqa: B006
    provider: Annotated[list[str], Query()] = [],  # noqa: B006
    model: Annotated[list[str], Query()] = [],  # noqa: B006
    feature: Annotated[list[str], Query()] = [],  # noqa: B006
    user: Annotated[list[str], Query()] = [],  # noqa: B006
    status_: Annotated[list[Literal["ok", "error"]], Query(alias="status")] = [],  # noqa: B006
    sort: Literal["ts", "cost", "latency", "tokens"] = "ts",
    order: Literal["asc", "desc"] = "desc",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """List events, newest first by default, one page at a time.

    Filters: time range, project, provider, model, feature, user, status and tags
    (`tag.env=prod`, repeatable). Pass `next_cursor` back as `cursor` for the next page.
    """
    if from_ is not None and to is not None and from_ >= to:
        raise RequestValidationError(
            [{"loc": ["query", "from"], "msg": "'from' must be before 'to'", "type": "value_error"}]
        )
    project_ids = _project_ids(session, caller.org_id, project)
    if caller.project_restriction is not None:
        if project_ids and caller.project_restriction not in project_ids:
            project_ids = ("-none-",)
        else:
            project_ids = (caller.project_restriction,)
    flt = EventFilter(
        org_id=caller.org_id,
        start=from_,
        end=to,
        project_ids=project_ids,
        providers=tuple(p.lower() for p in provider),
        models=tuple(model),
        features=tuple(feature),
        users=tuple(user),
        statuses=tuple(status_),
        tags=_tag_filters(request),
    )
    try:
        items, next_cursor = list_events(
            context.store, flt, sort=sort, order=order, limit=limit, cursor=cursor
        )
    except CursorError as exc:
        raise RequestValidationError(
            [{"loc": ["query", "cursor"], "msg": str(exc), "type": "value_error"}]
        ) from exc
    _add_display_cost(session, caller.org_id, items)
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/{event_id}", response_model=EventPublic, responses={404: {"description": "No such event here."}}
)
def read_event(
    event_id: uuid.UUID, caller: ReadCaller, context: ContextDep, session: SessionDep
) -> dict[str, Any]:
    """One event of the caller's organisation (404 for any other organisation's event)."""
    row = get_event(context.store, caller.org_id, event_id, caller.project_restriction)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such event")
    _add_display_cost(session, caller.org_id, [row])
    return row


def _add_display_cost(session: SessionDep, org_id: str, rows: list[dict[str, Any]]) -> None:
    """Add `cost` and `billed_cost` in the org's display currency, with the rate used (per event day)."""
    org = session.get(Organization, org_id)
    currency = org.currency if org else "USD"
    fixed = org.fixed_fx_rate if org else None
    rates: dict[date, float] = {}
    for row in rows:
        day = row["ts"].date()
        if day not in rates:
            rates[day] = convert_currency(1.0, currency, day, fixed_rate=fixed)[1]
        rate = rates[day]
        row.update(
            currency=currency,
            fx_rate=rate,
            cost=row["cost_usd"] * rate,
            billed_cost=row["billed_cost_usd"] * rate,
        )
