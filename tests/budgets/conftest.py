"""Budget test helpers: an admin key and a model that costs exactly $1 per input token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tokenoptimizer.accounts import service
from tokenoptimizer.server.context import AppContext

DOLLAR_MODEL = "dollar-model"  # priced by `dollar_model` below: one input token = $1.00


@pytest.fixture
def admin(context: AppContext, tenant: Tenant) -> dict[str, str]:
    """Headers of an admin API key of the tenant's project."""
    with context.db.session() as session:
        _key, _project, secret = service.create_api_key(
            session, org_id=tenant.org_id, project_name="app", scopes=["ingest", "read", "admin"]
        )
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
async def dollar_model(client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    override = {"kind": "custom_model", "model_pattern": DOLLAR_MODEL, "input_per_mtok": 1_000_000}
    assert (await client.post("/api/v1/price-overrides", json=override, headers=admin)).status_code == 201
    return DOLLAR_MODEL


def dollars(amount: int, *, ts: datetime | None = None, **fields: Any) -> dict[str, Any]:
    """An event costing `amount` dollars (with the `dollar_model` override)."""
    return {
        "event_id": str(uuid.uuid4()),
        "ts": (ts or datetime.now(UTC)).isoformat(),
        "provider": "openai",
        "model": DOLLAR_MODEL,
        "input_tokens": amount,
        "output_tokens": 0,
        **fields,
    }


async def spend(client: httpx.AsyncClient, tenant: Tenant, *events: dict[str, Any]) -> None:
    response = await client.post("/api/v1/events", json={"events": list(events)}, headers=tenant.headers())
    assert response.status_code == 202, response.text


async def create_budget(client: httpx.AsyncClient, admin: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "Monthly", "period": "month", "limit": 50, **fields}
    response = await client.post("/api/v1/budgets", json=body, headers=admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
