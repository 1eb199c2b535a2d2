"""Spend on ingest debits the paying wallet; empty wallets block calls; auto-refill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.budgets.conftest import dollars, spend
from tests.conftest import Tenant
from tests.wallets.conftest import assert_ledger_consistent, balance, create_wallet
from tokenoptimizer.server.context import AppContext


async def test_ingest_debits_the_most_specific_wallet_at_the_billed_price(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, context: AppContext, dollar_model: str
) -> None:
    # A 25% markup: a $1 call is billed $1.25, and wallets pay the billed price.
    assert (
        await client.patch("/api/v1/organization", json={"markup_percent": 25}, headers=admin)
    ).status_code == 200
    org = await create_wallet(client, admin, name="Org", initial_balance=100)
    team = await create_wallet(
        client, admin, name="Red", owner_kind="team", owner_value="red", initial_balance=50
    )
    user = await create_wallet(
        client, admin, name="Bob", owner_kind="user", owner_value="bob", initial_balance=50
    )
    end_user = await create_wallet(
        client, admin, name="Alice", owner_kind="end_user", owner_value="alice", initial_balance=50
    )

    repeated = dollars(2, user="bob", team="red")
    await spend(
        client,
        tenant,
        dollars(3, end_user="alice", user="bob", team="red"),  # alice pays 3.75 (end user first)
        repeated,  # bob pays 2.50 (user before team)
        dollars(4, team="red", end_user="zed"),  # zed has no wallet: team red pays 5.00
        dollars(1),  # nobody named: the organisation pays 1.25
        dollars(8, user="carol"),  # carol has no wallet: the organisation pays 10.00
    )
    await spend(client, tenant, repeated)  # a re-sent event is stored once, debited once
    context.wallets.wait_idle()

    expected = {end_user["id"]: 46.25, user["id"]: 47.5, team["id"]: 45.0, org["id"]: 88.75}
    for wallet_id, amount in expected.items():
        assert await balance(client, admin, wallet_id) == pytest.approx(amount, abs=1e-9)
        entries = assert_ledger_consistent(context, wallet_id)
        assert [e.kind for e in entries] == ["top_up", "spend"]  # one spend entry per wallet per append
    org_spend = assert_ledger_consistent(context, org["id"])[-1]
    assert org_spend.amount_micros == -11_250_000 and org_spend.details["events"] == 2
    assert org_spend.details["billed_usd"] == pytest.approx(11.25) and org_spend.actor == "ingest"


async def test_wallets_in_another_currency_are_debited_at_the_organisations_rate(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, context: AppContext, dollar_model: str
) -> None:
    settings = {"currency": "EUR", "fixed_fx_rate": 0.9}
    assert (await client.patch("/api/v1/organization", json=settings, headers=admin)).status_code == 200
    wallet = await create_wallet(client, admin, initial_balance=20)
    assert wallet["currency"] == "EUR"
    await spend(client, tenant, dollars(10))
    context.wallets.wait_idle()
    assert await balance(client, admin, wallet["id"]) == pytest.approx(11.0)  # 20 EUR - 10 USD x 0.9


async def test_an_empty_wallet_that_blocks_refuses_reservations_with_402(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, context: AppContext, dollar_model: str
) -> None:
    wallet = await create_wallet(client, admin, initial_balance=0.4, block_when_empty=True)
    call = {"attribution": {}, "estimated_cost_usd": 1.2}
    refused = await client.post("/api/v1/reservations", json=call, headers=tenant.headers())
    assert refused.status_code == 402, refused.text
    body = refused.json()
    assert body["error"] == "wallet_empty" and body["wallet_id"] == wallet["id"]
    assert body["balance"] == pytest.approx(0.4) and body["requested"] == pytest.approx(1.2)
    assert body["message"].startswith("Wallet 'Prepaid' has $0.40 left; this call needs up to $1.20 — top up")
    assert f"/api/v1/wallets/{wallet['id']}/top-ups" in body["message"]
    # A call it can cover passes.
    small = await client.post(
        "/api/v1/reservations", json={"estimated_cost_usd": 0.3}, headers=tenant.headers()
    )
    assert small.status_code == 201, small.text

    # An end user with a funded wallet of their own pays with it: the empty org wallet does not matter.
    await create_wallet(
        client, admin, name="Alice", owner_kind="end_user", owner_value="alice", initial_balance=5
    )
    alice = {"attribution": {"end_user": "alice"}, "estimated_cost_usd": 1.2}
    assert (
        await client.post("/api/v1/reservations", json=alice, headers=tenant.headers())
    ).status_code == 201

    # The markup counts: a $1.00 call billed $1.50 does not fit in $1.40.
    top_up = {"amount": 1.0, "idempotency_key": "t1"}
    assert (
        await client.post(f"/api/v1/wallets/{wallet['id']}/top-ups", json=top_up, headers=admin)
    ).status_code == 201
    assert (
        await client.patch("/api/v1/organization", json={"markup_percent": 50}, headers=admin)
    ).status_code == 200
    one = {"estimated_cost_usd": 1.0}
    marked_up = await client.post("/api/v1/reservations", json=one, headers=tenant.headers())
    assert marked_up.status_code == 402 and "needs up to $1.50" in marked_up.json()["message"]

    # Spend that empties the wallet blocks the next call; turning blocking off lets it through.
    await client.patch("/api/v1/organization", json={"markup_percent": 0}, headers=admin)
    assert (await client.post("/api/v1/reservations", json=one, headers=tenant.headers())).status_code == 201
    await spend(client, tenant, dollars(2))
    context.wallets.wait_idle()
    assert await balance(client, admin, wallet["id"]) == pytest.approx(-0.6)  # spend already made is debited
    tiny = {"estimated_cost_usd": 0.0}
    empty = await client.post("/api/v1/reservations", json=tiny, headers=tenant.headers())
    assert empty.status_code == 402 and "has -$0.60 left" in empty.json()["message"]
    await client.patch(f"/api/v1/wallets/{wallet['id']}", json={"block_when_empty": False}, headers=admin)
    assert (await client.post("/api/v1/reservations", json=one, headers=tenant.headers())).status_code == 201


async def test_threshold_auto_refill_triggers_once_when_crossing(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, context: AppContext, dollar_model: str
) -> None:
    wallet = await create_wallet(
        client, admin, initial_balance=10, auto_refill_amount=20, auto_refill_threshold=5
    )
    await spend(client, tenant, dollars(4))  # 10 -> 6: above the threshold, no refill
    context.wallets.wait_idle()
    await spend(client, tenant, dollars(2))  # 6 -> 4: below 5, refilled once to 24
    context.wallets.wait_idle()
    await spend(client, tenant, dollars(1))  # 24 -> 23: no refill
    context.wallets.wait_idle()
    assert await balance(client, admin, wallet["id"]) == 23
    entries = assert_ledger_consistent(context, wallet["id"])
    assert [(e.kind, e.amount_micros // 1_000_000, e.balance_after_micros // 1_000_000) for e in entries] == [
        ("top_up", 10, 10),
        ("spend", -4, 6),
        ("spend", -2, 4),
        ("auto_refill", 20, 24),
        ("spend", -1, 23),
    ]
    assert entries[3].details["trigger"] == "threshold"
    public = (await client.get(f"/api/v1/wallets/{wallet['id']}", headers=admin)).json()
    assert public["refills_this_month"] == 1


async def test_auto_refills_stop_at_the_monthly_cap(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, context: AppContext, dollar_model: str
) -> None:
    # A refill too small to lift the balance above the threshold: every spend would refill, but
    # only twice a month.
    wallet = await create_wallet(
        client, admin, auto_refill_amount=1, auto_refill_threshold=100, auto_refill_max_per_month=2
    )
    for _ in range(5):
        await spend(client, tenant, dollars(1))
        context.wallets.wait_idle()
    entries = assert_ledger_consistent(context, wallet["id"])
    assert [e.kind for e in entries].count("auto_refill") == 2
    assert await balance(client, admin, wallet["id"]) == -3  # 5 spent, 2 refilled


async def test_interval_refill_credits_once_per_period(
    client: httpx.AsyncClient, admin: dict[str, str], context: AppContext
) -> None:
    wallet = await create_wallet(client, admin, auto_refill_amount=10, auto_refill_interval="month")
    assert wallet["balance"] == 10  # this month's credits, at once
    assert context.wallets.run_due_refills() == 0  # … and only once
    next_refill = datetime.fromisoformat(wallet["next_refill_at"])
    assert next_refill > datetime.now(UTC) and next_refill.day == 1
    later = next_refill + timedelta(days=3)
    assert context.wallets.run_due_refills(now=later) == 1
    assert context.wallets.run_due_refills(now=later + timedelta(hours=1)) == 0
    assert await balance(client, admin, wallet["id"]) == 20
    entries = assert_ledger_consistent(context, wallet["id"])
    assert [(e.kind, e.details["trigger"], e.note) for e in entries] == [
        ("auto_refill", "interval", "monthly credits"),
        ("auto_refill", "interval", "monthly credits"),
    ]
    # Switching the interval off stops them (the amount alone would have nothing to trigger it).
    path = f"/api/v1/wallets/{wallet['id']}"
    half = await client.patch(path, json={"auto_refill_interval": None}, headers=admin)
    assert half.status_code == 422 and "auto_refill_amount needs" in half.text
    off = await client.patch(
        path, json={"auto_refill_interval": None, "auto_refill_amount": None}, headers=admin
    )
    assert off.status_code == 200 and off.json()["next_refill_at"] is None
    assert context.wallets.run_due_refills(now=later + timedelta(days=40)) == 0
