"""The gateway's per-organisation configuration cache: no stampede, no stale config after a change.

Counts the statements the real metadata database receives (an SQLAlchemy engine listener).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from tests.conftest import Tenant
from tokenoptimizer.gateway import service
from tokenoptimizer.gateway.schemas import GatewaySettingsIn
from tokenoptimizer.server.context import AppContext


@pytest.fixture
def reads(context: AppContext) -> Iterator[list[str]]:
    """SQL statements that read gateway configuration tables."""
    seen: list[str] = []

    def on_execute(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "gateway" in statement or "upstream" in statement:
            seen.append(statement)

    engine = context.db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    yield seen
    event.remove(engine, "before_cursor_execute", on_execute)


def expire(context: AppContext, org_id: str) -> None:
    expires, config = context.gateway._configs[org_id]
    context.gateway._configs[org_id] = (time.monotonic() - 1, config)


async def test_first_calls_share_one_read(context: AppContext, tenant: Tenant, reads: list[str]) -> None:
    configs = await asyncio.gather(*(context.gateway.org_config(tenant.org_id) for _ in range(32)))
    assert all(c is configs[0] for c in configs)
    first = len(reads)
    assert first > 0
    await context.gateway.org_config(tenant.org_id)
    assert len(reads) == first  # cached


async def test_expired_config_is_refreshed_once_in_the_background(
    context: AppContext, tenant: Tenant, reads: list[str]
) -> None:
    old = await context.gateway.org_config(tenant.org_id)
    one_read = len(reads)
    expire(context, tenant.org_id)
    reads.clear()

    # Every call in flight gets the old configuration at once; one read refreshes it.
    configs = await asyncio.gather(*(context.gateway.org_config(tenant.org_id) for _ in range(32)))
    assert all(c is old for c in configs)
    loop, refresh = context.gateway._loading[tenant.org_id]
    fresh = await refresh
    assert len(reads) == one_read
    assert fresh is not old
    assert await context.gateway.org_config(tenant.org_id) is fresh


async def test_a_change_is_seen_by_the_next_call(context: AppContext, tenant: Tenant) -> None:
    config = await context.gateway.org_config(tenant.org_id)
    assert config.allow_key_passthrough is False
    with context.db.session() as session:  # what PUT /api/v1/gateway/settings does
        service.put_settings(session, tenant.org_id, "test", GatewaySettingsIn(allow_key_passthrough=True))
    context.gateway.invalidate(tenant.org_id)
    assert (await context.gateway.org_config(tenant.org_id)).allow_key_passthrough is True


async def test_a_read_overtaken_by_a_change_is_not_kept(context: AppContext, tenant: Tenant) -> None:
    old = await context.gateway.org_config(tenant.org_id)
    expire(context, tenant.org_id)
    assert await context.gateway.org_config(tenant.org_id) is old  # starts a refresh
    _, refresh = context.gateway._loading[tenant.org_id]
    context.gateway.invalidate(tenant.org_id)  # a change lands while the refresh reads
    await refresh
    assert tenant.org_id not in context.gateway._configs  # the next call reads again
