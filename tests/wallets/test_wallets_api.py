"""Wallets through the API: validation, CRUD, top-ups, refunds, adjustments, the ledger, tenants."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.budgets.conftest import dollars, spend
from tests.conftest import Tenant
from tests.wallets.conftest import assert_ledger_consistent, balance, create_wallet
from tokenoptimizer.accounts import service
from tokenoptimizer.accounts.models import AuditEntry
from tokenoptimizer.server.context import AppContext


def _loc_in(response: httpx.Response, loc: list[Any]) -> bool:
    return any(error["loc"][: len(loc)] == loc for error in response.json()["detail"])


async def test_create_and_movements_validate_every_field(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant
) -> None:
    cases: list[tuple[dict[str, Any], list[Any]]] = [
        ({"name": ""}, ["body", "name"]),
        ({"owner_kind": "planet"}, ["body", "owner_kind"]),
        ({"owner_kind": "end_user"}, ["body"]),  # owner_value missing
        ({"owner_value": "alice"}, ["body"]),  # an org wallet has none
        ({"initial_balance": -1}, ["body", "initial_balance"]),
        ({"auto_refill_amount": 10}, ["body"]),  # neither threshold nor interval
        ({"auto_refill_threshold": 5}, ["body"]),  # nothing to credit
        ({"auto_refill_amount": 10, "auto_refill_interval": "fortnight"}, ["body", "auto_refill_interval"]),
        ({"auto_refill_amount": 0, "auto_refill_threshold": 1}, ["body", "auto_refill_amount"]),
        ({"auto_refill_max_per_month": 0}, ["body", "auto_refill_max_per_month"]),
        ({"balance": 100}, ["body", "balance"]),  # the balance moves only by ledger entries
    ]
    for fields, loc in cases:
        response = await client.post("/api/v1/wallets", json={"name": "W", **fields}, headers=admin)
        assert response.status_code == 422, (fields, response.text)
        assert _loc_in(response, loc), (fields, response.json())
    empty = {"wallets": [], "stripe_checkout": False}
    assert (await client.get("/api/v1/wallets", headers=admin)).json() == empty

    wallet = await create_wallet(client, admin)
    base = f"/api/v1/wallets/{wallet['id']}"
    movements: list[tuple[str, dict[str, Any], list[Any]]] = [
        ("top-ups", {"amount": 0, "idempotency_key": "k"}, ["body", "amount"]),
        ("top-ups", {"amount": -5, "idempotency_key": "k"}, ["body", "amount"]),
        ("top-ups", {"amount": 5}, ["body", "idempotency_key"]),
        ("top-ups", {"amount": 5, "idempotency_key": "has spaces"}, ["body", "idempotency_key"]),
        ("refunds", {"amount": 1e10, "idempotency_key": "k"}, ["body", "amount"]),
        ("adjustments", {"amount": 0, "idempotency_key": "k", "note": "why"}, ["body", "amount"]),
        ("adjustments", {"amount": 3, "idempotency_key": "k"}, ["body", "note"]),
        (
            "checkout",
            {"amount": 10, "success_url": "nope", "cancel_url": "https://x.example"},
            ["body", "success_url"],
        ),
    ]
    for path, body, loc in movements:
        response = await client.post(f"{base}/{path}", json=body, headers=admin)
        assert response.status_code == 422, (path, body, response.text)
        assert _loc_in(response, loc), (path, body, response.json())
    bad_patches: list[tuple[dict[str, Any], list[Any]]] = [
        ({"name": None}, ["body", "name"]),
        ({"auto_refill_threshold": 5}, ["body"]),  # no amount to refill with
        ({"owner_kind": "team"}, ["body", "owner_kind"]),  # the owner never changes
    ]
    for body, loc in bad_patches:
        response = await client.patch(base, json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
        assert _loc_in(response, loc), (body, response.json())
    response = await client.get(f"{base}/ledger", params={"cursor": "!!"}, headers=admin)
    assert response.status_code == 422 and _loc_in(response, ["query", "cursor"])

    # Writing needs the admin scope; reading needs only read.
    denied = await client.post("/api/v1/wallets", json={"name": "W"}, headers=tenant.headers())
    assert denied.status_code == 403
    top_up = {"amount": 5, "idempotency_key": "k"}
    assert (await client.post(f"{base}/top-ups", json=top_up, headers=tenant.headers())).status_code == 403
    assert (await client.get(base, headers=tenant.headers(tenant.read_key))).status_code == 200
    assert wallet["balance"] == 0 and wallet["version"] == 0


async def test_top_ups_refunds_adjustments_and_the_paginated_ledger(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, context: AppContext
) -> None:
    wallet = await create_wallet(client, admin, initial_balance=10)
    assert wallet["balance"] == 10 and wallet["currency"] == "USD" and wallet["owner_value"] is None
    base = f"/api/v1/wallets/{wallet['id']}"

    first = await client.post(
        f"{base}/top-ups", json={"amount": 25.5, "idempotency_key": "inv-1"}, headers=admin
    )
    assert first.status_code == 201, first.text
    assert first.json()["balance"] == 35.5 and first.json()["duplicate"] is False
    # The same key again: the first result, nothing credited twice.
    again = await client.post(
        f"{base}/top-ups", json={"amount": 25.5, "idempotency_key": "inv-1"}, headers=admin
    )
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["entries"][0]["id"] == first.json()["entries"][0]["id"]
    # The same key for another amount is a mistake the API names.
    clash = await client.post(
        f"{base}/top-ups", json={"amount": 30, "idempotency_key": "inv-1"}, headers=admin
    )
    assert clash.status_code == 409 and "inv-1" in clash.json()["detail"]

    refund = await client.post(
        f"{base}/refunds",
        json={"amount": 1.25, "idempotency_key": "r-1", "note": "failed call"},
        headers=admin,
    )
    assert refund.status_code == 201 and refund.json()["balance"] == 36.75
    adjust = await client.post(
        f"{base}/adjustments",
        json={"amount": -6.75, "idempotency_key": "a-1", "note": "duplicate invoice"},
        headers=admin,
    )
    assert adjust.status_code == 201 and adjust.json()["balance"] == 30
    assert await balance(client, tenant.headers(), wallet["id"]) == 30

    # Newest first, two per page, each entry with the balance after it.
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"{base}/ledger", params=params, headers=tenant.headers())).json()
        seen.extend(page["entries"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in seen] == [
        ("adjustment", -6.75, 30),
        ("refund", 1.25, 36.75),
        ("top_up", 25.5, 35.5),
        ("top_up", 10, 10),
    ]
    assert seen[0]["note"] == "duplicate invoice" and seen[0]["actor"].startswith("api_key:")
    assert seen[-1]["reference"] == "initial"
    only_top_ups = (await client.get(f"{base}/ledger", params={"kind": "top_up"}, headers=admin)).json()
    assert [e["amount"] for e in only_top_ups["entries"]] == [25.5, 10]
    assert sum(e["amount"] for e in seen) == pytest.approx(30)
    assert_ledger_consistent(context, wallet["id"])

    # Settings change; the balance does not.
    patched = await client.patch(
        base,
        json={
            "name": "Renamed",
            "block_when_empty": True,
            "auto_refill_amount": 5,
            "auto_refill_threshold": 2,
        },
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Renamed" and patched.json()["balance"] == 30
    off = await client.patch(
        base, json={"auto_refill_amount": None, "auto_refill_threshold": None}, headers=admin
    )
    assert off.status_code == 200 and off.json()["auto_refill_amount"] is None

    # A wallet holding money is not deleted by accident.
    refused = await client.delete(base, headers=admin)
    assert refused.status_code == 409 and "30.00 USD" in refused.json()["detail"]
    assert (await client.delete(base, params={"force": "true"}, headers=admin)).status_code == 204
    assert (await client.get(base, headers=admin)).status_code == 404
    with context.db.session() as session:
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.target == wallet["id"])))
    assert {
        "wallet.create",
        "wallet.top_up",
        "wallet.refund",
        "wallet.adjustment",
        "wallet.update",
    } <= actions
    assert "wallet.delete" in actions


async def test_one_wallet_per_owner(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await create_wallet(client, admin, owner_kind="end_user", owner_value="alice")
    twice = await client.post(
        "/api/v1/wallets",
        json={"name": "Again", "owner_kind": "end_user", "owner_value": "alice"},
        headers=admin,
    )
    assert twice.status_code == 409 and "end_user 'alice' has a wallet" in twice.json()["detail"]
    # The same value as another kind of owner is another owner.
    await create_wallet(client, admin, owner_kind="user", owner_value="alice")
    await create_wallet(client, admin)
    org_again = await client.post("/api/v1/wallets", json={"name": "Org 2"}, headers=admin)
    assert org_again.status_code == 409 and "the organisation has a wallet" in org_again.json()["detail"]


async def test_wallets_are_walled_off_between_organisations(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: Tenant,
    other_tenant: Tenant,
    context: AppContext,
    dollar_model: str,
) -> None:
    wallet = await create_wallet(
        client, admin, owner_kind="end_user", owner_value="alice", initial_balance=10
    )
    base = f"/api/v1/wallets/{wallet['id']}"
    theirs = other_tenant.headers()
    listed = (await client.get("/api/v1/wallets", headers=theirs)).json()
    assert listed == {"wallets": [], "stripe_checkout": False}
    assert (await client.get(base, headers=theirs)).status_code == 404
    assert (await client.get(f"{base}/ledger", headers=theirs)).status_code == 404

    with context.db.session() as session:
        _k, _p, their_admin_secret = service.create_api_key(
            session, org_id=other_tenant.org_id, project_name="app", scopes=["ingest", "read", "admin"]
        )
    their_admin = {"Authorization": f"Bearer {their_admin_secret}"}
    for method, path, body in (
        ("PATCH", base, {"name": "mine"}),
        ("DELETE", base, None),
        ("POST", f"{base}/top-ups", {"amount": 5, "idempotency_key": "x"}),
        ("POST", f"{base}/refunds", {"amount": 5, "idempotency_key": "x"}),
        ("POST", f"{base}/adjustments", {"amount": -5, "idempotency_key": "x", "note": "steal"}),
        (
            "POST",
            f"{base}/checkout",
            {"amount": 5, "success_url": "https://a.example", "cancel_url": "https://a.example"},
        ),
    ):
        response = await client.request(method, path, json=body, headers=their_admin)
        assert response.status_code == 404, (method, path, response.text)

    # Their end user 'alice' is not ours: their spend never touches our wallet.
    await client.post(
        "/api/v1/price-overrides",
        json={"kind": "custom_model", "model_pattern": dollar_model, "input_per_mtok": 1_000_000},
        headers=their_admin,
    )
    await spend(client, other_tenant, dollars(3, end_user="alice"))
    context.wallets.wait_idle()
    assert await balance(client, admin, wallet["id"]) == 10
    assert_ledger_consistent(context, wallet["id"])


async def test_checkout_and_webhook_without_stripe_settings_answer_503(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    wallet = await create_wallet(client, admin)
    assert (await client.get("/api/v1/wallets", headers=admin)).json()["stripe_checkout"] is False
    body = {"amount": 10, "success_url": "https://app.example/ok", "cancel_url": "https://app.example/no"}
    response = await client.post(f"/api/v1/wallets/{wallet['id']}/checkout", json=body, headers=admin)
    assert response.status_code == 503 and "TOKENOPTIMIZER_STRIPE_SECRET_KEY" in response.json()["detail"]
    hook = await client.post(
        "/api/v1/stripe/webhook", content=b"{}", headers={"stripe-signature": "t=1,v1=x"}
    )
    assert hook.status_code == 503
