"""Time the budget hot path: check every matching hard budget and reserve, then release.

In process (the default) and with Redis on loopback (a throwaway `redis-server` is started).
Each organisation has 5 budgets, 3 of which match the call (org-wide, project, feature).

Run: .venv/bin/python bench/budgets.py   (prints p50/p99 in microseconds; needs redis-server)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers import redis_server  # noqa: E402
from tokenoptimizer.accounts import service as accounts  # noqa: E402
from tokenoptimizer.budgets.models import Budget  # noqa: E402
from tokenoptimizer.budgets.service import BudgetService  # noqa: E402
from tokenoptimizer.budgets.state import BudgetState, MemoryState, RedisState  # noqa: E402
from tokenoptimizer.db import migrate  # noqa: E402
from tokenoptimizer.db.base import Database  # noqa: E402
from tokenoptimizer.usage.stores import open_event_store  # noqa: E402

ROUNDS = 20_000


def _setup(root: Path) -> tuple[Database, str, str]:
    url = f"sqlite:///{root / 'meta.db'}"
    migrate.upgrade(url)
    db = Database(url)
    with db.session() as session:
        org = accounts.create_organization(session, "Bench", timezone="Europe/Berlin")
        _key, project, _secret = accounts.create_api_key(
            session, org_id=org.id, project_name="app", scopes=["ingest"]
        )
        scopes: list[dict[str, str]] = [
            {},
            {"project": project.id},
            {"feature": "search"},
            {"feature": "chat"},
            {"model": "gpt-4o"},
        ]
        for index, scope in enumerate(scopes):
            session.add(
                Budget(
                    org_id=org.id,
                    name=f"b{index}",
                    scope=scope,
                    period="month",
                    limit_amount=1e9,
                    thresholds=[50, 80, 100],
                    action="block",
                    rollover=False,
                    channel_ids=[],
                    enabled=True,
                )
            )
        return db, org.id, project.id


def _measure(state: BudgetState, root: Path, label: str) -> None:
    db, org_id, project_id = _setup(root)
    store = open_event_store(f"duckdb:///{root / 'events.duckdb'}")
    budgets = BudgetService(db, store, state)
    budgets.start()
    attribution = {"project": project_id, "feature": "search", "model": "gpt-4o-mini", "user": "u1"}
    samples = []
    try:
        for _ in range(ROUNDS // 10):  # warm up
            budgets.release(org_id, budgets.reserve(org_id, attribution, 0.01).reservation_id)
        for _ in range(ROUNDS):
            start = time.perf_counter_ns()
            reservation = budgets.reserve(org_id, attribution, 0.01)
            samples.append(time.perf_counter_ns() - start)
            budgets.release(org_id, reservation.reservation_id)
    finally:
        budgets.close()
        store.close()
        db.dispose()
    samples.sort()
    p50 = statistics.median(samples) / 1000
    p99 = samples[int(len(samples) * 0.99)] / 1000
    print(f"{label:<40} p50 {p50:8.1f} µs   p99 {p99:8.1f} µs   ({ROUNDS:,} reservations, 3 budgets checked)")


def main() -> None:
    print("budget check + reserve (3 matching hard budgets of 5)")
    with tempfile.TemporaryDirectory() as tmp:
        _measure(MemoryState(), Path(tmp), "in process")
    with tempfile.TemporaryDirectory() as tmp, redis_server() as url:
        _measure(RedisState(url), Path(tmp), "Redis on loopback")
    print("targets: in process p50 <= 50 µs; Redis p50 <= 1 ms")


if __name__ == "__main__":
    main()
