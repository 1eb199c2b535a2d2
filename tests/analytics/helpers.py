"""Hand-built events for the analytics tests, stored straight into the event store.

Reads are what is tested here, so rows carry their costs, latencies and impact explicitly: every
expected figure in the tests is computed by hand from these rows, independent of the price catalogue.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.conftest import Tenant
from tokenoptimizer.accounts.models import Organization
from tokenoptimizer.analytics import schemas
from tokenoptimizer.server.context import AppContext
from tokenoptimizer.usage.stores import events_table

DEFAULTS: dict[str, Any] = {
    "provider": "openai",
    "model": "gpt-4o",
    "request_type": "chat",
    "status": "ok",
    "price_source": "test",
    "source": "test",
    "tags": {},
    "input_tokens": 0,
    "output_tokens": 0,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "cache_write_1h_tokens": 0,
    "reasoning_tokens": 0,
    "cost_usd": 0.0,
    "billed_cost_usd": 0.0,
}


def store_events(context: AppContext, tenant: Tenant, rows: list[dict[str, Any]]) -> None:
    """Append rows (dicts of event columns; `ts` aware) for the tenant, in time order."""
    now = datetime.now(UTC)
    full = []
    for row in sorted(rows, key=lambda r: r["ts"]):
        event = {**DEFAULTS, "event_id": str(uuid.uuid4()), "org_id": tenant.org_id}
        event.update({"project_id": tenant.project_id, "ingested_at": now})
        event.update(row)
        full.append(event)
    columns = {name: [event.get(name) for event in full] for name in {k for e in full for k in e}}
    result = context.store.append(events_table(columns))
    assert result.accepted == len(rows)


def set_org(context: AppContext, tenant: Tenant, **settings: Any) -> None:
    """Change the tenant organisation's settings (time zone, currency, …)."""
    with context.db.session() as session:
        org = session.get(Organization, tenant.org_id)
        assert org is not None
        for name, value in settings.items():
            setattr(org, name, value)


SHAPES: dict[str, type[schemas.BaseModel]] = {
    "summary": schemas.Summary,
    "timeseries": schemas.Timeseries,
    "breakdown": schemas.Breakdown,
    "performance": schemas.Performance,
    "heatmap": schemas.Heatmap,
    "impact": schemas.Impact,
    "top-prompts": schemas.TopPrompts,
    "forecast": schemas.Forecast,
}


async def get(
    client: httpx.AsyncClient, tenant: Tenant, path: str, params: Any = None, key: str | None = None
) -> dict[str, Any]:
    """GET an analytics endpoint and return its JSON (asserting 200 and the documented shape)."""
    response = await client.get(f"/api/v1/usage/{path}", params=params, headers=tenant.headers(key))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    # Routes serialise their answer themselves: check it round-trips through the documented model.
    shape = SHAPES[path]
    assert shape.model_validate(body).model_dump(mode="json", by_alias=True) == body
    return body
