"""HTTP routes of notification channels: CRUD, "send test", the delivery log (logic in `notify.*`)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy import and_, or_, select

from tokenoptimizer.accounts.service import actor_name, audit
from tokenoptimizer.notify import channels
from tokenoptimizer.notify.models import Delivery
from tokenoptimizer.notify.schemas import (
    ChannelIn,
    ChannelList,
    ChannelPatch,
    ChannelPublic,
    DeliveryPage,
    DeliveryPublic,
)
from tokenoptimizer.server.deps import AdminCaller, Caller, ContextDep, ReadCaller, SessionDep

router = APIRouter(prefix="/api/v1", tags=["notifications"])

_NOT_FOUND = "notification channel not found"


def _actor(caller: Caller) -> str:
    return actor_name(caller.user_id, caller.api_key_id)


def _not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND)


@router.get("/channels", response_model=ChannelList)
def list_channels(caller: ReadCaller, session: SessionDep, context: ContextDep) -> ChannelList:
    """The organisation's notification channels (secrets masked)."""
    key = context.settings.resolved_secret_key
    return ChannelList(
        channels=[channels.to_public(c, key) for c in channels.list_channels(session, caller.org_id)]
    )


@router.post("/channels", status_code=status.HTTP_201_CREATED, response_model=ChannelPublic)
def create_channel(
    body: ChannelIn, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> ChannelPublic:
    """Add a webhook, Slack or e-mail channel (admins). Secrets are stored encrypted, shown masked.

    Budgets name their channels (`channel_ids`); spend-spike and error-rate alerts go to every
    channel whose `alert_kinds` include them.
    """
    key = context.settings.resolved_secret_key
    channel = channels.create_channel(session, caller.org_id, _actor(caller), body, key)
    session.commit()
    return channels.to_public(channel, key)


@router.get("/channels/{channel_id}", response_model=ChannelPublic)
def get_channel(
    channel_id: str, caller: ReadCaller, session: SessionDep, context: ContextDep
) -> ChannelPublic:
    """One channel (secrets masked)."""
    try:
        channel = channels.get_channel(session, caller.org_id, channel_id)
    except channels.ChannelNotFound as exc:
        raise _not_found() from exc
    return channels.to_public(channel, context.settings.resolved_secret_key)


@router.patch("/channels/{channel_id}", response_model=ChannelPublic)
def update_channel(
    channel_id: str, body: ChannelPatch, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> ChannelPublic:
    """Change a channel (admins): only the fields given.

    `config` is merged into the current one, and secrets not given (or sent back masked) are kept.
    """
    key = context.settings.resolved_secret_key
    try:
        channel = channels.update_channel(session, caller.org_id, _actor(caller), channel_id, body, key)
    except channels.ChannelNotFound as exc:
        raise _not_found() from exc
    except channels.ConfigInvalid as exc:
        raise RequestValidationError(exc.errors) from exc
    session.commit()
    return channels.to_public(channel, key)


@router.delete("/channels/{channel_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_channel(
    channel_id: str, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> Response:
    """Delete a channel and its delivery log (admins); budgets that named it stop naming it."""
    try:
        budgets_changed = channels.delete_channel(session, caller.org_id, _actor(caller), channel_id)
    except channels.ChannelNotFound as exc:
        raise _not_found() from exc
    session.commit()
    if budgets_changed:
        context.budgets.reload(caller.org_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/channels/{channel_id}/test", response_model=DeliveryPublic)
def send_test(
    channel_id: str, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> DeliveryPublic:
    """Send a test message to the channel now (admins), once, and answer how it went.

    The attempt is also written to the channel's delivery log. A failed test still answers 200:
    `status`, `response_code` and `error` say what the receiver did.
    """
    try:
        channels.get_channel(session, caller.org_id, channel_id)
    except channels.ChannelNotFound as exc:
        raise _not_found() from exc
    delivery = context.notifier.send_test(caller.org_id, channel_id)
    audit(
        session,
        caller.org_id,
        _actor(caller),
        "channel.test",
        channel_id,
        {"status": delivery.status, "response_code": delivery.response_code, "error": delivery.error},
    )
    return DeliveryPublic.model_validate(delivery)


def _cursor(delivery: Delivery) -> str:
    return base64.urlsafe_b64encode(f"{delivery.created_at.isoformat()}|{delivery.id}".encode()).decode()


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, delivery_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created), delivery_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestValidationError(
            [
                {
                    "loc": ["query", "cursor"],
                    "msg": "invalid cursor; use next_cursor from the previous page",
                    "type": "value_error",
                }
            ]
        ) from exc


@router.get("/channels/{channel_id}/deliveries", response_model=DeliveryPage)
def list_deliveries(
    channel_id: str,
    caller: ReadCaller,
    session: SessionDep,
    status_filter: Literal["ok", "failed"] | None = Query(
        default=None, alias="status", description="Only successful or only failed attempts."
    ),
    alert_id: str | None = Query(default=None, description="Only the attempts of one alert."),
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = Query(default=None, description="next_cursor of the previous page."),
) -> DeliveryPage:
    """The channel's delivery log, newest first: every attempt, its status, code, error and duration."""
    try:
        channels.get_channel(session, caller.org_id, channel_id)
    except channels.ChannelNotFound as exc:
        raise _not_found() from exc
    conditions = [Delivery.org_id == caller.org_id, Delivery.channel_id == channel_id]
    if status_filter is not None:
        conditions.append(Delivery.status == status_filter)
    if alert_id is not None:
        conditions.append(Delivery.alert_id == alert_id)
    query = select(Delivery).where(*conditions)
    if cursor:
        created, delivery_id = _parse_cursor(cursor)
        query = query.where(
            or_(
                Delivery.created_at < created,
                and_(Delivery.created_at == created, Delivery.id < delivery_id),
            )
        )
    rows = list(
        session.scalars(query.order_by(Delivery.created_at.desc(), Delivery.id.desc()).limit(limit + 1))
    )
    page = rows[:limit]
    return DeliveryPage(
        deliveries=[DeliveryPublic.model_validate(d) for d in page],
        next_cursor=_cursor(page[-1]) if len(rows) > limit else None,
    )
