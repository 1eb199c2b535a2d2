"""Wallets (prepaid credits) and their append-only ledger.

Money is kept in integer micro-units of the wallet's currency (`*_micros`), so a balance is exactly
the sum of its ledger entries, whatever the number of entries. A wallet's `version` grows by one
per ledger entry: every change is `UPDATE wallets ... WHERE id = ? AND version = ?` (optimistic
concurrency) in the same transaction as its entries, and entries carry the version they produced
(`seq`, unique per wallet), which is also the ledger's order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tokenoptimizer.db.base import Base, UTCDateTime, new_id, utcnow


class Wallet(Base):
    """Prepaid credits of an organisation, or of one of its teams, users or end users."""

    __tablename__ = "wallets"
    __table_args__ = (
        UniqueConstraint("org_id", "owner_kind", "owner_value", name="uq_wallets_org_id_owner"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_kind: Mapped[str] = mapped_column(String(16))  # org | team | user | end_user
    owner_value: Mapped[str] = mapped_column(String(200))  # "" for the organisation's own wallet
    currency: Mapped[str] = mapped_column(String(3))  # the organisation's currency when created
    balance_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)
    block_when_empty: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_refill_amount: Mapped[float | None] = mapped_column(Float, nullable=True)
    auto_refill_threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    auto_refill_interval: Mapped[str | None] = mapped_column(String(16), nullable=True)  # day|week|month
    auto_refill_max_per_month: Mapped[int] = mapped_column(Integer, default=10)
    refill_month: Mapped[str | None] = mapped_column(String(7), nullable=True)  # "2026-11"
    refills_this_month: Mapped[int] = mapped_column(Integer, default=0)
    next_refill_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WalletEntry(Base):
    """One movement of a wallet's balance; never updated, never deleted on its own."""

    __tablename__ = "wallet_entries"
    __table_args__ = (
        UniqueConstraint("wallet_id", "reference", name="uq_wallet_entries_wallet_id_reference"),
        UniqueConstraint("wallet_id", "seq", name="uq_wallet_entries_wallet_id_seq"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # the wallet's version after this entry
    kind: Mapped[str] = mapped_column(String(16))  # top_up | spend | refund | adjustment | auto_refill
    amount_micros: Mapped[int] = mapped_column(BigInteger)  # signed: credits > 0, debits < 0
    balance_after_micros: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(200))  # idempotency key, unique per wallet
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(500), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
