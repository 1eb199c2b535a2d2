"""Stripe: Checkout Sessions against a real local fake Stripe, and signed webhooks credit once."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.wallets.conftest import assert_ledger_consistent, balance, create_wallet
from tests.wallets.fake_stripe import FakeStripe
from tokenoptimizer.server.context import AppContext
from tokenoptimizer.server.settings import Settings

SECRET_KEY = "sk_test_wallets"
WEBHOOK_SECRET = "whsec_test_wallets_0123456789"


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as stripe_api:
        yield stripe_api


@pytest.fixture
def settings(settings: Settings, fake_stripe: FakeStripe) -> Settings:
    return settings.model_copy(
        update={
            "stripe_secret_key": SECRET_KEY,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_api_base": fake_stripe.url,
        }
    )


def signed(payload: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> dict[str, str]:
    """The Stripe-Signature header Stripe would send (scheme v1: HMAC-SHA256 of `t.payload`)."""
    timestamp = at if at is not None else int(time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return {"stripe-signature": f"t={timestamp},v1={mac}", "content-type": "application/json"}


def completed(
    wallet: dict[str, Any], org_id: str, *, event_id: str = "evt_1", credit: int = 12_500_000
) -> bytes:
    session = {
        "id": "cs_test_0001",
        "object": "checkout.session",
        "payment_status": "paid",
        "amount_total": 1363,  # with tax: what was paid is not what is credited
        "currency": "usd",
        "metadata": {
            "tokenoptimizer_wallet_id": wallet["id"],
            "tokenoptimizer_org_id": org_id,
            "credit_micros": str(credit),
            "currency": "USD",
        },
    }
    event = {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": session},
    }
    return json.dumps(event).encode()


async def test_checkout_creates_a_session_on_stripe(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, fake_stripe: FakeStripe
) -> None:
    wallet = await create_wallet(client, admin, name="Acme credits")
    assert (await client.get("/api/v1/wallets", headers=admin)).json()["stripe_checkout"] is True
    body = {
        "amount": 12.5,
        "success_url": "https://app.example/paid",
        "cancel_url": "https://app.example/cancel",
    }
    response = await client.post(f"/api/v1/wallets/{wallet['id']}/checkout", json=body, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "session_id": "cs_test_0001",
        "url": "https://checkout.stripe.com/c/pay/cs_test_0001",
    }
    [sent] = fake_stripe.requests
    assert sent.path == "/v1/checkout/sessions"
    assert sent.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert sent.form["mode"] == "payment"
    assert sent.form["line_items[0][price_data][currency]"] == "usd"
    assert sent.form["line_items[0][price_data][unit_amount]"] == "1250"  # cents
    assert sent.form["metadata[tokenoptimizer_wallet_id]"] == wallet["id"]
    assert sent.form["metadata[tokenoptimizer_org_id]"] == tenant.org_id
    assert sent.form["metadata[credit_micros]"] == "12500000"
    assert sent.form["success_url"] == "https://app.example/paid"

    # Stripe's refusal is reported, not hidden.
    fake_stripe.fail_with = (400, {"error": {"type": "invalid_request_error", "message": "Amount too small"}})
    refused = await client.post(f"/api/v1/wallets/{wallet['id']}/checkout", json=body, headers=admin)
    assert refused.status_code == 502 and "Amount too small" in refused.json()["detail"]


async def test_a_paid_checkout_credits_the_wallet_once_and_a_replay_is_ignored(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, context: AppContext
) -> None:
    wallet = await create_wallet(client, admin, initial_balance=1)
    payload = completed(wallet, tenant.org_id)
    headers = signed(payload)
    first = await client.post("/api/v1/stripe/webhook", content=payload, headers=headers)
    assert first.status_code == 200 and first.json() == {"received": True, "outcome": "credited"}
    assert await balance(client, admin, wallet["id"]) == 13.5  # 1 + 12.50 bought (not the 13.63 paid)

    replay = await client.post("/api/v1/stripe/webhook", content=payload, headers=headers)
    assert replay.status_code == 200 and replay.json()["outcome"] == "duplicate"
    # Another event about the same payment credits nothing either.
    other_event = completed(wallet, tenant.org_id, event_id="evt_2")
    again = await client.post("/api/v1/stripe/webhook", content=other_event, headers=signed(other_event))
    assert again.json()["outcome"] == "duplicate"
    assert await balance(client, admin, wallet["id"]) == 13.5

    entries = assert_ledger_consistent(context, wallet["id"])
    stripe_entry = entries[-1]
    assert (stripe_entry.kind, stripe_entry.reference, stripe_entry.actor) == (
        "top_up",
        "stripe:cs_test_0001",
        "stripe",
    )
    assert stripe_entry.details["stripe_event_id"] == "evt_1"


async def test_webhooks_with_a_bad_signature_are_rejected(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant
) -> None:
    wallet = await create_wallet(client, admin)
    payload = completed(wallet, tenant.org_id)
    attempts = [
        {},  # no signature
        signed(payload, secret="whsec_someone_else"),
        signed(payload, at=int(time.time()) - 3600),  # an old, captured call replayed an hour later
        signed(payload + b" "),  # the body was changed after signing
    ]
    for headers in attempts:
        response = await client.post("/api/v1/stripe/webhook", content=payload, headers=headers)
        assert response.status_code == 400, (headers, response.text)
        assert "signature" in response.json()["detail"].lower()
    assert await balance(client, admin, wallet["id"]) == 0


async def test_webhooks_that_are_not_a_paid_top_up_change_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, other_tenant: Tenant
) -> None:
    wallet = await create_wallet(client, admin)
    events: list[dict[str, Any]] = [
        {"id": "evt_a", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1"}}},
        json.loads(completed(wallet, tenant.org_id)) | {"id": "evt_b"},
        json.loads(completed(wallet, other_tenant.org_id)) | {"id": "evt_c"},  # metadata names another org
    ]
    events[1]["data"]["object"]["payment_status"] = "unpaid"  # async payment method, not paid yet
    for event in events:
        payload = json.dumps(event).encode()
        response = await client.post("/api/v1/stripe/webhook", content=payload, headers=signed(payload))
        assert response.status_code == 200 and response.json()["outcome"] == "ignored", event["id"]
    assert await balance(client, admin, wallet["id"]) == 0
