import asyncio
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from tokenoptimizer.usage.stores import EventStoreError, events_table, open_event_store
from tokenoptimizer.usage.stores.duckdb import DuckDBEventStore


def batch(n: int, org: str = "org-1", ids: list[str] | None = None) -> object:
    ids = ids or [str(uuid.uuid4()) for _ in range(n)]
    now = datetime(2026, 11, 1, 12, 0)
    return events_table(
        {
            "event_id": ids,
            "ts": [now] * len(ids),
            "org_id": [org] * len(ids),
            "project_id": ["p"] * len(ids),
            "provider": ["openai"] * len(ids),
            "model": ["gpt-4o"] * len(ids),
            "request_type": ["chat"] * len(ids),
            "status": ["ok"] * len(ids),
            "tags": [{}] * len(ids),
            "input_tokens": [1] * len(ids),
            "output_tokens": [1] * len(ids),
            "cache_read_tokens": [0] * len(ids),
            "cache_write_tokens": [0] * len(ids),
            "reasoning_tokens": [0] * len(ids),
            "cost_usd": [0.5] * len(ids),
            "price_source": ["test"] * len(ids),
            "source": ["test"] * len(ids),
            "ingested_at": [now] * len(ids),
        }
    )


async def test_concurrent_small_appends_are_grouped_and_all_stored(tmp_path: Path) -> None:
    store = open_event_store(f"duckdb:///{tmp_path / 'e.duckdb'}")
    assert isinstance(store, DuckDBEventStore)
    commits = 0
    original = store._write_group

    def counting(batches: list[object]) -> object:
        nonlocal commits
        commits += 1
        return original(batches)  # type: ignore[arg-type]

    store._write_group = counting  # type: ignore[method-assign]
    results = await asyncio.gather(*(store.append_async(batch(1)) for _ in range(400)))
    assert sum(r.accepted for r in results) == 400
    assert store.count() == 400
    # Group commit: far fewer transactions than requests.
    assert commits < 200
    store.close()


async def test_same_id_in_concurrent_requests_is_stored_once(tmp_path: Path) -> None:
    store = open_event_store(f"duckdb:///{tmp_path / 'e.duckdb'}")
    shared = [str(uuid.uuid4())]
    results = await asyncio.gather(*(store.append_async(batch(1, ids=shared)) for _ in range(50)))
    assert sum(r.accepted for r in results) == 1
    assert sum(r.duplicates for r in results) == 49
    assert store.count() == 1
    store.close()


def test_idempotency_is_per_organisation(tmp_path: Path) -> None:
    store = open_event_store(f"duckdb:///{tmp_path / 'e.duckdb'}")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    assert store.append(batch(3, org="a", ids=ids)).accepted == 3
    assert store.append(batch(3, org="b", ids=ids)).accepted == 3
    assert store.append(batch(3, org="a", ids=ids)).duplicates == 3
    store.close()


def test_second_process_gets_a_clear_message(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = f"duckdb:///{tmp_path / 'e.duckdb'}"
    store = open_event_store(url)
    code = (
        "from tokenoptimizer.usage.stores import open_event_store, EventStoreError\n"
        f"try:\n    open_event_store({url!r})\nexcept EventStoreError as e:\n    print(e)\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "held by another process" in output
    store.close()


def test_bad_url() -> None:
    with pytest.raises(EventStoreError, match="unsupported events URL"):
        open_event_store("mongodb://nope")


def test_duckdb_settings_come_from_the_url_or_the_arguments(tmp_path: Path) -> None:
    store = open_event_store(f"duckdb:///{tmp_path / 'e.duckdb'}?memory_limit=256MB&threads=1")
    assert isinstance(store, DuckDBEventStore)
    assert store.fetch("SELECT current_setting('threads')")[0][0] == 1
    assert "MiB" in store.fetch("SELECT current_setting('memory_limit')")[0][0]
    assert store.append(batch(2)).accepted == 2  # the path is the part before the query
    store.close()
    assert (tmp_path / "e.duckdb").exists()
    store = open_event_store(f"duckdb:///{tmp_path / 'e.duckdb'}", memory_limit="2GB", threads=2)
    assert store.fetch("SELECT current_setting('threads')")[0][0] == 2
    assert store.count() == 2
    store.close()
    with pytest.raises(EventStoreError, match="unknown DuckDB option"):
        open_event_store(f"duckdb:///{tmp_path / 'e.duckdb'}?colour=blue")
    with pytest.raises(EventStoreError, match="invalid DuckDB setting"):
        open_event_store(f"duckdb:///{tmp_path / 'e.duckdb'}", memory_limit="lots")


def test_a_failing_job_does_not_stop_the_writer(tmp_path: Path) -> None:
    store = open_event_store(f"duckdb:///{tmp_path / 'e.duckdb'}")

    def broken() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        store.run_exclusive(broken)
    assert store.append(batch(3)).accepted == 3
    assert store.count() == 3
    store.close()
