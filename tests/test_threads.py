"""The store's background threads run nicer than the threads serving requests."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from tokenoptimizer.threads import lower_thread_priority
from tokenoptimizer.usage.stores.duckdb import DuckDBEventStore

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values are Linux's")


def niceness(thread_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread_id)


def test_only_the_calling_thread_gets_nicer() -> None:
    before = niceness(threading.get_native_id())
    seen: list[int] = []

    def work() -> None:
        lower_thread_priority(5)
        seen.append(niceness(threading.get_native_id()))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [min(before + 5, 19)]
    assert niceness(threading.get_native_id()) == before  # this thread, and so the process, unchanged


def test_writer_and_rollup_threads_are_nicer(tmp_path: Path) -> None:
    store = DuckDBEventStore(f"duckdb:///{tmp_path / 'events.duckdb'}")
    try:
        serving = niceness(threading.get_native_id())
        deadline = time.monotonic() + 10
        background: dict[str, int] = {}
        while len(background) < 2 and time.monotonic() < deadline:
            for thread in threading.enumerate():
                if thread.name in ("tokenoptimizer-event-writer", "tokenoptimizer-rollups"):
                    assert thread.native_id is not None
                    if niceness(thread.native_id) > serving:
                        background[thread.name] = niceness(thread.native_id)
            time.sleep(0.01)
        assert set(background) == {"tokenoptimizer-event-writer", "tokenoptimizer-rollups"}
    finally:
        store.close()


def test_duckdb_workers_are_nicer(tmp_path: Path) -> None:
    serving = niceness(threading.get_native_id())
    before = set(os.listdir("/proc/self/task"))
    store = DuckDBEventStore(f"duckdb:///{tmp_path / 'events.duckdb'}", threads=4)
    try:
        python = {thread.native_id for thread in threading.enumerate()}
        started = [int(t) for t in os.listdir("/proc/self/task") if t not in before and int(t) not in python]
        assert len(started) >= 3  # DuckDB's own workers (threads - 1)
        assert all(niceness(t) > serving for t in started)
    finally:
        store.close()
