"""Delivering alerts to channels, in the background, with retries and a log of every attempt.

`Notifier.deliver` is a listener of `BudgetService.alert_listeners`: it is called in the budgets'
alert writer thread with each new alert, so it only queues the alert and returns. Worker threads
then pick the channels (the ones named with the alert — a budget's — plus the organisation's
channels subscribed to the alert's kind), and send to each. A failed attempt that can pass (a
5xx, a timeout, a refused connection) is tried again after `backoff`, `2·backoff`, `4·backoff`…
up to `attempts` tries; a 4xx or a rejected SMTP login is not retried. Every attempt is a row of
the delivery log (`Delivery`).

Retries wait in a heap ordered by due time, so a receiver being retried never delays another
channel's delivery; several workers let one slow server (up to `timeout` per try) not stall the
rest. Pending deliveries live in memory: a restart drops retries not yet made (the alert itself
is stored and listed by the API).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from tokenoptimizer.accounts.models import Organization
from tokenoptimizer.budgets.models import Alert
from tokenoptimizer.db.base import Database
from tokenoptimizer.db.secrets import SecretUnreadable
from tokenoptimizer.notify.channels import full_config, smtp_settings
from tokenoptimizer.notify.messages import AlertMessage
from tokenoptimizer.notify.models import Channel, Delivery
from tokenoptimizer.notify.senders import Outcome, send_email, send_slack, send_webhook

log = logging.getLogger(__name__)

WORKERS = 4


@dataclass(order=True)
class _Task:
    """A fan-out of an alert to its channels (`channel_id` None) or one attempt to one channel."""

    due: float
    seq: int
    alert: AlertMessage = field(compare=False)
    channel_ids: tuple[str, ...] = field(compare=False, default=())
    channel_id: str | None = field(compare=False, default=None)
    attempt: int = field(compare=False, default=1)
    delivery_key: str = field(compare=False, default="")


def snapshot(alert: Alert, org_name: str = "") -> AlertMessage:
    """The fields of a stored alert that are sent (the ORM row stays in its thread)."""
    return AlertMessage(
        id=alert.id,
        org_id=alert.org_id,
        org_name=org_name,
        kind=alert.kind,
        severity=alert.severity,
        title=alert.title,
        message=alert.message,
        created_at=(alert.created_at or datetime.now(UTC)).astimezone(UTC),
        details=dict(alert.details or {}),
        budget_id=alert.budget_id,
    )


def test_alert_message(org_id: str, org_name: str) -> AlertMessage:
    """What "send test" sends."""
    return AlertMessage(
        id=None,
        org_id=org_id,
        org_name=org_name,
        kind="test",
        severity="info",
        title="Test notification from TokenOptimizer",
        message="This channel works: alerts of your organisation will be delivered here.",
        created_at=datetime.now(UTC),
    )


class Notifier:
    """Sends alerts to channels in worker threads, retrying with exponential backoff."""

    def __init__(
        self,
        db: Database,
        secret_key: str,
        *,
        attempts: int = 4,
        backoff: float = 0.5,
        timeout: float = 10.0,
        workers: int = WORKERS,
    ) -> None:
        self.db = db
        self.secret_key = secret_key
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.timeout = timeout
        self._workers = workers
        self._http_client: httpx.Client | None = None  # made on first use: building one costs ~20 ms
        self._heap: list[_Task] = []
        self._seq = itertools.count()
        self._busy = 0
        self._stopping = False
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker threads."""
        for n in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"tokenoptimizer-notify-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self, timeout: float = 5.0) -> None:
        """Finish what is queued (for at most `timeout` seconds), then stop; harmless twice."""
        if not self._threads:
            return
        if not self.wait_idle(timeout):
            with self._cond:
                log.warning("dropping %d pending notification deliveries at shutdown", len(self._heap))
        with self._cond:
            self._stopping = True
            self._heap.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 1)
        self._threads = []
        with self._cond:
            if self._http_client is not None:
                self._http_client.close()
                self._http_client = None

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every queued delivery and retry is done; False if `timeout` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._heap and self._busy == 0, timeout)

    # -- queueing --------------------------------------------------------------------------------

    def deliver(self, alert: Alert, channel_ids: Sequence[str]) -> None:
        """Queue a new alert for its channels (an `alert_listeners` entry: returns at once)."""
        self._push(_Task(time.monotonic(), next(self._seq), snapshot(alert), channel_ids=tuple(channel_ids)))

    def _push(self, task: _Task) -> None:
        with self._cond:
            if self._stopping:
                return
            heapq.heappush(self._heap, task)
            self._cond.notify()

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    now = time.monotonic()
                    if self._heap and self._heap[0].due <= now:
                        task = heapq.heappop(self._heap)
                        self._busy += 1
                        break
                    self._cond.wait(self._heap[0].due - now if self._heap else None)
            try:
                if task.channel_id is None:
                    self._fan_out(task)
                else:
                    self._attempt(task)
            except Exception:
                log.exception("notification delivery failed unexpectedly")
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    # -- delivering ------------------------------------------------------------------------------

    def _fan_out(self, task: _Task) -> None:
        alert = task.alert
        with self.db.session() as session:
            org_name = session.scalar(select(Organization.name).where(Organization.id == alert.org_id)) or ""
            channels = session.scalars(
                select(Channel)
                .where(Channel.org_id == alert.org_id, Channel.enabled.is_(True))
                .order_by(Channel.created_at, Channel.id)
            ).all()
            targets = [c.id for c in channels if c.id in task.channel_ids or alert.kind in c.alert_kinds]
        message = dataclasses.replace(alert, org_name=org_name)
        for channel_id in targets:
            self._push(
                _Task(
                    time.monotonic(),
                    next(self._seq),
                    message,
                    channel_id=channel_id,
                    delivery_key=f"{alert.id}:{channel_id}",
                )
            )

    def _attempt(self, task: _Task) -> None:
        assert task.channel_id is not None
        with self.db.session() as session:
            channel = session.get(Channel, task.channel_id)
            if channel is None or channel.org_id != task.alert.org_id or not channel.enabled:
                return  # deleted or disabled since: nothing to send
            session.expunge(channel)
        outcome, duration = self._send(channel, task.alert, task.delivery_key)
        retry = not outcome.ok and outcome.retryable and task.attempt < self.attempts and not self._stopping
        self._log(channel, task.alert, task.attempt, outcome, duration, will_retry=retry)
        if retry:
            delay = self.backoff * 2 ** (task.attempt - 1)
            if outcome.retry_after is not None:
                delay = max(delay, outcome.retry_after)
            self._push(
                _Task(
                    time.monotonic() + delay,
                    next(self._seq),
                    task.alert,
                    channel_id=task.channel_id,
                    attempt=task.attempt + 1,
                    delivery_key=task.delivery_key,
                )
            )
        elif not outcome.ok:
            log.warning(
                "alert %s not delivered to channel %s after %d attempt(s): %s",
                task.alert.id,
                channel.id,
                task.attempt,
                outcome.error,
            )

    @property
    def _http(self) -> httpx.Client:
        with self._cond:
            if self._http_client is None:
                self._http_client = httpx.Client(timeout=self.timeout, follow_redirects=False)
            return self._http_client

    def _send(self, channel: Channel, alert: AlertMessage, delivery_key: str) -> tuple[Outcome, float]:
        started = time.perf_counter()
        try:
            config = full_config(channel, self.secret_key)
        except SecretUnreadable as exc:
            return Outcome(ok=False, error=str(exc), retryable=False), 0.0
        if channel.kind == "webhook":
            outcome = send_webhook(self._http, config["url"], config["signing_secret"], alert, delivery_key)
        elif channel.kind == "slack":
            outcome = send_slack(self._http, config["webhook_url"], alert)
        elif channel.kind == "email":
            outcome = send_email(smtp_settings(config), alert, timeout=self.timeout)
        else:
            outcome = Outcome(ok=False, error=f"unknown channel kind {channel.kind!r}", retryable=False)
        return outcome, (time.perf_counter() - started) * 1000.0

    def _log(
        self,
        channel: Channel,
        alert: AlertMessage,
        attempt: int,
        outcome: Outcome,
        duration_ms: float,
        *,
        will_retry: bool,
    ) -> Delivery:
        delivery = Delivery(
            org_id=channel.org_id,
            channel_id=channel.id,
            alert_id=alert.id,
            alert_kind=alert.kind,
            alert_title=alert.title[:300],
            attempt=attempt,
            status="ok" if outcome.ok else "failed",
            will_retry=will_retry,
            response_code=outcome.response_code,
            error=outcome.error[:1000] if outcome.error else None,
            duration_ms=round(duration_ms, 3),
        )
        try:
            with self.db.session() as session:
                session.add(delivery)
                session.flush()
                session.expunge(delivery)
        except SQLAlchemyError:
            # The channel or the alert was deleted meanwhile (foreign key): nothing left to log.
            log.warning("could not log a delivery to channel %s", channel.id, exc_info=True)
        return delivery

    def send_test(self, org_id: str, channel_id: str) -> Delivery:
        """Send a test message to a channel now, once, and return the logged attempt."""
        with self.db.session() as session:
            channel = session.get(Channel, channel_id)
            if channel is None or channel.org_id != org_id:
                raise LookupError(channel_id)
            org_name = session.scalar(select(Organization.name).where(Organization.id == org_id)) or ""
            session.expunge(channel)
        message = test_alert_message(org_id, org_name)
        outcome, duration = self._send(channel, message, f"test-{uuid.uuid4()}")
        return self._log(channel, message, 1, outcome, duration, will_retry=False)
