"""HTTP routes of wallets, their ledger, top-ups and Stripe Checkout (thin: see `wallets.service`)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tokenoptimizer.accounts.models import Organization
from tokenoptimizer.accounts.service import actor_name, audit
from tokenoptimizer.budgets.state import MICROS, to_micros
from tokenoptimizer.budgets.wallets import checkout
from tokenoptimizer.budgets.wallets.ledger import EntryKind, Posting, ReferenceReused, WalletNotFound
from tokenoptimizer.budgets.wallets.models import Wallet, WalletEntry
from tokenoptimizer.budgets.wallets.schemas import (
    AdjustmentIn,
    CheckoutIn,
    CheckoutPublic,
    EntryPublic,
    LedgerPage,
    MovementIn,
    MovementResult,
    WalletIn,
    WalletList,
    WalletPatch,
    WalletPublic,
    check_refill,
)
from tokenoptimizer.server.context import AppContext
from tokenoptimizer.server.deps import AdminCaller, Caller, ContextDep, ReadCaller, SessionDep

router = APIRouter(prefix="/api/v1", tags=["wallets"])

_NOT_FOUND = "wallet not found"
_REFILL_FIELDS = ("auto_refill_amount", "auto_refill_threshold", "auto_refill_interval")


def _invalid(loc: list[str | int], msg: str) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": msg, "type": "value_error"}])


def _actor(caller: Caller) -> str:
    return actor_name(caller.user_id, caller.api_key_id)


def _public(wallet: Wallet) -> WalletPublic:
    return WalletPublic(
        id=wallet.id,
        name=wallet.name,
        owner_kind=wallet.owner_kind,
        owner_value=wallet.owner_value or None,
        currency=wallet.currency,
        balance=wallet.balance_micros / MICROS,
        block_when_empty=wallet.block_when_empty,
        auto_refill_amount=wallet.auto_refill_amount,
        auto_refill_threshold=wallet.auto_refill_threshold,
        auto_refill_interval=wallet.auto_refill_interval,
        auto_refill_max_per_month=wallet.auto_refill_max_per_month,
        refills_this_month=wallet.refills_this_month,
        next_refill_at=wallet.next_refill_at,
        version=wallet.version,
        created_at=wallet.created_at,
        updated_at=wallet.updated_at,
    )


def _entry(entry: WalletEntry) -> EntryPublic:
    return EntryPublic(
        id=entry.id,
        seq=entry.seq,
        kind=entry.kind,
        amount=entry.amount_micros / MICROS,
        balance_after=entry.balance_after_micros / MICROS,
        reference=entry.reference,
        actor=entry.actor,
        note=entry.note,
        details=entry.details,
        created_at=entry.created_at,
    )


def _wallet(session: Session, caller: Caller, wallet_id: str) -> Wallet:
    wallet = session.get(Wallet, wallet_id, populate_existing=True)
    if wallet is None or wallet.org_id != caller.org_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND)
    return wallet


# -- wallets -------------------------------------------------------------------------------------


@router.get("/wallets", response_model=WalletList)
def list_wallets(caller: ReadCaller, session: SessionDep, context: ContextDep) -> WalletList:
    """The organisation's wallets with their balances, and whether Stripe Checkout is available."""
    wallets = session.scalars(
        select(Wallet).where(Wallet.org_id == caller.org_id).order_by(Wallet.created_at, Wallet.id)
    )
    settings = context.settings
    return WalletList(
        wallets=[_public(w) for w in wallets],
        stripe_checkout=bool(settings.stripe_secret_key and settings.stripe_webhook_secret),
    )


@router.post("/wallets", status_code=status.HTTP_201_CREATED, response_model=WalletPublic)
def create_wallet(
    body: WalletIn, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> WalletPublic:
    """Create a wallet (admins), in the organisation's currency, with an optional initial balance.

    One wallet per owner: a second wallet for the same team, user or end user is refused (409).
    """
    org = session.get(Organization, caller.org_id)
    assert org is not None
    owner_value = body.owner_value or ""
    taken = session.scalar(
        select(Wallet.id).where(
            Wallet.org_id == caller.org_id,
            Wallet.owner_kind == body.owner_kind,
            Wallet.owner_value == owner_value,
        )
    )
    if taken is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"{_owner(body.owner_kind, owner_value)} has a wallet: {taken}"
        )
    now = datetime.now(UTC)
    initial = to_micros(body.initial_balance)
    wallet = Wallet(
        org_id=caller.org_id,
        name=body.name,
        owner_kind=body.owner_kind,
        owner_value=owner_value,
        currency=org.currency,
        balance_micros=initial,
        version=1 if initial else 0,
        block_when_empty=body.block_when_empty,
        auto_refill_amount=body.auto_refill_amount,
        auto_refill_threshold=body.auto_refill_threshold,
        auto_refill_interval=body.auto_refill_interval,
        auto_refill_max_per_month=body.auto_refill_max_per_month,
        refills_this_month=0,
        next_refill_at=now if body.auto_refill_interval else None,
        created_at=now,
        updated_at=now,
    )
    session.add(wallet)
    session.flush()
    if initial:
        session.add(
            WalletEntry(
                wallet_id=wallet.id,
                org_id=caller.org_id,
                seq=1,
                kind="top_up",
                amount_micros=initial,
                balance_after_micros=initial,
                reference="initial",
                actor=_actor(caller),
                note="initial balance",
                details={},
                created_at=now,
            )
        )
    audit(session, caller.org_id, _actor(caller), "wallet.create", wallet.id, body.model_dump(mode="json"))
    try:
        session.commit()
    except IntegrityError as exc:  # created concurrently for the same owner
        session.rollback()
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"{_owner(body.owner_kind, owner_value)} has a wallet"
        ) from exc
    context.wallets.reload(caller.org_id)
    if wallet.auto_refill_interval:
        context.wallets.run_due_refills()  # the first period's credits, at once
        session.refresh(wallet)
    return _public(wallet)


def _owner(kind: str, value: str) -> str:
    return "the organisation" if kind == "org" else f"{kind} {value!r}"


@router.get("/wallets/{wallet_id}", response_model=WalletPublic)
def get_wallet(wallet_id: str, caller: ReadCaller, session: SessionDep) -> WalletPublic:
    """One wallet with its balance."""
    return _public(_wallet(session, caller, wallet_id))


@router.patch("/wallets/{wallet_id}", response_model=WalletPublic)
def update_wallet(
    wallet_id: str, body: WalletPatch, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> WalletPublic:
    """Change a wallet's name, blocking or auto-refill (admins). The balance changes only by entries."""
    wallet = _wallet(session, caller, wallet_id)
    changes = body.model_dump(exclude_unset=True, mode="json")
    for name in ("name", "block_when_empty", "auto_refill_max_per_month"):
        if name in changes and changes[name] is None:
            raise _invalid(["body", name], f"{name} cannot be null")
    refill = {name: changes.get(name, getattr(wallet, name)) for name in _REFILL_FIELDS}
    try:
        check_refill(
            refill["auto_refill_amount"], refill["auto_refill_threshold"], refill["auto_refill_interval"]
        )
    except ValueError as exc:
        raise _invalid(["body"], str(exc)) from exc
    interval_changed = (
        "auto_refill_interval" in changes and changes["auto_refill_interval"] != wallet.auto_refill_interval
    )
    for name, value in changes.items():
        setattr(wallet, name, value)
    if interval_changed:
        wallet.next_refill_at = datetime.now(UTC) if wallet.auto_refill_interval else None
    wallet.updated_at = datetime.now(UTC)
    audit(session, caller.org_id, _actor(caller), "wallet.update", wallet.id, changes)
    session.commit()
    context.wallets.reload(caller.org_id)
    if interval_changed and wallet.auto_refill_interval:
        context.wallets.run_due_refills()
        session.refresh(wallet)
    return _public(wallet)


@router.delete("/wallets/{wallet_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_wallet(
    wallet_id: str,
    caller: AdminCaller,
    session: SessionDep,
    context: ContextDep,
    force: bool = Query(default=False, description="Delete even with money left (its ledger goes with it)."),
) -> Response:
    """Delete a wallet and its ledger (admins); refused while it holds money unless `force`."""
    wallet = _wallet(session, caller, wallet_id)
    if wallet.balance_micros != 0 and not force:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"wallet '{wallet.name}' holds {wallet.balance_micros / MICROS:,.2f} {wallet.currency}: "
            "refund or adjust it to zero first, or delete with force=true",
        )
    entries = session.scalar(
        select(func.count()).select_from(WalletEntry).where(WalletEntry.wallet_id == wallet.id)
    )
    audit(
        session,
        caller.org_id,
        _actor(caller),
        "wallet.delete",
        wallet.id,
        {
            "name": wallet.name,
            "balance": wallet.balance_micros / MICROS,
            "currency": wallet.currency,
            "entries": entries,
        },
    )
    session.delete(wallet)
    session.commit()
    context.wallets.reload(caller.org_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- ledger --------------------------------------------------------------------------------------


def _parse_cursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid(["query", "cursor"], "invalid cursor; use next_cursor from the previous page") from exc


@router.get("/wallets/{wallet_id}/ledger", response_model=LedgerPage)
def wallet_ledger(
    wallet_id: str,
    caller: ReadCaller,
    session: SessionDep,
    kind: Annotated[EntryKind | None, Query(description="Only entries of this kind.")] = None,
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = None,
) -> LedgerPage:
    """A wallet's ledger entries, newest first; each with the balance after it."""
    wallet = _wallet(session, caller, wallet_id)
    query = select(WalletEntry).where(WalletEntry.wallet_id == wallet.id)
    if kind is not None:
        query = query.where(WalletEntry.kind == kind)
    if cursor:
        query = query.where(WalletEntry.seq < _parse_cursor(cursor))
    rows = list(session.scalars(query.order_by(WalletEntry.seq.desc()).limit(limit + 1)))
    page = rows[:limit]
    next_cursor = base64.urlsafe_b64encode(str(page[-1].seq).encode()).decode() if len(rows) > limit else None
    return LedgerPage(
        entries=[_entry(e) for e in page], balance=wallet.balance_micros / MICROS, next_cursor=next_cursor
    )


def _move(
    context: AppContext,
    session: Session,
    caller: Caller,
    wallet_id: str,
    response: Response,
    kind: EntryKind,
    amount: float,
    key: str,
    note: str,
) -> MovementResult:
    wallet = _wallet(session, caller, wallet_id)
    posting = Posting(kind=kind, amount=to_micros(amount), reference=key, actor=_actor(caller), note=note)
    try:
        posted = context.wallets.post(caller.org_id, wallet.id, posting)
    except WalletNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND) from exc
    except ReferenceReused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    if posted.duplicate:
        response.status_code = status.HTTP_200_OK
    else:
        details = {"amount": amount, "idempotency_key": key, "balance": posted.balance / MICROS}
        audit(session, caller.org_id, _actor(caller), f"wallet.{kind}", wallet.id, details)
    return MovementResult(
        entries=[_entry(e) for e in posted.entries],
        balance=posted.balance / MICROS,
        duplicate=posted.duplicate,
    )


_MOVEMENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The idempotency key was used before: the first result, nothing changed."},
    409: {"description": "The idempotency key was used for a different movement."},
}


@router.post(
    "/wallets/{wallet_id}/top-ups",
    status_code=status.HTTP_201_CREATED,
    response_model=MovementResult,
    responses=_MOVEMENT_RESPONSES,
)
def top_up(
    wallet_id: str,
    body: MovementIn,
    caller: AdminCaller,
    session: SessionDep,
    context: ContextDep,
    response: Response,
) -> MovementResult:
    """Credit a wallet (admins), e.g. after a payment received outside Stripe. Idempotent by key."""
    return _move(
        context, session, caller, wallet_id, response, "top_up", body.amount, body.idempotency_key, body.note
    )


@router.post(
    "/wallets/{wallet_id}/refunds",
    status_code=status.HTTP_201_CREATED,
    response_model=MovementResult,
    responses=_MOVEMENT_RESPONSES,
)
def refund(
    wallet_id: str,
    body: MovementIn,
    caller: AdminCaller,
    session: SessionDep,
    context: ContextDep,
    response: Response,
) -> MovementResult:
    """Give credits back (admins), e.g. for failed calls that were debited. Idempotent by key."""
    return _move(
        context, session, caller, wallet_id, response, "refund", body.amount, body.idempotency_key, body.note
    )


@router.post(
    "/wallets/{wallet_id}/adjustments",
    status_code=status.HTTP_201_CREATED,
    response_model=MovementResult,
    responses=_MOVEMENT_RESPONSES,
)
def adjust(
    wallet_id: str,
    body: AdjustmentIn,
    caller: AdminCaller,
    session: SessionDep,
    context: ContextDep,
    response: Response,
) -> MovementResult:
    """Correct a balance up or down (admins), with the reason in `note`. Idempotent by key."""
    return _move(
        context,
        session,
        caller,
        wallet_id,
        response,
        "adjustment",
        body.amount,
        body.idempotency_key,
        body.note,
    )


# -- Stripe --------------------------------------------------------------------------------------


def _stripe(context: AppContext) -> checkout.StripeConfig:
    settings = context.settings
    return checkout.StripeConfig(
        secret_key=settings.stripe_secret_key,
        webhook_secret=settings.stripe_webhook_secret,
        api_base=settings.stripe_api_base,
    )


@router.post(
    "/wallets/{wallet_id}/checkout",
    response_model=CheckoutPublic,
    responses={
        502: {"description": "Stripe refused or could not be reached."},
        503: {"description": "The server has no Stripe settings."},
    },
)
def create_checkout(
    wallet_id: str, body: CheckoutIn, caller: AdminCaller, session: SessionDep, context: ContextDep
) -> CheckoutPublic:
    """A Stripe Checkout page selling credits of this wallet (admins); paid credits land by webhook."""
    wallet = _wallet(session, caller, wallet_id)
    try:
        session_id, url = checkout.create_session(
            _stripe(context), wallet, to_micros(body.amount), str(body.success_url), str(body.cancel_url)
        )
    except checkout.StripeNotConfigured as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    except checkout.StripeFailed as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from exc
    audit(
        session,
        caller.org_id,
        _actor(caller),
        "wallet.checkout",
        wallet.id,
        {"amount": body.amount, "checkout_session_id": session_id},
    )
    return CheckoutPublic(session_id=session_id, url=url)


@router.post(
    "/stripe/webhook",
    responses={400: {"description": "Not signed by Stripe with our webhook secret."}},
)
async def stripe_webhook(request: Request, context: ContextDep) -> dict[str, Any]:
    """Stripe's calls (no API key: the `Stripe-Signature` header is verified instead).

    A paid Checkout Session credits its wallet once; replays and other events answer 200 and
    change nothing.
    """
    payload = await request.body()
    try:
        event = checkout.verify(_stripe(context), payload, request.headers.get("stripe-signature"))
    except checkout.StripeNotConfigured as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    except checkout.BadSignature as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    outcome = await anyio.to_thread.run_sync(checkout.handle_event, context.db, event)
    return {"received": True, "outcome": outcome}
