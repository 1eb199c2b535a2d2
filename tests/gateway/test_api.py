"""The configuration API: upstreams, routing rules and gateway settings (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from tests.conftest import Tenant
from tests.gateway.conftest import make_key
from tokenoptimizer.accounts.models import AuditEntry
from tokenoptimizer.gateway.models import Upstream
from tokenoptimizer.server.context import AppContext

UPSTREAM = {
    "name": "openai-prod",
    "api": "openai",
    "base_url": "https://api.openai.com/v1/",
    "api_key": "sk-live-abcdefgh12345678",
    "allowed_models": ["gpt-4o-mini", "gpt-4o*"],
}


def _h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _errors(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {".".join(map(str, e["loc"])): e["msg"] for e in response.json()["detail"]}


async def test_upstream_lifecycle_never_returns_the_key(
    client: httpx.AsyncClient, context: AppContext, tenant: Tenant, admin_key: str
) -> None:
    created = await client.post("/api/v1/upstreams", json=UPSTREAM, headers=_h(admin_key))
    assert created.status_code == 201, created.text
    body = created.json()
    assert "sk-live" not in created.text
    assert body["has_api_key"] is True and body["api_key_hint"] == "…5678"
    assert body["base_url"] == "https://api.openai.com/v1"
    assert body["provider"] == "openai" and body["auth_style"] == "bearer"
    assert body["allowed_models"] == ["gpt-4o*", "gpt-4o-mini"]

    with context.db.session() as session:
        row = session.get(Upstream, body["id"])
        assert row is not None and row.api_key_encrypted is not None
        assert "sk-live" not in row.api_key_encrypted  # encrypted at rest

    listed = await client.get("/api/v1/upstreams", headers=_h(tenant.read_key))
    assert [u["id"] for u in listed.json()] == [body["id"]]
    assert "sk-live" not in listed.text

    patched = await client.patch(
        f"/api/v1/upstreams/{body['id']}",
        json={"base_url": "https://api.groq.com/openai/v1", "api_key": "gsk-new-key-9999"},
        headers=_h(admin_key),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["provider"] == "groq"  # guessed again from the new host
    assert patched.json()["api_key_hint"] == "…9999"
    removed = await client.patch(
        f"/api/v1/upstreams/{body['id']}", json={"api_key": None}, headers=_h(admin_key)
    )
    assert removed.json()["has_api_key"] is False and removed.json()["api_key_hint"] is None

    deleted = await client.delete(f"/api/v1/upstreams/{body['id']}", headers=_h(admin_key))
    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/upstreams/{body['id']}", headers=_h(admin_key))).status_code == 404

    with context.db.session() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.org_id == tenant.org_id).order_by(AuditEntry.created_at)
        ).all()
        actions = [(e.action, e.target) for e in entries]
        assert actions == [
            ("gateway.upstream.create", body["id"]),
            ("gateway.upstream.update", body["id"]),
            ("gateway.upstream.update", body["id"]),
            ("gateway.upstream.delete", body["id"]),
        ]
        assert all("sk-live" not in str(e.details) and "gsk-new" not in str(e.details) for e in entries)
        assert entries[1].details["before"]["provider"] == "openai"
        assert entries[1].details["after"]["provider"] == "groq"


async def test_bad_input_gets_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, admin_key: str
) -> None:
    errors = _errors(
        await client.post(
            "/api/v1/upstreams",
            json={"name": "", "api": "gemini", "base_url": "ftp://example.com", "colour": "red"},
            headers=_h(admin_key),
        )
    )
    assert set(errors) == {"body.name", "body.api", "body.base_url", "body.colour"}
    assert "absolute http(s) URL" in errors["body.base_url"]

    errors = _errors(
        await client.post(
            "/api/v1/upstreams",
            json={**UPSTREAM, "project_id": other_tenant.project_id},
            headers=_h(admin_key),
        )
    )
    assert errors == {"body.project_id": f"no project {other_tenant.project_id!r} in this organisation"}

    errors = _errors(
        await client.post("/api/v1/routing-rules", json={"model_pattern": "gpt-4o"}, headers=_h(admin_key))
    )
    assert "target_model, upstream_id or fallback_upstream_id" in errors["body"]
    errors = _errors(
        await client.post(
            "/api/v1/routing-rules",
            json={"model_pattern": "gpt-4o", "upstream_id": "nope", "priority": -1},
            headers=_h(admin_key),
        )
    )
    assert set(errors) == {"body.priority"}
    errors = _errors(
        await client.post(
            "/api/v1/routing-rules",
            json={"model_pattern": "gpt-4o", "upstream_id": "nope"},
            headers=_h(admin_key),
        )
    )
    assert errors == {"body.upstream_id": "no upstream 'nope' in this organisation"}
    errors = _errors(
        await client.put("/api/v1/gateway/settings", json={"rpm_per_key": 0}, headers=_h(admin_key))
    )
    assert set(errors) == {"body.rpm_per_key"}
    errors = _errors(
        await client.patch("/api/v1/upstreams/whatever", json={"name": None}, headers=_h(admin_key))
    )
    assert "name cannot be null" in errors["body"]


async def test_only_admins_change_the_configuration(
    client: httpx.AsyncClient, tenant: Tenant, admin_key: str
) -> None:
    for method, path, body in (
        ("POST", "/api/v1/upstreams", UPSTREAM),
        ("POST", "/api/v1/routing-rules", {"model_pattern": "a", "target_model": "b"}),
        ("PUT", "/api/v1/gateway/settings", {}),
    ):
        response = await client.request(method, path, json=body, headers=_h(tenant.key))
        assert response.status_code == 403, (path, response.text)
    assert (await client.get("/api/v1/routing-rules", headers=_h(tenant.read_key))).status_code == 200
    assert (await client.get("/api/v1/gateway/settings", headers=_h(tenant.read_key))).status_code == 200
    assert (await client.get("/api/v1/upstreams")).status_code == 401


async def test_rules_conflicts_and_order(client: httpx.AsyncClient, admin_key: str) -> None:
    upstream = (await client.post("/api/v1/upstreams", json=UPSTREAM, headers=_h(admin_key))).json()
    duplicate = await client.post("/api/v1/upstreams", json=UPSTREAM, headers=_h(admin_key))
    assert duplicate.status_code == 409 and "already exists" in duplicate.text

    late = await client.post(
        "/api/v1/routing-rules",
        json={"model_pattern": "gpt-4o*", "target_model": "gpt-4o-mini", "priority": 50},
        headers=_h(admin_key),
    )
    early = await client.post(
        "/api/v1/routing-rules",
        json={"model_pattern": "gpt-4o", "upstream_id": upstream["id"], "priority": 10, "feature": "chat"},
        headers=_h(admin_key),
    )
    assert late.status_code == early.status_code == 201
    rules = (await client.get("/api/v1/routing-rules", headers=_h(admin_key))).json()
    assert [r["id"] for r in rules] == [early.json()["id"], late.json()["id"]]

    in_use = await client.delete(f"/api/v1/upstreams/{upstream['id']}", headers=_h(admin_key))
    assert in_use.status_code == 409 and early.json()["id"] in in_use.text

    patched = await client.patch(
        f"/api/v1/routing-rules/{early.json()['id']}",
        json={"upstream_id": None, "target_model": "gpt-4o-mini", "enabled": False},
        headers=_h(admin_key),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["upstream_id"] is None and patched.json()["enabled"] is False
    cleared = await client.patch(
        f"/api/v1/routing-rules/{early.json()['id']}", json={"target_model": None}, headers=_h(admin_key)
    )
    assert cleared.status_code == 422  # nothing left for the rule to do
    assert (
        await client.delete(f"/api/v1/upstreams/{upstream['id']}", headers=_h(admin_key))
    ).status_code == 204
    for rule in rules:
        assert (
            await client.delete(f"/api/v1/routing-rules/{rule['id']}", headers=_h(admin_key))
        ).status_code == 204
    assert (await client.get("/api/v1/routing-rules", headers=_h(admin_key))).json() == []


async def test_settings_show_own_and_effective_values(client: httpx.AsyncClient, admin_key: str) -> None:
    initial = (await client.get("/api/v1/gateway/settings", headers=_h(admin_key))).json()
    assert initial["rpm_per_key"] is None
    assert initial["effective"]["allow_key_passthrough"] is False
    assert initial["effective"]["server_default_upstreams"] == ["openai", "anthropic"]
    saved = await client.put(
        "/api/v1/gateway/settings",
        json={"rpm_per_key": 600, "allow_key_passthrough": True},
        headers=_h(admin_key),
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["rpm_per_key"] == 600
    assert saved.json()["effective"]["rpm_per_key"] == 600
    assert saved.json()["effective"]["allow_key_passthrough"] is True


async def test_organisations_are_walled_off(
    client: httpx.AsyncClient, context: AppContext, tenant: Tenant, other_tenant: Tenant, admin_key: str
) -> None:
    other_admin = make_key(context, other_tenant.org_id, ["read", "admin"])
    theirs = (await client.post("/api/v1/upstreams", json=UPSTREAM, headers=_h(other_admin))).json()
    their_rule = (
        await client.post(
            "/api/v1/routing-rules", json={"model_pattern": "*", "target_model": "x"}, headers=_h(other_admin)
        )
    ).json()
    # The same name is free in another organisation.
    assert (await client.post("/api/v1/upstreams", json=UPSTREAM, headers=_h(admin_key))).status_code == 201

    mine = (await client.get("/api/v1/upstreams", headers=_h(admin_key))).json()
    assert theirs["id"] not in [u["id"] for u in mine]
    assert (await client.get("/api/v1/routing-rules", headers=_h(admin_key))).json() == []
    requests: list[tuple[str, str, Any]] = [
        ("GET", f"/api/v1/upstreams/{theirs['id']}", None),
        ("PATCH", f"/api/v1/upstreams/{theirs['id']}", {"name": "stolen"}),
        ("DELETE", f"/api/v1/upstreams/{theirs['id']}", None),
        ("GET", f"/api/v1/routing-rules/{their_rule['id']}", None),
        ("PATCH", f"/api/v1/routing-rules/{their_rule['id']}", {"priority": 1}),
        ("DELETE", f"/api/v1/routing-rules/{their_rule['id']}", None),
    ]
    for method, path, body in requests:
        response = await client.request(method, path, json=body, headers=_h(admin_key))
        assert response.status_code == 404, (method, path, response.text)
    # Nor can a rule point at another organisation's upstream.
    errors = _errors(
        await client.post(
            "/api/v1/routing-rules",
            json={"model_pattern": "*", "upstream_id": theirs["id"]},
            headers=_h(admin_key),
        )
    )
    assert "body.upstream_id" in errors
