"""Shared fixtures: real databases in temporary directories, an app per test, HTTP clients.

Database tests run twice, on SQLite and on a real PostgreSQL server started by the test run.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from tests.fake_upstream import FakeUpstream
from tests.servers import postgres_server
from tokenoptimizer.accounts import service
from tokenoptimizer.accounts.models import Role
from tokenoptimizer.server.app import create_app
from tokenoptimizer.server.context import AppContext
from tokenoptimizer.server.settings import Settings


def _refuse_network(*args: object, **kwargs: object) -> None:
    raise AssertionError("network access attempted")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if anything opens a connection or resolves a name (no network at run time)."""
    monkeypatch.setattr(socket.socket, "connect", _refuse_network)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse_network)
    monkeypatch.setattr(socket, "getaddrinfo", _refuse_network)
    monkeypatch.setattr(socket, "create_connection", _refuse_network)
    yield


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty metadata database: a SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'meta.db'}"
        return
    server: str = request.getfixturevalue("postgres_url")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings on a fresh metadata DB (SQLite, then PostgreSQL) and a DuckDB file in tmp_path."""
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough",
        environment="test",
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings, serve_ui=False)
    yield application
    application.state.context.close()


@pytest.fixture
def context(app: FastAPI) -> AppContext:
    ctx: AppContext = app.state.context
    return ctx


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@dataclass
class Tenant:
    """An organisation with an owner and a project key, for tests."""

    org_id: str
    project_id: str
    key: str
    read_key: str
    email: str
    password: str

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}


def make_tenant(context: AppContext, name: str) -> Tenant:
    email = f"owner@{name.lower()}.example"
    password = "correct horse battery"
    with context.db.session() as session:
        org = service.create_organization(session, name)
        service.create_user(session, email=email, password=password, org_id=org.id, role=Role.owner)
        _k, project, secret = service.create_api_key(
            session, org_id=org.id, project_name="app", scopes=["ingest", "read"]
        )
        _r, _p, read_secret = service.create_api_key(
            session, org_id=org.id, project_name="app", scopes=["read"]
        )
        return Tenant(org.id, project.id, secret, read_secret, email, password)


@pytest.fixture
def tenant(context: AppContext) -> Tenant:
    return make_tenant(context, "Acme")


@pytest.fixture
def other_tenant(context: AppContext) -> Tenant:
    return make_tenant(context, "Globex")


@pytest.fixture
def fake_upstream() -> Iterator[FakeUpstream]:
    """A fake OpenAI/Anthropic provider: a real HTTP server on loopback (see tests/fake_upstream.py)."""
    with FakeUpstream() as upstream:
        yield upstream
