"""What a running server holds: settings, the metadata database, the event store, the pipeline."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from tokenoptimizer.accounts.models import Organization
from tokenoptimizer.accounts.service import KeyCache
from tokenoptimizer.budgets.anomalies import AnomalyMonitor, AnomalyThresholds
from tokenoptimizer.budgets.service import BudgetService
from tokenoptimizer.budgets.state import BudgetState, MemoryState, RedisState
from tokenoptimizer.budgets.wallets.service import WalletService
from tokenoptimizer.db.base import Database
from tokenoptimizer.gateway.runtime import Gateway
from tokenoptimizer.notify.service import Notifier
from tokenoptimizer.pricing_api.service import org_overrides
from tokenoptimizer.server.settings import Settings
from tokenoptimizer.usage.pipeline import IngestPipeline, OrgPricing
from tokenoptimizer.usage.stores import EventStore, open_event_store


@dataclass
class OrgPricingCache:
    """Each organisation's pricing settings, read once and dropped when they change."""

    db: Database
    _cache: dict[str, OrgPricing] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, org_id: str) -> OrgPricing:
        """The organisation's pricing settings."""
        cached = self._cache.get(org_id)
        if cached is not None:
            return cached
        with self.db.session() as session:
            org = session.get(Organization, org_id)
            if org is None:
                return OrgPricing()
            pricing = OrgPricing(
                markup_percent=float(org.markup_percent or 0.0),
                fee_percents=tuple(float(f) for f in org.fee_percents or ()),
                overrides=org_overrides(session, org_id),
                electricity_zone=org.electricity_zone,
            )
        with self._lock:
            self._cache[org_id] = pricing
        return pricing

    def invalidate(self, org_id: str) -> None:
        """Forget an organisation's settings (after an admin changed them)."""
        with self._lock:
            self._cache.pop(org_id, None)


class AppContext:
    """The long-lived parts of one server process."""

    def __init__(self, settings: Settings, *, store: EventStore | None = None) -> None:
        self.settings = settings
        self.db = Database(settings.resolved_database_url)
        self.store = (
            store
            if store is not None
            else open_event_store(
                settings.resolved_events_url,
                memory_limit=settings.duckdb_memory_limit,
                threads=settings.duckdb_threads,
            )
        )
        self.org_pricing = OrgPricingCache(self.db)
        self.pipeline = IngestPipeline(self.store, self.org_pricing)
        self.key_cache = KeyCache(settings.api_key_cache_seconds)
        self.gateway = Gateway(settings, self.db, self.pipeline)
        self.budget_state: BudgetState = (
            RedisState(settings.redis_url) if settings.redis_url else MemoryState()
        )
        self.budgets = BudgetService(self.db, self.store, self.budget_state)
        self.notifier = Notifier(
            self.db,
            settings.resolved_secret_key,
            attempts=settings.notify_attempts,
            backoff=settings.notify_backoff_seconds,
            timeout=settings.notify_timeout_seconds,
        )
        self.notifier.start()
        self.budgets.alert_listeners.append(self.notifier.deliver)
        self.budgets.start()
        self.wallets = WalletService(self.db, self.store, self.org_pricing)
        self.wallets.start()
        self.budgets.extra_guards.append(self.wallets)
        self.anomalies = AnomalyMonitor(
            self.budgets,
            AnomalyThresholds(
                sensitivity=settings.anomaly_sensitivity,
                spike_min_hour_usd=settings.spike_min_hour_usd,
                spike_min_day_usd=settings.spike_min_day_usd,
                error_min_requests=settings.error_rate_min_requests,
                error_min_rate=settings.error_rate_min,
            ),
            interval=settings.anomaly_check_seconds,
        )
        self.anomalies.start()

    def close(self) -> None:
        """Release the event store and database connections."""
        self.gateway.close()
        self.anomalies.close()  # no new alerts…
        self.budgets.close()  # …the queued ones are handed to the notifier…
        self.notifier.close()  # …which sends them (for a few seconds at most)
        self.store.close()
        self.wallets.close()  # after the store: debits of its last appends are written
        if isinstance(self.budget_state, RedisState):
            self.budget_state.close()
        self.db.dispose()
