"""Notification channels (webhook, Slack, e-mail) and the log of every delivery attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tokenoptimizer.db.base import Base, UTCDateTime, new_id, utcnow


class Channel(Base):
    """Somewhere an organisation's alerts are sent.

    `config` holds what may be shown (URL, SMTP host, recipients…); the secrets of a channel (a
    webhook's signing secret, a Slack webhook URL, an SMTP password) are kept apart, encrypted
    with the server's secret key, in `secrets_encrypted` (a JSON object once decrypted).
    """

    __tablename__ = "notification_channels"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # webhook | slack | email
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secrets_encrypted: Mapped[str | None] = mapped_column(String(4000), nullable=True)
    # Alert kinds sent here for the whole organisation; budget alerts also go to each budget's channels.
    alert_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Delivery(Base):
    """One attempt to send one alert to one channel, and how it went."""

    __tablename__ = "notification_deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[str] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True
    )
    alert_id: Mapped[str | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), nullable=True, index=True
    )  # None: a test message
    alert_kind: Mapped[str] = mapped_column(String(32))
    alert_title: Mapped[str] = mapped_column(String(300))
    attempt: Mapped[int] = mapped_column(Integer)  # 1 for the first try
    status: Mapped[str] = mapped_column(String(16))  # ok | failed
    will_retry: Mapped[bool] = mapped_column(Boolean, default=False)
    response_code: Mapped[int | None] = mapped_column(Integer, nullable=True)  # HTTP status or SMTP code
    error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    duration_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
