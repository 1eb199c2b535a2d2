"""Channels in the database: their configuration, encrypted secrets, and what the API shows. No HTTP.

A channel's configuration is validated by the model of its kind (`schemas.CONFIGS`); the fields
named in `schemas.SECRET_FIELDS` are split off, encrypted together as one JSON object with the
server's secret key, and only ever shown masked.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tokenoptimizer.accounts.service import audit
from tokenoptimizer.budgets.models import Budget
from tokenoptimizer.db.secrets import SecretUnreadable, decrypt_secret, encrypt_secret, mask_secret
from tokenoptimizer.notify.models import Channel
from tokenoptimizer.notify.schemas import (
    CONFIGS,
    SECRET_FIELDS,
    ChannelIn,
    ChannelPatch,
    ChannelPublic,
)
from tokenoptimizer.notify.senders import SmtpSettings

UNREADABLE = "(unreadable: the server's secret key changed; enter it again)"


class ChannelNotFound(LookupError):
    """No such channel in this organisation."""


class ConfigInvalid(ValueError):
    """A configuration change does not validate; `errors` are pydantic-style, located in the body."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e["msg"]) for e in errors))


def _split(kind: str, config: BaseModel) -> tuple[dict[str, Any], dict[str, str]]:
    values = config.model_dump(mode="json")
    secrets = {name: values.pop(name) for name in SECRET_FIELDS[kind] if values.get(name) is not None}
    for name in SECRET_FIELDS[kind]:
        values.pop(name, None)
    return values, secrets


def _store(channel: Channel, secret_key: str, config: BaseModel) -> None:
    values, secrets = _split(channel.kind, config)
    channel.config = values
    channel.secrets_encrypted = (
        encrypt_secret(secret_key, orjson.dumps(secrets).decode()) if secrets else None
    )


def channel_secrets(channel: Channel, secret_key: str) -> dict[str, str]:
    """The channel's decrypted secrets; `SecretUnreadable` if the server's key changed."""
    if not channel.secrets_encrypted:
        return {}
    secrets: dict[str, str] = orjson.loads(decrypt_secret(secret_key, channel.secrets_encrypted))
    return secrets


def full_config(channel: Channel, secret_key: str) -> dict[str, Any]:
    """The channel's whole configuration, secrets included (for sending)."""
    return {**channel.config, **channel_secrets(channel, secret_key)}


def _mask(name: str, value: str) -> str:
    if name == "webhook_url":
        url = httpx.URL(value)
        return f"{url.scheme}://{url.host}/…{value[-4:]}"
    return mask_secret(value)


def masked_config(channel: Channel, secret_key: str) -> dict[str, Any]:
    """The configuration as the API shows it: every secret masked."""
    shown = dict(channel.config)
    try:
        secrets = channel_secrets(channel, secret_key)
    except SecretUnreadable:
        secrets = {}
        shown.update({name: UNREADABLE for name in SECRET_FIELDS[channel.kind]})
    shown.update({name: _mask(name, value) for name, value in secrets.items()})
    for name in SECRET_FIELDS[channel.kind]:
        shown.setdefault(name, None)
    return shown


def to_public(channel: Channel, secret_key: str) -> ChannelPublic:
    """A channel as the API shows it."""
    return ChannelPublic(
        id=channel.id,
        name=channel.name,
        kind=channel.kind,
        config=masked_config(channel, secret_key),
        alert_kinds=list(channel.alert_kinds),
        enabled=channel.enabled,
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )


def smtp_settings(config: dict[str, Any]) -> SmtpSettings:
    """How to send the e-mail of an `email` channel (its full configuration)."""
    return SmtpSettings(
        host=config["host"],
        port=int(config["port"]),
        sender=config["from_address"],
        recipients=list(config["to"]),
        username=config.get("username"),
        password=config.get("password"),
        use_starttls=bool(config.get("use_starttls", True)),
        use_ssl=bool(config.get("use_ssl", False)),
    )


def _audit_details(channel: Channel, secret_key: str) -> dict[str, Any]:
    return {
        "name": channel.name,
        "kind": channel.kind,
        "config": masked_config(channel, secret_key),
        "alert_kinds": list(channel.alert_kinds),
        "enabled": channel.enabled,
    }


def list_channels(session: Session, org_id: str) -> list[Channel]:
    """The organisation's channels, oldest first."""
    return list(
        session.scalars(
            select(Channel).where(Channel.org_id == org_id).order_by(Channel.created_at, Channel.id)
        )
    )


def get_channel(session: Session, org_id: str, channel_id: str) -> Channel:
    """One of the organisation's channels, or `ChannelNotFound`."""
    channel = session.get(Channel, channel_id)
    if channel is None or channel.org_id != org_id:
        raise ChannelNotFound(channel_id)
    return channel


def create_channel(session: Session, org_id: str, actor: str, body: ChannelIn, secret_key: str) -> Channel:
    """Store a new channel (secrets encrypted) and audit it."""
    channel = Channel(
        org_id=org_id,
        name=body.name,
        kind=body.kind,
        alert_kinds=list(body.alert_kinds),
        enabled=body.enabled,
    )
    _store(channel, secret_key, body.config)
    session.add(channel)
    session.flush()
    audit(session, org_id, actor, "channel.create", channel.id, _audit_details(channel, secret_key))
    return channel


def _merged_config(channel: Channel, changes: dict[str, Any], secret_key: str) -> BaseModel:
    try:
        current = full_config(channel, secret_key)
    except SecretUnreadable:
        current = dict(channel.config)  # the secret must be given again; validation says so
    merged = {**current, **changes}
    for name in SECRET_FIELDS[channel.kind]:
        # The dashboard may send back what it was shown: a masked secret means "unchanged".
        if name in changes and name in current and changes[name] == _mask(name, current[name]):
            merged[name] = current[name]
    try:
        return CONFIGS[channel.kind].model_validate(merged)
    except ValidationError as exc:
        raise ConfigInvalid(
            [
                {"loc": ["body", "config", *error["loc"]], "msg": error["msg"], "type": error["type"]}
                for error in exc.errors(include_url=False, include_context=False, include_input=False)
            ]
        ) from exc


def update_channel(
    session: Session, org_id: str, actor: str, channel_id: str, patch: ChannelPatch, secret_key: str
) -> Channel:
    """Change a channel (only the fields given; `config` merged into the current one) and audit it."""
    channel = get_channel(session, org_id, channel_id)
    if patch.config is not None:
        _store(channel, secret_key, _merged_config(channel, patch.config, secret_key))
    if patch.name is not None:
        channel.name = patch.name
    if patch.alert_kinds is not None:
        channel.alert_kinds = list(patch.alert_kinds)
    if patch.enabled is not None:
        channel.enabled = patch.enabled
    session.flush()
    audit(session, org_id, actor, "channel.update", channel.id, _audit_details(channel, secret_key))
    return channel


def delete_channel(session: Session, org_id: str, actor: str, channel_id: str) -> bool:
    """Delete a channel and its delivery log, and take it out of the budgets that named it.

    Returns whether a budget changed (their in-memory rules must be reloaded then).
    """
    channel = get_channel(session, org_id, channel_id)
    budgets_changed = False
    for budget in session.scalars(select(Budget).where(Budget.org_id == org_id)):
        if channel_id in (budget.channel_ids or []):
            budget.channel_ids = [c for c in budget.channel_ids if c != channel_id]
            budgets_changed = True
    session.delete(channel)
    audit(session, org_id, actor, "channel.delete", channel_id, {"name": channel.name, "kind": channel.kind})
    return budgets_changed
