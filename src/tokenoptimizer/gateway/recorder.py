"""Recording gateway calls: events gathered for a moment, then stored together.

Storing one event costs about as much as storing a thousand: each append to the event store is
a commit (~30 ms of CPU for DuckDB on the 2-vCPU benchmark machine), and the budget, wallet and
alert accounting run once per stored batch. These costs land on the cores that proxy calls, so
the gateway does not store each call's event on its own: events wait up to
`gateway_record_interval_seconds` (or until `MAX_BATCH` are waiting) and go through the one
ingestion pipeline together, one `ingest` per (organisation, project, API key).

Nothing is lost to the wait: a call's budget reservation is held until its event is stored (the
budget service releases it when the store reports the event), so concurrent calls still cannot
overshoot a hard budget. `wait_idle` / `flush` let shutdown and tests wait for the events.

The work of a batch (building each event from the provider's answer, pricing, converting) runs
in the recorder's own thread, not on the event loop serving the calls: work no call waits for
(with it, the serving thread's CPU per call fell from 0.46 to 0.32–0.42 ms, bench/README.md), and a
batch interleaves with the calls being served instead of stalling them all at once. The thread
runs nicer than the serving ones (`tokenoptimizer.threads`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tokenoptimizer.threads import lower_thread_priority
from tokenoptimizer.usage.pipeline import Attribution, IngestPipeline
from tokenoptimizer.usage.wire import WireEvent

log = logging.getLogger(__name__)

MAX_BATCH = 5000


@dataclass(slots=True)
class PendingEvent:
    """One call's event, waiting to be built and stored."""

    build: Callable[[], WireEvent]
    """Builds the event (in the recorder's worker thread)."""
    attribution: Attribution
    release: Callable[[], object] | None = None
    """Releases the call's budget reservation if its event cannot be stored."""
    after: Callable[[WireEvent], Awaitable[None]] | None = None
    """Run once the event is stored (token rate-limit counting)."""


class EventRecorder:
    """Batches events of proxied calls into the ingestion pipeline."""

    def __init__(self, pipeline: IngestPipeline, interval: float) -> None:
        self.pipeline = pipeline
        self.interval = interval
        self._pending: list[PendingEvent] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self._idle = threading.Condition()
        self._unstored = 0
        self._calls = 0
        self._worker: ThreadPoolExecutor | None = None

    def call_started(self) -> None:
        """A call came in: `wait_idle` waits for it to end and its event to be stored."""
        with self._idle:
            self._calls += 1

    def call_ended(self) -> None:
        """The call's handler finished (its event, if any, is queued)."""
        with self._idle:
            self._calls -= 1
            if self._calls == 0:  # else `wait_idle` would wake up for nothing
                self._idle.notify_all()

    def add(self, item: PendingEvent) -> None:
        """Queue an event (call from the serving event loop)."""
        with self._idle:
            self._unstored += 1
        self._pending.append(item)
        if len(self._pending) >= MAX_BATCH:
            self._start_flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval, self._start_flush)

    def _start_flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._store(batch))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def _store(self, batch: list[PendingEvent]) -> None:
        groups: dict[Attribution, list[PendingEvent]] = {}
        for item in batch:
            groups.setdefault(item.attribution, []).append(item)
        await asyncio.gather(
            *(self._store_group(attribution, items) for attribution, items in groups.items())
        )

    async def _store_group(self, attribution: Attribution, items: list[PendingEvent]) -> None:
        try:
            if self._worker is None:
                self._worker = ThreadPoolExecutor(
                    1, thread_name_prefix="tokenoptimizer-gateway-recorder", initializer=lower_thread_priority
                )
            loop = asyncio.get_running_loop()
            stored = await loop.run_in_executor(self._worker, self._build_and_store, attribution, items)
        except Exception:  # not even handed to the thread
            log.exception("could not store %d gateway event(s) of org %s", len(items), attribution.org_id)
            for item in items:
                _release(item)
            stored = []
        try:
            for item, event in stored:
                if item.after is not None:
                    try:
                        await item.after(event)
                    except Exception:
                        log.exception("after storing a gateway event")
        finally:
            with self._idle:
                self._unstored -= len(items)
                self._idle.notify_all()

    def _build_and_store(
        self, attribution: Attribution, items: list[PendingEvent]
    ) -> list[tuple[PendingEvent, WireEvent]]:
        """Build and store the events of one attribution; what was stored (blocking)."""
        built: list[tuple[PendingEvent, WireEvent]] = []
        for item in items:
            try:
                built.append((item, item.build()))
            except Exception:
                log.exception("could not build the event of a gateway call of org %s", attribution.org_id)
                _release(item)
        try:
            if built:
                self.pipeline.ingest_sync([event for _, event in built], attribution, source="gateway")
        except Exception:
            log.exception("could not store %d gateway event(s) of org %s", len(built), attribution.org_id)
            for item, _ in built:
                _release(item)
            return []
        return built

    async def flush(self) -> None:
        """Store everything queued now, and wait until it is stored."""
        self._start_flush()
        while self._flushes:
            await asyncio.gather(*list(self._flushes), return_exceptions=True)

    def flush_sync(self) -> None:
        """Store what is queued, blocking (shutdown outside the event loop's control)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        groups: dict[Attribution, list[PendingEvent]] = {}
        for item in batch:
            groups.setdefault(item.attribution, []).append(item)
        for attribution, items in groups.items():
            try:
                self._build_and_store(attribution, items)
            finally:
                with self._idle:
                    self._unstored -= len(items)
                    self._idle.notify_all()

    def close(self) -> None:
        """Stop the recorder's thread once the batches handed to it are stored (after `flush`)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.shutdown(wait=True)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every call has ended and its event is stored (from any thread); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unstored == 0 and self._calls == 0, timeout)


def _release(item: PendingEvent) -> None:
    """Give back the reservation of a call whose event will not be stored."""
    if item.release is not None:
        try:
            item.release()
        except Exception:
            log.exception("could not release the reservation of a gateway call")
