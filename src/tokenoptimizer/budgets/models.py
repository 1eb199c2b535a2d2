"""Budgets and the alerts they raise."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tokenoptimizer.db.base import Base, UTCDateTime, new_id, utcnow


class Budget(Base):
    """A spending limit on a slice of an organisation's usage, per calendar period."""

    __tablename__ = "budgets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Dimension -> value (project, team, user, end_user, api_key, feature, model); {} = the whole org.
    scope: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    period: Mapped[str] = mapped_column(String(16))
    starts_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    limit_amount: Mapped[float] = mapped_column(Float)  # in the organisation's currency
    thresholds: Mapped[list[float]] = mapped_column(JSON, default=list)  # percent of the limit
    action: Mapped[str] = mapped_column(String(16))  # alert | block
    rollover: Mapped[bool] = mapped_column(Boolean, default=False)
    channel_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # notification channels
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Alert(Base):
    """Something an organisation should know about: a budget threshold crossed, a spend spike.

    `dedupe_key` is unique per organisation, so one threshold of one period raises one alert
    however many processes notice it, and a restart does not raise it again.
    """

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("org_id", "dedupe_key", name="uq_alerts_org_id_dedupe_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # budget_threshold | spend_spike | error_rate
    severity: Mapped[str] = mapped_column(String(16), default="warning")  # info | warning | critical
    budget_id: Mapped[str | None] = mapped_column(
        ForeignKey("budgets.id", ondelete="CASCADE"), nullable=True, index=True
    )
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    dedupe_key: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(String(2000))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
