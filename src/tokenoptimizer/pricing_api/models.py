"""Stored price overrides: an organisation's custom model prices and negotiated discounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tokenoptimizer.db.base import Base, UTCDateTime, new_id, utcnow


class PriceOverrideRow(Base):
    """A custom model price or a discount, effective for a period (see `pricing.PriceOverride`)."""

    __tablename__ = "price_overrides"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    model_pattern: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(64), nullable=True)
    input_per_mtok: Mapped[float | None] = mapped_column(Float, nullable=True)
    cache_read_per_mtok: Mapped[float | None] = mapped_column(Float, nullable=True)
    cache_write_per_mtok: Mapped[float | None] = mapped_column(Float, nullable=True)
    output_per_mtok: Mapped[float | None] = mapped_column(Float, nullable=True)
    reasoning_per_mtok: Mapped[float | None] = mapped_column(Float, nullable=True)
    discount_percent: Mapped[float | None] = mapped_column(Float, nullable=True)
    effective_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    effective_to: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
