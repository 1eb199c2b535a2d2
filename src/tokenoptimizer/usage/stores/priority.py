"""Background threads yield the CPU to the threads serving requests.

The event writer and the rollup keeper do seconds of DuckDB work a minute under load, most of it
with the interpreter lock released, so it competes with the serving event loop for CPU time
rather than for the lock. On a busy machine the kernel shares a CPU evenly between runnable
threads: a 30 ms commit then slowed every call in flight for as long (bench/gateway.py). A nicer
thread still gets every idle cycle, and its work is not delayed when the loop is idle.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)

BACKGROUND_NICENESS = 10
"""Added to the thread's nice value: the kernel then gives a serving thread ~9× its share."""


def lower_thread_priority(niceness: int = BACKGROUND_NICENESS) -> None:
    """Make the calling thread nicer (Linux sets the nice value per thread); no-op elsewhere."""
    if not hasattr(os, "setpriority"):
        return
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(current + niceness, 19))
    except OSError as exc:  # a sandbox may refuse it: the thread keeps its priority
        log.debug("could not lower the priority of thread %s: %s", thread, exc)
