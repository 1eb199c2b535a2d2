"""Concurrent debits and top-ups on one wallet never lose an update (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading

import httpx

from tests.conftest import Tenant
from tests.wallets.conftest import assert_ledger_consistent, balance, create_wallet
from tokenoptimizer.budgets.wallets import ledger
from tokenoptimizer.budgets.wallets.ledger import Posting
from tokenoptimizer.db.base import Database
from tokenoptimizer.server.context import AppContext
from tokenoptimizer.server.settings import Settings

THREADS = 20
DEBITS_PER_THREAD = 25
DEBIT_MICROS = 370_000  # 0.37
TOP_UP_REQUESTS = 40
TOP_UP_KEYS = 20  # each key sent twice, concurrently: credited once


async def test_concurrent_debits_and_top_ups_never_lose_an_update(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, context: AppContext, settings: Settings
) -> None:
    wallet = await create_wallet(client, admin, initial_balance=1000)
    # Half the threads write through a second engine, as another server process would.
    other_process = Database(settings.resolved_database_url)
    barrier = threading.Barrier(THREADS)
    conflicts: list[int] = []
    failures: list[BaseException] = []

    def debit(thread: int) -> None:
        try:
            db = other_process if thread % 2 else context.db
            barrier.wait()
            for i in range(DEBITS_PER_THREAD):
                posting = Posting(
                    kind="spend", amount=-DEBIT_MICROS, reference=f"t{thread}-{i}", actor="test"
                )
                posted = ledger.post(db, tenant.org_id, wallet["id"], posting)
                assert len(posted.entries) == 1 and not posted.duplicate
                conflicts.append(posted.conflicts)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=debit, args=(n,)) for n in range(THREADS)]
    try:
        for thread in threads:
            thread.start()
        responses = await asyncio.gather(
            *(
                client.post(
                    f"/api/v1/wallets/{wallet['id']}/top-ups",
                    json={"amount": 2.5, "idempotency_key": f"k{i % TOP_UP_KEYS}"},
                    headers=admin,
                )
                for i in range(TOP_UP_REQUESTS)
            )
        )
        for thread in threads:
            await asyncio.to_thread(thread.join)
    finally:
        other_process.dispose()

    assert not failures, failures
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    credited = [r for r in responses if not r.json()["duplicate"]]
    assert len(credited) == TOP_UP_KEYS
    assert sum(conflicts) > 0  # the race happened: postings were planned again, none was lost

    expected_micros = 1000_000_000 - THREADS * DEBITS_PER_THREAD * DEBIT_MICROS + TOP_UP_KEYS * 2_500_000
    assert expected_micros == 865_000_000
    entries = assert_ledger_consistent(context, wallet["id"])  # balance == sum of the ledger
    assert len(entries) == 1 + THREADS * DEBITS_PER_THREAD + TOP_UP_KEYS
    assert entries[-1].balance_after_micros == expected_micros
    assert await balance(client, admin, wallet["id"]) == 865.0
