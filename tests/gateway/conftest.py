"""Gateway fixtures: the app served by a real uvicorn on loopback, in front of the fake upstream.

The server-wide upstreams (`TOKENOPTIMIZER_OPENAI_*`, `TOKENOPTIMIZER_ANTHROPIC_*`) point at the
fake upstream, so the SDKs talk HTTP to the gateway, which talks HTTP to the fake provider.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tests.conftest import Tenant
from tests.fake_upstream import FakeUpstream
from tests.servers import free_port
from tokenoptimizer.accounts import service
from tokenoptimizer.server.context import AppContext
from tokenoptimizer.server.settings import Settings

SERVER_OPENAI_KEY = "sk-server-openai-0001"
SERVER_ANTHROPIC_KEY = "sk-ant-server-0002"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, fake_upstream: FakeUpstream) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough",
        environment="test",
        openai_base_url=fake_upstream.openai_base_url,
        openai_api_key=SERVER_OPENAI_KEY,
        anthropic_base_url=fake_upstream.anthropic_base_url,
        anthropic_api_key=SERVER_ANTHROPIC_KEY,
        gateway_timeout_seconds=10,
        gateway_record_interval_seconds=0.02,
    )


class ServerThread:
    """uvicorn serving an app in a thread with its own event loop (kept until the gateway closed)."""

    def __init__(self, app: FastAPI, lifespan: str = "off") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False, lifespan=lifespan
        )
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="gateway-under-test", daemon=True)

    def _run(self) -> None:
        self.loop.run_until_complete(self.server.serve())

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class Gateway:
    """The running gateway, as tests use it."""

    url: str
    context: AppContext
    tenant: Tenant

    @property
    def openai_base_url(self) -> str:
        return self.url + "/gateway/openai/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url + "/gateway/anthropic"

    def wait(self) -> None:
        """Wait until every call made so far is recorded."""
        assert self.context.gateway.wait_idle(15), "the gateway did not finish recording calls"

    def events(self, key: str | None = None, **params: Any) -> list[dict[str, Any]]:
        """Stored events, oldest first, as the REST API returns them."""
        self.wait()
        response = httpx.get(
            self.url + "/api/v1/events",
            params={"order": "asc", "limit": 1000, **params},
            headers={"Authorization": f"Bearer {key or self.tenant.key}"},
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def api(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method,
            self.url + path,
            headers={"Authorization": f"Bearer {key or self.tenant.key}"},
            timeout=30,
            **kwargs,
        )


@pytest.fixture
def gateway(app: FastAPI, context: AppContext, tenant: Tenant) -> Iterator[Gateway]:
    server = ServerThread(app)
    with server:
        yield Gateway(server.url, context, tenant)
    # Close the upstream client in the loop that opened its connections.
    context.gateway.close()
    server.loop.close()


def make_key(context: AppContext, org_id: str, scopes: list[str], project: str = "app") -> str:
    with context.db.session() as session:
        _key, _project, secret = service.create_api_key(
            session, org_id=org_id, project_name=project, scopes=scopes
        )
        return secret


@pytest.fixture
def admin_key(context: AppContext, tenant: Tenant) -> str:
    """An API key of the tenant that may change settings."""
    return make_key(context, tenant.org_id, ["read", "admin"])
