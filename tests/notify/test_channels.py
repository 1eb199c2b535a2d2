"""Channels through the API: validation, masked secrets, roles, audit, tenants, "send test", the log."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from tests.budgets.conftest import create_budget
from tests.conftest import Tenant
from tests.notify.receivers import HttpReceiver, SmtpServer
from tokenoptimizer.accounts import service
from tokenoptimizer.accounts.models import AuditEntry
from tokenoptimizer.notify.messages import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from tokenoptimizer.notify.models import Channel
from tokenoptimizer.server.context import AppContext

SECRET = "whsec_0123456789abcdef"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXXsecretZZ9Q"


def webhook(url: str = "https://hooks.example.com/tko", **fields: Any) -> dict[str, Any]:
    return {"name": "Ops hook", "kind": "webhook", "config": {"url": url, "signing_secret": SECRET}, **fields}


def slack(url: str = SLACK_URL) -> dict[str, Any]:
    return {"name": "Slack #spend", "kind": "slack", "config": {"webhook_url": url}}


def email(**config: Any) -> dict[str, Any]:
    return {
        "name": "Finance",
        "kind": "email",
        "config": {
            "host": "smtp.example.com",
            "port": 587,
            "username": "alerts",
            "password": "hunter2-smtp-password",
            "from_address": "alerts@acme.example",
            "to": ["finance@acme.example"],
            **config,
        },
    }


async def create(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/channels", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_invalid_channels_are_refused_with_the_field_named(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    cases: list[tuple[dict[str, Any], list[str]]] = [
        (webhook(url="not a url"), ["config", "url"]),
        (webhook(url="ftp://files.example.com/x"), ["config", "url"]),
        (webhook(url="https:///nohost"), ["config", "url"]),
        ({**webhook(), "config": {"url": "https://h.example.com"}}, ["config", "signing_secret"]),
        (
            {**webhook(), "config": {"url": "https://h.example.com", "signing_secret": "short"}},
            ["signing_secret"],
        ),
        (slack(url="hooks.slack.com/services/x"), ["config", "webhook_url"]),
        (email(host=None), ["config", "host"]),
        (
            {**email(), "config": {k: v for k, v in email()["config"].items() if k != "host"}},
            ["config", "host"],
        ),
        (email(host="smtp://mail.example.com"), ["config", "host"]),
        (email(to=["not-an-address"]), ["config", "to", 0]),
        (email(to=[]), ["config", "to"]),
        (email(from_address="nobody"), ["config", "from_address"]),
        (email(port=70000), ["config", "port"]),
        (email(use_ssl=True, use_starttls=True), ["config"]),
        (email(username=None), ["config"]),  # a password without a username
        ({**webhook(), "alert_kinds": ["spend_spike", "spend_spike"]}, ["alert_kinds"]),
        ({**webhook(), "alert_kinds": ["weather"]}, ["alert_kinds", 0]),
        ({**webhook(), "name": ""}, ["name"]),
        ({**webhook(), "kind": "carrier_pigeon"}, []),
        ({**webhook(), "config": {**webhook()["config"], "extra": 1}}, ["config", "extra"]),
    ]
    for body, field in cases:
        response = await client.post("/api/v1/channels", json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
        locs = [error["loc"] for error in response.json()["detail"]]
        # Locations read body.<kind>.config.<field> (the kind selects the shape).
        assert any(loc[0] == "body" and loc[-len(field) :] == field for loc in locs if field) or not field, (
            body,
            locs,
        )
    exact = await client.post("/api/v1/channels", json=email(to=["nope"]), headers=admin)
    assert [e["loc"] for e in exact.json()["detail"]] == [["body", "email", "config", "to", 0]]
    assert (await client.get("/api/v1/channels", headers=admin)).json() == {"channels": []}


async def test_secrets_are_stored_encrypted_and_only_shown_masked(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, context: AppContext
) -> None:
    hook = await create(client, admin, webhook())
    chat = await create(client, admin, slack())
    mail = await create(client, admin, email())
    assert hook["config"] == {"url": "https://hooks.example.com/tko", "signing_secret": "…cdef"}
    assert chat["config"] == {"webhook_url": "https://hooks.slack.com/…ZZ9Q"}
    assert mail["config"]["password"] == "…word"
    assert mail["config"]["use_starttls"] is True and mail["config"]["use_ssl"] is False
    assert hook["alert_kinds"] == ["spend_spike", "error_rate"] and hook["enabled"] is True

    listed = (await client.get("/api/v1/channels", headers=tenant.headers())).json()["channels"]
    raw = str(listed) + str((await client.get(f"/api/v1/channels/{chat['id']}", headers=admin)).json())
    for secret in (SECRET, SLACK_URL, "hunter2-smtp-password", "XXXXXXXXsecret"):
        assert secret not in raw
    with context.db.session() as session:
        stored = {c.id: c for c in session.scalars(select(Channel))}
        audit = str([(a.action, a.details) for a in session.scalars(select(AuditEntry))])
    for channel in stored.values():
        row = str(channel.config) + str(channel.secrets_encrypted)
        for secret in (SECRET, SLACK_URL, "hunter2-smtp-password"):
            assert secret not in row
    assert "channel.create" in audit and SECRET not in audit and "hunter2" not in audit


async def test_members_read_admins_write_and_changes_are_audited(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, context: AppContext
) -> None:
    member = tenant.headers()  # ingest + read
    assert (await client.post("/api/v1/channels", json=webhook(), headers=member)).status_code == 403
    hook = await create(client, admin, webhook())
    assert (await client.get(f"/api/v1/channels/{hook['id']}", headers=member)).status_code == 200
    assert (
        await client.patch(f"/api/v1/channels/{hook['id']}", json={"enabled": False}, headers=member)
    ).status_code == 403
    assert (await client.post(f"/api/v1/channels/{hook['id']}/test", headers=member)).status_code == 403
    assert (await client.delete(f"/api/v1/channels/{hook['id']}", headers=member)).status_code == 403

    # A partial config change keeps the secret; a masked secret sent back means "unchanged".
    patched = await client.patch(
        f"/api/v1/channels/{hook['id']}",
        json={"name": "Renamed", "config": {"url": "https://other.example.com/in"}, "alert_kinds": []},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["config"] == {"url": "https://other.example.com/in", "signing_secret": "…cdef"}
    assert patched.json()["alert_kinds"] == []
    echoed = await client.patch(
        f"/api/v1/channels/{hook['id']}", json={"config": patched.json()["config"]}, headers=admin
    )
    assert echoed.json()["config"]["signing_secret"] == "…cdef"
    bad = await client.patch(
        f"/api/v1/channels/{hook['id']}", json={"config": {"url": "gopher://x"}}, headers=admin
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "config", "url"]
    kind = await client.patch(f"/api/v1/channels/{hook['id']}", json={"kind": "slack"}, headers=admin)
    assert kind.status_code == 422

    rotated = await client.patch(
        f"/api/v1/channels/{hook['id']}",
        json={"config": {"signing_secret": "a-brand-new-secret-9876"}},
        headers=admin,
    )
    assert rotated.json()["config"]["signing_secret"] == "…9876"
    with context.db.session() as session:
        actions = [
            a.action for a in session.scalars(select(AuditEntry).where(AuditEntry.target == hook["id"]))
        ]
    assert actions.count("channel.update") == 3 and "channel.create" in actions


async def test_channels_are_walled_off_between_organisations(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: Tenant,
    other_tenant: Tenant,
    context: AppContext,
) -> None:
    ours = await create(client, admin, webhook())
    theirs = other_tenant.headers()
    assert (await client.get("/api/v1/channels", headers=theirs)).json() == {"channels": []}
    for method, path in (
        ("GET", f"/api/v1/channels/{ours['id']}"),
        ("GET", f"/api/v1/channels/{ours['id']}/deliveries"),
    ):
        assert (await client.request(method, path, headers=theirs)).status_code == 404
    # Their admin cannot touch it either, nor name it in their budgets.
    with context.db.session() as session:
        _k, _p, secret = service.create_api_key(
            session, org_id=other_tenant.org_id, project_name="app", scopes=["read", "admin"]
        )
    their_admin = {"Authorization": f"Bearer {secret}"}
    for method, path in (
        ("PATCH", f"/api/v1/channels/{ours['id']}"),
        ("DELETE", f"/api/v1/channels/{ours['id']}"),
        ("POST", f"/api/v1/channels/{ours['id']}/test"),
    ):
        response = await client.request(method, path, headers=their_admin, json={"enabled": False})
        assert response.status_code == 404, (method, path)
    foreign = await client.post(
        "/api/v1/budgets",
        json={"name": "B", "period": "month", "limit": 5, "channel_ids": [ours["id"]]},
        headers=their_admin,
    )
    assert foreign.status_code == 422 and foreign.json()["detail"][0]["loc"] == ["body", "channel_ids"]
    assert (await client.get(f"/api/v1/channels/{ours['id']}", headers=admin)).json()["enabled"] is True


async def test_deleting_a_channel_takes_it_out_of_budgets(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, context: AppContext
) -> None:
    keep = await create(client, admin, webhook())
    drop = await create(client, admin, slack())
    budget = await create_budget(client, admin, channel_ids=[keep["id"], drop["id"]])
    assert (await client.delete(f"/api/v1/channels/{drop['id']}", headers=admin)).status_code == 204
    assert (await client.get(f"/api/v1/channels/{drop['id']}", headers=admin)).status_code == 404
    after = (await client.get(f"/api/v1/budgets/{budget['id']}", headers=admin)).json()
    assert after["channel_ids"] == [keep["id"]]
    assert [rule.channel_ids for rule in context.budgets.rules(tenant.org_id)] == [(keep["id"],)]


async def test_send_test_delivers_now_and_answers_the_result(
    client: httpx.AsyncClient, admin: dict[str, str], receiver: HttpReceiver, smtp: SmtpServer
) -> None:
    hook = await create(client, admin, webhook(url=receiver.url))
    result = await client.post(f"/api/v1/channels/{hook['id']}/test", headers=admin)
    assert result.status_code == 200, result.text
    assert result.json()["status"] == "ok" and result.json()["response_code"] == 200
    assert result.json()["attempt"] == 1 and result.json()["alert_id"] is None
    (request,) = receiver.requests
    assert verify_signature(
        SECRET,
        request.headers[TIMESTAMP_HEADER.lower()],
        request.body,
        request.headers[SIGNATURE_HEADER.lower()],
    )
    assert b'"kind":"test"' in request.body and b'"test":true' in request.body

    mail = await create(
        client,
        admin,
        email(host="127.0.0.1", port=smtp.port, use_starttls=False, username=None, password=None),
    )
    sent = (await client.post(f"/api/v1/channels/{mail['id']}/test", headers=admin)).json()
    assert sent["status"] == "ok", sent
    ((envelope, message),) = smtp.messages
    assert message["Subject"] == "[TokenOptimizer] Test notification from TokenOptimizer"
    assert envelope.rcpt_tos == ["finance@acme.example"]

    # A server without STARTTLS, when the channel asks for it: the failure is answered, not raised.
    strict = await create(
        client, admin, email(host="127.0.0.1", port=smtp.port, username=None, password=None)
    )
    failed = (await client.post(f"/api/v1/channels/{strict['id']}/test", headers=admin)).json()
    assert failed["status"] == "failed" and "STARTTLS" in failed["error"]
    assert len(smtp.messages) == 1

    log = (await client.get(f"/api/v1/channels/{strict['id']}/deliveries", headers=admin)).json()
    assert [d["status"] for d in log["deliveries"]] == ["failed"]


async def test_smtp_login_uses_the_stored_password(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    with SmtpServer(login=("alerts", "hunter2-smtp-password")) as server:
        mail = await create(client, admin, email(host="127.0.0.1", port=server.port, use_starttls=False))
        sent = (await client.post(f"/api/v1/channels/{mail['id']}/test", headers=admin)).json()
        assert sent["status"] == "ok", sent
        assert server.logins == ["alerts"] and len(server.messages) == 1

        wrong = await client.patch(
            f"/api/v1/channels/{mail['id']}", json={"config": {"password": "wrong-password"}}, headers=admin
        )
        assert wrong.status_code == 200
        refused = (await client.post(f"/api/v1/channels/{mail['id']}/test", headers=admin)).json()
        assert refused["status"] == "failed" and refused["response_code"] == 535, refused["error"]
        assert len(server.messages) == 1


async def test_delivery_log_is_paginated_newest_first(
    client: httpx.AsyncClient, admin: dict[str, str], receiver: HttpReceiver
) -> None:
    hook = await create(client, admin, webhook(url=receiver.url))
    for _ in range(5):
        assert (await client.post(f"/api/v1/channels/{hook['id']}/test", headers=admin)).status_code == 200
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get(f"/api/v1/channels/{hook['id']}/deliveries", params=params, headers=admin)
        ).json()
        seen += [d["id"] for d in page["deliveries"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 5
    bad = await client.get(f"/api/v1/channels/{hook['id']}/deliveries", params={"cursor": "x"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "cursor"]
    failed = await client.get(
        f"/api/v1/channels/{hook['id']}/deliveries", params={"status": "failed"}, headers=admin
    )
    assert failed.json()["deliveries"] == []
