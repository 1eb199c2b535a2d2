"""Delivery guarantees: server down then up, lost responses, errors, the bounded spool, exit.

Every test checks the events in the real server through its read API: each event exactly once.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

import tokenoptimizer
from tests.conftest import Tenant, make_tenant
from tests.fake_upstream import FakeUpstream
from tests.sdk.conftest import LiveServer, app_in
from tests.sdk.flaky_proxy import FlakyProxy
from tests.servers import free_port
from tokenoptimizer.sdk import runtime
from tokenoptimizer.sdk.sender import Sender
from tokenoptimizer.sdk.spool import Spool

ROOT = Path(__file__).resolve().parents[2]


def _sender() -> Sender:
    sender = runtime.get().sender
    assert sender is not None
    return sender


def _track(n: int, start: int = 0) -> list[str]:
    return [
        tokenoptimizer.track(provider="openai", model="gpt-4o-mini", input_tokens=10 + i, output_tokens=1)
        for i in range(start, start + n)
    ]


@dataclass
class Cold:
    """A server not started yet, and an organisation in it."""

    server: LiveServer
    tenant: Tenant


@pytest.fixture
def cold(tmp_path: Path) -> Iterator[Cold]:
    app = app_in(tmp_path / "server")
    live = LiveServer(app)
    yield Cold(live, make_tenant(app.state.context, "Cold"))
    live.stop()
    app.state.context.close()


def test_server_down_then_up_delivers_every_event_once(cold: Cold, spool_dir: Path) -> None:
    stopped_server, tenant = cold.server, cold.tenant
    tokenoptimizer.configure(
        api_key=tenant.key,
        base_url=stopped_server.url,
        spool_dir=spool_dir,
        flush_interval=0.05,
        retry_backoff=0.01,
        batch_size=50,
    )
    ids = _track(120)
    assert tokenoptimizer.flush(10) is False  # nobody listens: the events are on disk
    sender = _sender()
    assert sender.pending() == 0
    assert sender.spooled_events() == 120
    ids += _track(30, start=120)  # the circuit is open: straight to the spool, no waiting
    assert tokenoptimizer.flush(10) is False
    assert sender.spooled_events() == 150

    stopped_server.start()
    ids += _track(10, start=150)
    assert tokenoptimizer.flush(20) is True
    assert sender.spooled_events() == 0
    stored = [e["event_id"] for e in stopped_server.events(tenant)]
    assert sorted(stored) == sorted(ids)  # every event, exactly once
    assert sender.stats.accepted == 160 and sender.stats.duplicates == 0


def test_a_lost_response_is_retried_and_counted_once(
    server: LiveServer, tenant: Tenant, spool_dir: Path
) -> None:
    proxy = FlakyProxy(server.port, drop_responses=1).start()
    try:
        tokenoptimizer.configure(
            api_key=tenant.key,
            base_url=proxy.url,
            spool_dir=spool_dir,
            flush_interval=0.05,
            retry_backoff=0.01,
            gzip=False,  # one request per attempt, whatever the server's gzip support
        )
        ids = _track(40)
        assert tokenoptimizer.flush(10) is True
    finally:
        proxy.stop()
    sender = _sender()
    # The first request was stored but its answer lost; the retry found the 40 events stored.
    assert proxy.requests == 2
    assert (sender.stats.accepted, sender.stats.duplicates) == (0, 40)
    assert sorted(e["event_id"] for e in server.events(tenant)) == sorted(ids)


def test_server_errors_are_retried(server: LiveServer, tenant: Tenant, spool_dir: Path) -> None:
    proxy = FlakyProxy(server.port, fail_status=[503, 500, 429]).start()
    try:
        tokenoptimizer.configure(
            api_key=tenant.key,
            base_url=proxy.url,
            spool_dir=spool_dir,
            flush_interval=0.05,
            retry_backoff=0.01,
            gzip=False,
        )
        ids = _track(5)
        assert tokenoptimizer.flush(10) is True
    finally:
        proxy.stop()
    assert proxy.requests == 4
    assert sorted(e["event_id"] for e in server.events(tenant)) == sorted(ids)


def test_gzipped_batches_arrive(sdk: LiveServer, tenant: Tenant) -> None:
    """Batches over 1 KiB are gzipped; a server that does not take gzip gets plain JSON instead."""
    ids = _track(300)
    assert tokenoptimizer.flush(10) is True
    assert sorted(e["event_id"] for e in sdk.events(tenant)) == sorted(ids)
    sender = _sender()
    assert sender.stats.accepted == 300 and sender.stats.dropped_invalid == 0


def test_a_wrong_key_keeps_events_on_disk(server: LiveServer, tenant: Tenant, spool_dir: Path) -> None:
    tokenoptimizer.configure(
        api_key="tko_wrong", base_url=server.url, spool_dir=spool_dir, flush_interval=0.05
    )
    _track(3)
    assert tokenoptimizer.flush(10) is False
    assert _sender().spooled_events() == 3
    assert server.events(tenant) == []


def test_the_spool_is_bounded(tenant: Tenant, spool_dir: Path) -> None:
    tokenoptimizer.configure(
        api_key=tenant.key,
        base_url=f"http://127.0.0.1:{free_port()}",
        spool_dir=spool_dir,
        batch_size=20,
        max_spool_bytes=3000,
        retry_backoff=0.01,
    )
    for _ in range(10):
        _track(20)
        tokenoptimizer.flush(5)
    directory = runtime.get().config.resolved_spool_dir()
    spool = Spool(directory, 3000)
    total = sum(f.stat().st_size for f in directory.iterdir())
    assert total <= 3000
    assert 0 < spool.pending_events() < 200
    assert _sender()._spool_store().dropped_events == 200 - spool.pending_events()


def _run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_events_of_a_process_that_exits_while_the_server_is_down_arrive_later(
    cold: Cold, spool_dir: Path
) -> None:
    stopped_server, tenant = cold.server, cold.tenant
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENOPTIMIZER_")}
    env.update(
        TOKENOPTIMIZER_API_KEY=tenant.key,
        TOKENOPTIMIZER_BASE_URL=stopped_server.url,
        TOKENOPTIMIZER_SPOOL_DIR=str(spool_dir),
    )
    first = _run(
        """
        import tokenoptimizer
        ids = [tokenoptimizer.track(provider="openai", model="gpt-4o-mini", input_tokens=5, output_tokens=5)
               for _ in range(25)]
        print("\\n".join(ids))
        """,  # no flush: the exit handler keeps the events on disk
        env,
    )
    assert first.returncode == 0, first.stderr
    ids = first.stdout.split()
    assert len(ids) == 25
    assert "cannot reach the TokenOptimizer server" in first.stderr

    stopped_server.start()
    second = _run(
        """
        import tokenoptimizer
        tokenoptimizer.configure()  # from the environment; sends what the last run left
        print(tokenoptimizer.flush(20))
        """,
        env,
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "True"
    assert sorted(e["event_id"] for e in stopped_server.events(tenant)) == sorted(ids)


def test_a_forked_child_sends_its_own_events(server: LiveServer, tenant: Tenant, spool_dir: Path) -> None:
    """A pre-forking server (gunicorn --preload): each worker gets its own queue and sender thread."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENOPTIMIZER_")}
    env.update(
        TOKENOPTIMIZER_API_KEY=tenant.key,
        TOKENOPTIMIZER_BASE_URL=server.url,
        TOKENOPTIMIZER_SPOOL_DIR=str(spool_dir),
    )
    done = _run(
        """
        import os, sys
        import tokenoptimizer

        def track(n):
            return [tokenoptimizer.track(provider="openai", model="gpt-4o", input_tokens=1, output_tokens=1)
                    for _ in range(n)]

        before = track(3)  # queued in the parent when it forks: sent by the parent only
        pid = os.fork()
        if pid == 0:
            ids = track(4)
            ok = tokenoptimizer.flush(20)
            print("child", *ids, flush=True)
            os._exit(0 if ok else 1)
        ids = before + track(5)
        _, status = os.waitpid(pid, 0)
        print("parent", *ids, tokenoptimizer.flush(20), status, flush=True)
        """,
        env,
    )
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()}
    *parent_ids, flushed, child_status = lines["parent"]
    assert (flushed, child_status) == ("True", "0")
    expected = sorted(parent_ids + lines["child"])
    assert len(expected) == 12
    assert sorted(e["event_id"] for e in server.events(tenant)) == expected


def test_a_server_that_never_answers_slows_no_call(
    tenant: Tenant, spool_dir: Path, fake_upstream: FakeUpstream, closing: list[Any]
) -> None:
    """A server that accepts connections and never answers: calls stay fast, exit keeps the events."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        tokenoptimizer.configure(
            api_key=tenant.key,
            base_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
            spool_dir=spool_dir,
            timeout=30,
            batch_size=1,
        )
        client = tokenoptimizer.wrap(
            OpenAI(base_url=fake_upstream.openai_base_url, api_key="sk", max_retries=0)
        )
        closing.append(client)
        durations = []
        for _ in range(5):
            started = time.perf_counter()
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
            durations.append(time.perf_counter() - started)
        assert max(durations) < 1.0  # the sender waits on the silent server; the calls do not
        started = time.perf_counter()
        tokenoptimizer.shutdown(timeout=0.5)
        assert time.perf_counter() - started < 5
    finally:
        silent.close()
    # The batch being sent when the process stopped waiting, and the queued ones, are on disk
    # (the sender thread may spool its batch again once the socket closes: same ids, counted once).
    directory = runtime.get().config.resolved_spool_dir()
    spooled = {
        event["event_id"]
        for path in directory.glob("*.json.gz")
        for event in json.loads(gzip.decompress(path.read_bytes()))["events"]
    }
    assert len(spooled) == 5
