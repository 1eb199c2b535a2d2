"""The background sender: an in-memory queue, a thread that sends batches, the spool as fallback.

The caller's thread only appends to a `deque` (atomic in CPython, no lock) and, when a batch is
full, sets an event; everything else happens on the sender thread:

* a batch leaves when it holds `batch_size` events or `flush_interval` has passed since the last;
* it is serialised, gzipped when larger than 1 KiB, and POSTed to `/api/v1/events`;
* connection errors, timeouts, 429 and 5xx are retried with exponential backoff and jitter
  (honouring `Retry-After`); when retries run out, the batch goes to the on-disk spool and the
  sender stops trying for a while (a circuit breaker: 5 s, doubling up to 5 min), spooling new
  batches directly instead of making each one wait out its retries;
* when the server answers again, the spool is sent, oldest first;
* a 422 names the bad events: they are dropped (and logged) and the rest resent, so one odd value
  never loses a batch; a 413 splits the batch; a server that does not accept gzip (its 422 is about
  the body as a whole) gets plain JSON from then on.

Every event carries its client-generated id, so a batch sent twice (a response lost after the
server stored it, two processes draining one spool) is counted once.
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import httpx
import pydantic_core

from tokenoptimizer._version import __version__
from tokenoptimizer.sdk.config import SdkConfig
from tokenoptimizer.sdk.events import Pending, to_wire
from tokenoptimizer.sdk.spool import Spool, SpooledBatch

log = logging.getLogger("tokenoptimizer")

EVENTS_PATH = "/api/v1/events"
GZIP_MIN_BYTES = 1024
CIRCUIT_FIRST_SECONDS = 5.0
CIRCUIT_MAX_SECONDS = 300.0
_RETRYABLE = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass
class SenderStats:
    """What the sender did so far (for logs, tests and `tokenoptimizer.stats()`)."""

    accepted: int = 0
    duplicates: int = 0
    spooled: int = 0
    dropped_invalid: int = 0
    dropped_overflow: int = 0
    requests: int = 0
    failed_requests: int = 0


@dataclass(frozen=True, slots=True)
class Control:
    """A request other than events (committing or releasing a budget reservation)."""

    method: str
    path: str
    body: dict[str, Any] | None = None


class _Retry(Exception):
    """A transient failure: try again later."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class _Refused(Exception):
    """The server refuses this destination (wrong key, wrong URL): keep the events, stop trying."""


def dumps(events: list[dict[str, Any]]) -> bytes:
    """The request body of a batch."""
    return pydantic_core.to_json({"events": events})


class Sender:
    """Sends pending events in the background (see the module docstring)."""

    def __init__(self, config: SdkConfig) -> None:
        self.config = config
        self.stats = SenderStats()
        self._queue: deque[Pending] = deque()
        self._controls: deque[Control] = deque()
        self._wake = threading.Event()
        self._interrupt = threading.Event()  # ends backoff sleeps when closing
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._waiters: list[threading.Event] = []
        self._closing = False
        self._gzip = config.gzip
        self._http: httpx.Client | None = None
        self._spool: Spool | None = None
        self._spool_dirty = True  # a previous run may have left batches
        self._down_until = 0.0
        self._down_for = 0.0
        self._in_flight: list[dict[str, Any]] | None = None
        self._logged: set[str] = set()

    # --- the caller's side ------------------------------------------------------------------

    def put(self, pending: Pending) -> None:
        """Queue one event; never blocks, never raises."""
        queue = self._queue
        if len(queue) >= self.config.max_queue:
            self.stats.dropped_overflow += 1
            self._log_once(
                "overflow",
                logging.WARNING,
                "the event queue is full (%d): dropping new events",
                self.config.max_queue,
            )
            return
        queue.append(pending)
        if self._thread is None:
            self.start()
        if len(queue) >= self.config.batch_size:
            self._wake.set()

    def control(self, control: Control) -> None:
        """Queue a reservation commit or release."""
        self._controls.append(control)
        if self._thread is None:
            self.start()
        self._wake.set()

    def start(self) -> None:
        """Start the thread (idempotent)."""
        with self._lock:
            if self._thread is not None or self._closing:
                return
            thread = threading.Thread(target=self._run, name="tokenoptimizer-sender", daemon=True)
            self._thread = thread
        thread.start()

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued and spooled; True when nothing is left waiting."""
        if self._closing:
            return self._all_sent()
        self.start()
        done = threading.Event()
        with self._lock:
            self._waiters.append(done)
        self._wake.set()
        done.wait(timeout)
        return self._all_sent()

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (one attempt each), spool the rest, and stop the thread."""
        with self._lock:
            self._closing = True
            thread = self._thread
        self._interrupt.set()
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if not thread.is_alive():
                self._close_http()
                return
        # The thread is stuck (a server that accepts connections but never answers): keep the
        # events on disk. Events the thread is sending may then be sent twice: counted once.
        leftover = list(self._queue)
        self._queue.clear()
        events = [self._wire(p) for p in leftover]
        if self._in_flight:
            events = [*self._in_flight, *events]
        self._spool_events([e for e in events if e is not None])

    def pending(self) -> int:
        """Events in memory, not yet handed to the server or the spool."""
        return len(self._queue)

    def spooled_events(self) -> int:
        """Events waiting in this destination's spool."""
        return self._spool_store().pending_events()

    # --- the sender thread ------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self.config.flush_interval)
            self._wake.clear()
            with self._lock:
                waiters, self._waiters = self._waiters, []
                closing = self._closing
            try:
                self._cycle(flushing=bool(waiters) or closing)
            except Exception:  # the sender must outlive any bug
                log.exception("tokenoptimizer: unexpected error in the sender thread")
            for waiter in waiters:
                waiter.set()
            if closing and not self._queue:
                self._close_http()
                return

    def _cycle(self, *, flushing: bool) -> None:
        self._send_controls()  # reservation commits before the events they wait for
        while self._queue:
            batch: list[Pending] = []
            for _ in range(min(self.config.batch_size, len(self._queue))):
                batch.append(self._queue.popleft())
            events = [e for e in (self._wire(p) for p in batch) if e is not None]
            if events:
                self._deliver(events, flushing=flushing)
        if self._spool_dirty and (flushing or not self._is_down()):
            self._drain_spool(flushing=flushing)

    def _wire(self, pending: Pending) -> dict[str, Any] | None:
        try:
            return to_wire(pending, self.config)
        except Exception as exc:
            self.stats.dropped_invalid += 1
            log.warning("tokenoptimizer: dropped an event that cannot be encoded (%s)", exc)
            return None

    def _deliver(self, events: list[dict[str, Any]], *, flushing: bool) -> None:
        if self._is_down() and not flushing:
            self._spool_events(events)
            return
        self._in_flight = events
        try:
            left = self._post_events(events, retries=0 if self._closing or self._is_down() else None)
        finally:
            self._in_flight = None
        if left:
            self._spool_events(left)

    def _drain_spool(self, *, flushing: bool) -> None:
        spool = self._spool_store()
        while True:
            batch = spool.claim_next()
            if batch is None:
                self._spool_dirty = False
                return
            if not self._send_spooled(spool, batch):
                return
            if self._closing and not flushing:
                return

    def _send_spooled(self, spool: Spool, batch: SpooledBatch) -> bool:
        try:
            events = json.loads(gzip.decompress(batch.read()))["events"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("tokenoptimizer: dropped an unreadable spool file %s (%s)", batch.original.name, exc)
            spool.done(batch)
            return True
        left = self._post_events(events, retries=0)
        if not left:
            spool.done(batch)
            return True
        if len(left) == len(events):
            spool.release(batch)
        else:
            spool.done(batch)
            self._spool_events(left)
        return False

    def _spool_events(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        body = gzip.compress(dumps(events), compresslevel=6, mtime=0)
        if self._spool_store().write(body, len(events)) is not None:
            self.stats.spooled += len(events)
            self._spool_dirty = True

    def _spool_store(self) -> Spool:
        if self._spool is None:
            self._spool = Spool(self.config.resolved_spool_dir(), self.config.max_spool_bytes)
        return self._spool

    # --- HTTP -------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(
                base_url=self.config.base_url,
                timeout=self.config.timeout,
                headers={
                    "Authorization": f"Bearer {self.config.api_key}",
                    "User-Agent": f"tokenoptimizer-python/{__version__}",
                },
            )
        return self._http

    def _close_http(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _post_events(self, events: list[dict[str, Any]], *, retries: int | None) -> list[dict[str, Any]]:
        """Send a batch; return the events that could not be delivered (to keep on disk)."""
        max_retries = self.config.max_retries if retries is None else retries
        attempt = 0
        while events:
            body = dumps(events)
            gzipped = self._gzip and len(body) >= GZIP_MIN_BYTES
            try:
                response = self._request("POST", EVENTS_PATH, body, gzipped=gzipped)
            except _Retry as exc:
                if attempt >= max_retries or not self._backoff(attempt, exc.retry_after):
                    self._trip(str(exc))
                    return events
                attempt += 1
                continue
            except _Refused as exc:
                self._trip(str(exc))
                self._log_once(f"refused:{exc}", logging.ERROR, "%s; events are kept on disk", exc)
                return events
            status = response.status_code
            if status < 300:
                self._recovered()
                self._count(response)
                return []
            if status == 413 and len(events) > 1:
                half = len(events) // 2
                return [
                    *self._post_events(events[:half], retries=retries),
                    *self._post_events(events[half:], retries=retries),
                ]
            if gzipped and status in (400, 415, 422) and _bad_indexes(response) is None:
                # The body as a whole was refused: a server that does not decode gzip.
                self._gzip = False
                self._log_once("gzip", logging.INFO, "the server does not accept gzip; sending plain JSON")
                continue
            if status == 422:
                bad = _bad_indexes(response)
                if bad is None:
                    self.stats.dropped_invalid += len(events)
                    log.error(
                        "tokenoptimizer: the server refused a batch of %d events: %s",
                        len(events),
                        response.text[:500],
                    )
                    return []
                self.stats.dropped_invalid += len(bad)
                log.warning(
                    "tokenoptimizer: the server refused %d events of a batch: %s",
                    len(bad),
                    response.text[:500],
                )
                events = [event for i, event in enumerate(events) if i not in bad]
                continue
            self.stats.dropped_invalid += len(events)
            self._log_once(
                f"status:{status}",
                logging.ERROR,
                "unexpected answer %d from the server (events dropped): %s",
                status,
                response.text[:300],
            )
            return []
        return []

    def _request(
        self, method: str, path: str, body: bytes | None, *, gzipped: bool = False
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if gzipped and body is not None:
            body = gzip.compress(body, compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
        self.stats.requests += 1
        try:
            response = self._client().request(method, path, content=body, headers=headers)
        except httpx.HTTPError as exc:
            self.stats.failed_requests += 1
            raise _Retry(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # e.g. httpx.InvalidURL: a configuration problem, keep the events
            self.stats.failed_requests += 1
            raise _Refused(f"cannot send to {self.config.base_url!r} ({type(exc).__name__}: {exc})") from exc
        status = response.status_code
        if status in _RETRYABLE or status >= 500:
            self.stats.failed_requests += 1
            raise _Retry(f"HTTP {status}", _retry_after(response))
        if status in (401, 403, 404, 405):
            self.stats.failed_requests += 1
            detail = response.text[:200]
            raise _Refused(
                f"the TokenOptimizer server at {self.config.base_url} answered {status} ({detail})"
            )
        return response

    def _count(self, response: httpx.Response) -> None:
        try:
            result = response.json()
            self.stats.accepted += int(result.get("accepted", 0))
            self.stats.duplicates += int(result.get("duplicates", 0))
        except (ValueError, AttributeError, TypeError):
            pass

    def _send_controls(self) -> None:
        if self._controls and self._is_down():
            # Reservations expire by themselves: do not make events wait behind them.
            log.info(
                "tokenoptimizer: server unreachable; %d reservation updates skipped", len(self._controls)
            )
            self._controls.clear()
        while self._controls:
            control = self._controls.popleft()
            body = pydantic_core.to_json(control.body) if control.body is not None else None
            for attempt in range(3):
                try:
                    response = self._request(control.method, control.path, body)
                except _Retry as exc:
                    if self._backoff(attempt, exc.retry_after):
                        continue
                    log.info("tokenoptimizer: could not %s %s (%s)", control.method, control.path, exc)
                except _Refused as exc:
                    log.info("tokenoptimizer: %s %s refused (%s)", control.method, control.path, exc)
                else:
                    if response.status_code >= 300:
                        log.info(
                            "tokenoptimizer: %s %s answered %d",
                            control.method,
                            control.path,
                            response.status_code,
                        )
                break

    # --- failures ---------------------------------------------------------------------------

    def _backoff(self, attempt: int, retry_after: float | None) -> bool:
        """Sleep before retry `attempt + 1`; False when closing (do not wait then)."""
        delay = self.config.retry_backoff * (2**attempt) * (0.5 + random.random())
        if retry_after is not None:
            delay = max(delay, min(retry_after, 60.0))
        return not self._interrupt.wait(delay)

    def _is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _trip(self, reason: str) -> None:
        self._down_for = min(CIRCUIT_MAX_SECONDS, max(CIRCUIT_FIRST_SECONDS, self._down_for * 2))
        self._down_until = time.monotonic() + self._down_for
        self._log_once(
            "down",
            logging.WARNING,
            "cannot reach the TokenOptimizer server at %s (%s); events are kept on disk in %s "
            "and sent when it answers",
            self.config.base_url,
            reason,
            self._spool_store().directory,
        )

    def _recovered(self) -> None:
        if self._down_for:
            log.info("tokenoptimizer: the server at %s answers again", self.config.base_url)
            self._logged.discard("down")
        self._down_for = 0.0
        self._down_until = 0.0

    def _all_sent(self) -> bool:
        return not self._queue and self._spool_store().pending() == 0

    def _log_once(self, key: str, level: int, message: str, *args: Any) -> None:
        if key in self._logged:
            return
        self._logged.add(key)
        log.log(level, "tokenoptimizer: " + message, *args)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _bad_indexes(response: httpx.Response) -> set[int] | None:
    """Indexes of the events a 422 names (`body.events.<i>.…`), or None when it names none."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return None
    if not isinstance(detail, list):
        return None
    bad: set[int] = set()
    for error in detail:
        loc = error.get("loc") if isinstance(error, dict) else None
        if (
            isinstance(loc, list)
            and len(loc) >= 3
            and loc[:2] == ["body", "events"]
            and isinstance(loc[2], int)
        ):
            bad.add(loc[2])
    return bad or None
