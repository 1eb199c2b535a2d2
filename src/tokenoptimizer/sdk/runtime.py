"""The SDK's one global state: the configuration in force and where recorded events go.

`configure()` replaces it; without a call, the first recorded event configures the SDK from the
environment. Events go to a `Sender` (background thread, batches, spool), to a list (the pytest
fixture in `tokenoptimizer.testing`), or nowhere when no API key is set (logged once).

At interpreter exit the queue is flushed (a bounded wait; what cannot be sent is spooled). After
`os.fork()` the child starts with an empty queue and its own sender thread, as threads do not
survive a fork.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from tokenoptimizer.sdk.config import SdkConfig, build_config
from tokenoptimizer.sdk.events import Pending
from tokenoptimizer.sdk.guard import Guard
from tokenoptimizer.sdk.sender import Control, Sender

log = logging.getLogger("tokenoptimizer")

EXIT_FLUSH_SECONDS = 5.0


class Runtime:
    """A configuration and the sink of its events."""

    def __init__(self, config: SdkConfig, sink: Callable[[Pending], None] | None = None) -> None:
        self.config = config
        self.sender: Sender | None = None
        self._guard: Guard | None = None
        if sink is not None:
            self.record: Callable[[Pending], None] = sink
        elif config.enabled:
            self.sender = Sender(config)
            self.record = self.sender.put
        else:
            self.record = self._not_configured
        self._warned = False

    def _not_configured(self, pending: Pending) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "tokenoptimizer: not configured (no API key): calls are not recorded. "
                "Call tokenoptimizer.configure(api_key=...) or set TOKENOPTIMIZER_API_KEY."
            )

    def guard(self) -> Guard | None:
        """The budget guard of this configuration (None when nothing is sent)."""
        if self.sender is None:
            return None
        if self._guard is None:
            self._guard = Guard(self.config)
        return self._guard

    def control(self, control: Control) -> None:
        """Queue a reservation commit/release (ignored without a sender)."""
        if self.sender is not None:
            self.sender.control(control)

    def flush(self, timeout: float | None) -> bool:
        """Send everything queued and spooled."""
        return True if self.sender is None else self.sender.flush(timeout)

    def close(self, timeout: float) -> None:
        """Flush within `timeout`, spool the rest, stop the thread."""
        if self.sender is not None:
            self.sender.close(timeout)
        if self._guard is not None:
            self._guard.close()


_lock = threading.Lock()
_current: Runtime | None = None


def get() -> Runtime:
    """The runtime in force, created from the environment on first use."""
    runtime = _current
    if runtime is None:
        with _lock:
            runtime = _current
            if runtime is None:
                runtime = Runtime(build_config())
                _install(runtime)
    return runtime


def record(pending: Pending) -> None:
    """Hand one pending event to the runtime in force (the hot path of every recorded call)."""
    runtime = _current
    if runtime is None:
        runtime = get()
    runtime.record(pending)


def configure(**options: Any) -> Runtime:
    """Replace the runtime with one built from `options` over the environment."""
    runtime = Runtime(build_config(**options))
    with _lock:
        previous = _install(runtime)
    if previous is not None and previous is not runtime:
        # Its queued events belong to its destination: let its thread finish them.
        threading.Thread(target=previous.close, args=(EXIT_FLUSH_SECONDS,), daemon=True).start()
    if runtime.sender is not None:
        runtime.sender.start()  # sends what an earlier run left in the spool
    return runtime


def swap(runtime: Runtime | None) -> Runtime | None:
    """Install `runtime` as is (tests); return the previous one without closing it."""
    global _current
    with _lock:
        previous, _current = _current, runtime
    return previous


def _install(runtime: Runtime) -> Runtime | None:
    global _current
    previous, _current = _current, runtime
    return previous if previous is not runtime else None


def _at_exit() -> None:
    runtime = _current
    if runtime is not None:
        runtime.close(EXIT_FLUSH_SECONDS)


def _after_fork_in_child() -> None:
    global _current, _lock
    _lock = threading.Lock()
    runtime = _current
    if runtime is not None and runtime.sender is not None:
        _current = Runtime(runtime.config)


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
