"""Background threads yield the CPU to the threads serving requests.

The event writer, the rollup keeper, DuckDB's own worker threads and the gateway's recorder do
seconds of work a minute under load, much of it with the interpreter lock released, so it
competes with the serving event loop for CPU time rather than for the lock. On a busy machine
the kernel shares a CPU evenly between runnable threads: a 30 ms commit then slowed every call
in flight for as long (bench/gateway.py). A nicer thread still gets every idle cycle, and its
work is not delayed when the loop is idle.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

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


def in_background_thread(work: Callable[[], T]) -> T:
    """Run `work` in a short-lived nicer thread and return its result (or raise its error).

    Threads started by `work` inherit the lower priority (DuckDB's workers do).
    """
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        lower_thread_priority()
        try:
            outcome.append(work())
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="tokenoptimizer-background-open")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
