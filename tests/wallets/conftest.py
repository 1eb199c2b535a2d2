"""Wallet test helpers (the budget helpers too: an admin key, a $1-per-token model, `spend`)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from tests.budgets.conftest import admin, dollar_model  # noqa: F401  (fixtures)
from tokenoptimizer.budgets.wallets.models import Wallet, WalletEntry
from tokenoptimizer.server.context import AppContext


async def create_wallet(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "Prepaid", **fields}
    response = await client.post("/api/v1/wallets", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def balance(client: httpx.AsyncClient, headers: dict[str, str], wallet_id: str) -> float:
    response = await client.get(f"/api/v1/wallets/{wallet_id}", headers=headers)
    assert response.status_code == 200, response.text
    value: float = response.json()["balance"]
    return value


def stored(context: AppContext, wallet_id: str) -> tuple[int, int, list[WalletEntry]]:
    """(balance, sum of ledger amounts, entries in order), in micro-units, straight from the database."""
    with context.db.session() as session:
        wallet = session.get(Wallet, wallet_id)
        assert wallet is not None
        total = session.scalar(
            select(func.coalesce(func.sum(WalletEntry.amount_micros), 0)).where(
                WalletEntry.wallet_id == wallet_id
            )
        )
        entries = list(
            session.scalars(
                select(WalletEntry).where(WalletEntry.wallet_id == wallet_id).order_by(WalletEntry.seq)
            )
        )
        return wallet.balance_micros, int(total or 0), entries


def assert_ledger_consistent(context: AppContext, wallet_id: str) -> list[WalletEntry]:
    """Balance == sum of entries; seq runs 1..n without gaps; each balance_after follows from the last."""
    balance_micros, total, entries = stored(context, wallet_id)
    assert balance_micros == total
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    running = 0
    for entry in entries:
        running += entry.amount_micros
        assert entry.balance_after_micros == running, entry.seq
    with context.db.session() as session:
        wallet = session.get(Wallet, wallet_id)
        assert wallet is not None and wallet.version == len(entries)
    return entries
