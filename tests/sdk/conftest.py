"""Fixtures of the SDK tests: a real TokenOptimizer server on loopback and a configured SDK.

The server is `create_app(settings)` (SQLite metadata, DuckDB events in a temporary directory)
served by uvicorn in a thread, so the SDK talks to it over real HTTP exactly as in production.
One server serves a whole test module (building an app costs seconds here); each test gets its
own organisation (`tenant`), so it only ever sees its own events. The SDK does not depend on the
metadata database, so these tests run on SQLite only.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

import tokenoptimizer
from tests.conftest import Tenant, make_tenant
from tests.servers import free_port
from tokenoptimizer.sdk import runtime
from tokenoptimizer.server.app import create_app
from tokenoptimizer.server.settings import Settings
from tokenoptimizer.testing import tokenoptimizer_events  # noqa: F401 - the fixture shipped to users


class LiveServer:
    """A FastAPI app served by uvicorn on a loopback port, startable and stoppable."""

    def __init__(self, app: FastAPI, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LiveServer:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="critical", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="tko-live-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        self._server = None
        self._thread = None

    def events(self, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
        """Every stored event of the tenant (newest first), through the read API."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {"limit": 1000, **params}
            if cursor:
                query["cursor"] = cursor
            response = httpx.get(
                f"{self.url}/api/v1/events", params=query, headers=tenant.headers(tenant.read_key), timeout=10
            )
            response.raise_for_status()
            page = response.json()
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return items


def app_in(directory: Path) -> FastAPI:
    settings = Settings(
        data_dir=directory,
        database_url=f"sqlite:///{directory / 'meta.db'}",
        secret_key="test-secret-key-that-is-long-enough",
        environment="test",
    )
    return create_app(settings, serve_ui=False)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    app = app_in(tmp_path_factory.mktemp("sdk-server"))
    live = LiveServer(app).start()
    yield live
    live.stop()
    app.state.context.close()


@pytest.fixture
def server(shared_server: LiveServer) -> LiveServer:
    return shared_server


@pytest.fixture
def tenant(shared_server: LiveServer) -> Tenant:
    """A new organisation with an ingest+read key on the shared server."""
    return make_tenant(shared_server.app.state.context, f"Org-{uuid.uuid4().hex[:10]}")


@pytest.fixture(autouse=True)
def clean_sdk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No TOKENOPTIMIZER_* variable of the caller leaks in; each test ends with the SDK unconfigured."""
    for name in list(os.environ):
        if name.startswith("TOKENOPTIMIZER_"):
            monkeypatch.delenv(name)
    previous = runtime.swap(None)
    yield
    current = runtime.swap(previous)
    if current is not None:
        current.close(timeout=5)


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def sdk(server: LiveServer, tenant: Tenant, spool_dir: Path) -> LiveServer:
    """The SDK configured for the live server with the tenant's ingest key; returns the server."""
    tokenoptimizer.configure(
        api_key=tenant.key,
        base_url=server.url,
        spool_dir=spool_dir,
        flush_interval=0.05,
        retry_backoff=0.01,
    )
    return server


@pytest.fixture
def closing() -> Iterator[list[Any]]:
    """Sync provider clients to close after the test (unclosed sockets are errors under filterwarnings)."""
    clients: list[Any] = []
    yield clients
    for client in clients:
        client.close()
