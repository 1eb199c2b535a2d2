"""Top-ups paid by card through Stripe Checkout (only when the server has Stripe settings).

`create_session` asks Stripe for a hosted Checkout page selling credits of one wallet; the wallet,
its organisation and the credits bought travel in the session's metadata. Stripe then calls our
webhook: `handle_webhook` verifies the signature (`stripe.Webhook.construct_event`, which also
refuses signatures older than five minutes) and credits the wallet on `checkout.session.completed`
(paid) or `checkout.session.async_payment_succeeded`. The entry's reference is the Checkout
Session id, so a replayed event — or a second event about the same payment — credits nothing.

The credit is what the metadata says was bought, not `amount_total`: taxes and fees Stripe adds
are not credits. Metadata cannot be forged by a payer: only our secret key creates sessions, and
only Stripe's signature gets an event in.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

import stripe

from tokenoptimizer.budgets.state import MICROS
from tokenoptimizer.budgets.wallets import ledger
from tokenoptimizer.budgets.wallets.ledger import Posting, ReferenceReused, WalletNotFound
from tokenoptimizer.budgets.wallets.models import Wallet
from tokenoptimizer.db.base import Database

log = logging.getLogger(__name__)

ZERO_DECIMAL_CURRENCIES = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
"""Currencies Stripe counts in whole units (no cents)."""

CREDITING_EVENTS = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded"})

WebhookOutcome = Literal["credited", "duplicate", "ignored"]


class StripeNotConfigured(RuntimeError):
    """The server has no Stripe settings."""


class StripeFailed(RuntimeError):
    """Stripe refused or could not be reached (the message says why)."""


class BadSignature(ValueError):
    """A webhook call not signed by Stripe with our secret (or signed too long ago)."""


@dataclass(frozen=True, slots=True)
class StripeConfig:
    """The server's Stripe settings."""

    secret_key: str | None
    webhook_secret: str | None
    api_base: str = "https://api.stripe.com"


def minor_units(amount_micros: int, currency: str) -> int:
    """An amount as Stripe counts it: cents, or whole units for zero-decimal currencies."""
    per_unit = 1 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 100
    return round(amount_micros * per_unit / MICROS)


def create_session(
    config: StripeConfig, wallet: Wallet, credit_micros: int, success_url: str, cancel_url: str
) -> tuple[str, str]:
    """A Checkout Session selling `credit_micros` of the wallet's credits: (session id, page URL)."""
    if not config.secret_key:
        raise StripeNotConfigured(
            "Stripe is not configured on this server: set TOKENOPTIMIZER_STRIPE_SECRET_KEY and "
            "TOKENOPTIMIZER_STRIPE_WEBHOOK_SECRET"
        )
    client = stripe.StripeClient(
        config.secret_key, base_addresses={"api": config.api_base}, max_network_retries=1
    )
    credits = credit_micros / MICROS
    try:
        session = client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "client_reference_id": wallet.id,
                "success_url": success_url,
                "cancel_url": cancel_url,
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": wallet.currency.lower(),
                            "unit_amount": minor_units(credit_micros, wallet.currency),
                            "product_data": {
                                "name": f"{credits:,.2f} {wallet.currency} of credits: {wallet.name}"
                            },
                        },
                    }
                ],
                "metadata": {
                    "tokenoptimizer_wallet_id": wallet.id,
                    "tokenoptimizer_org_id": wallet.org_id,
                    "credit_micros": str(credit_micros),
                    "currency": wallet.currency,
                },
            }
        )
    except stripe.StripeError as exc:
        raise StripeFailed(f"Stripe refused the Checkout Session: {exc.user_message or exc}") from exc
    if not session.url:
        raise StripeFailed("Stripe returned a Checkout Session without a URL")
    return session.id, session.url


def verify(config: StripeConfig, payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event of a webhook call, once its signature is checked."""
    if not config.webhook_secret:
        raise StripeNotConfigured(
            "Stripe webhooks are not configured on this server: set TOKENOPTIMIZER_STRIPE_WEBHOOK_SECRET"
        )
    if not signature:
        raise BadSignature("missing Stripe-Signature header")
    try:
        stripe.Webhook.construct_event(payload, signature, config.webhook_secret)
    except stripe.SignatureVerificationError as exc:
        raise BadSignature(f"invalid Stripe signature: {exc.user_message or exc}") from exc
    except ValueError as exc:
        raise BadSignature(f"invalid Stripe payload: {exc}") from exc
    event: dict[str, Any] = json.loads(payload)
    return event


def handle_event(db: Database, event: dict[str, Any]) -> WebhookOutcome:
    """Credit the wallet a paid Checkout Session names (once per session)."""
    if event.get("type") not in CREDITING_EVENTS:
        return "ignored"
    session = (event.get("data") or {}).get("object") or {}
    if session.get("payment_status") != "paid":
        return "ignored"  # an async payment method: credited on async_payment_succeeded
    metadata = session.get("metadata") or {}
    wallet_id = metadata.get("tokenoptimizer_wallet_id")
    org_id = metadata.get("tokenoptimizer_org_id")
    credit = metadata.get("credit_micros", "")
    if not wallet_id or not org_id or not str(credit).isdigit() or int(credit) <= 0:
        log.info("Stripe event %s is not a wallet top-up; ignored", event.get("id"))
        return "ignored"
    posting = Posting(
        kind="top_up",
        amount=int(credit),
        reference=f"stripe:{session.get('id')}",
        actor="stripe",
        note="Stripe Checkout payment",
        details={
            "stripe_event_id": event.get("id"),
            "checkout_session_id": session.get("id"),
            "amount_total": session.get("amount_total"),
            "currency": session.get("currency"),
        },
    )
    try:
        posted = ledger.post(db, org_id, wallet_id, posting)
    except WalletNotFound:
        log.warning(
            "Stripe event %s names wallet %s, which does not exist; ignored", event.get("id"), wallet_id
        )
        return "ignored"
    except ReferenceReused:
        return "duplicate"
    return "duplicate" if posted.duplicate else "credited"
