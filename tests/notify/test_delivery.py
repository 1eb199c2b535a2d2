"""Alerts reach real receivers (signed webhook, Slack, e-mail); failures are retried and logged."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.budgets.conftest import create_budget, dollars, spend
from tests.conftest import Tenant
from tests.notify.receivers import HttpReceiver, Received, SmtpServer
from tokenoptimizer.notify.messages import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)
from tokenoptimizer.server.context import AppContext

SECRET = "whsec_acceptance_0123456789"


async def channel(client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any]) -> str:
    response = await client.post("/api/v1/channels", json=body, headers=admin)
    assert response.status_code == 201, response.text
    channel_id: str = response.json()["id"]
    return channel_id


async def webhook_channel(client: httpx.AsyncClient, admin: dict[str, str], url: str, name: str) -> str:
    config = {"url": url, "signing_secret": SECRET}
    return await channel(
        client, admin, {"name": name, "kind": "webhook", "config": config, "alert_kinds": []}
    )


async def deliveries(
    client: httpx.AsyncClient, headers: dict[str, str], channel_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/channels/{channel_id}/deliveries", headers=headers)
    assert response.status_code == 200, response.text
    log: list[dict[str, Any]] = response.json()["deliveries"]
    return sorted(log, key=lambda d: d["attempt"])


def signed(request: Received) -> bool:
    return verify_signature(
        SECRET,
        request.headers[TIMESTAMP_HEADER.lower()],
        request.body,
        request.headers[SIGNATURE_HEADER.lower()],
    )


async def settle(context: AppContext) -> None:
    await asyncio.to_thread(context.budgets.wait_idle)
    assert await asyncio.to_thread(context.notifier.wait_idle, 30)


async def test_crossing_80_percent_notifies_every_channel_once_and_failures_are_retried_and_logged(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: Tenant,
    context: AppContext,
    dollar_model: str,
    smtp: SmtpServer,
) -> None:
    with (
        HttpReceiver() as hook,
        HttpReceiver() as slack,
        HttpReceiver(statuses=[500, 500]) as flaky,
        HttpReceiver(then=503) as broken,
    ):
        hook_id = await webhook_channel(client, admin, hook.url, "Ops webhook")
        slack_id = await channel(
            client,
            admin,
            {
                "name": "Slack #spend",
                "kind": "slack",
                "config": {"webhook_url": slack.url},
                "alert_kinds": [],
            },
        )
        mail_id = await channel(
            client,
            admin,
            {
                "name": "Finance mail",
                "kind": "email",
                "alert_kinds": [],
                "config": {
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "from_address": "alerts@acme.example",
                    "to": ["finance@acme.example", "cto@acme.example"],
                    "use_starttls": False,
                },
            },
        )
        await create_budget(
            client, admin, name="Monthly", limit=10, thresholds=[80], channel_ids=[hook_id, slack_id, mail_id]
        )

        # $12 in twelve concurrent requests: 80% ($8) is crossed once, by whichever request gets there.
        await asyncio.gather(*(spend(client, tenant, dollars(1)) for _ in range(12)))
        await settle(context)

        (request,) = hook.requests
        assert signed(request)
        body = json.loads(request.body)
        assert body["kind"] == "budget_threshold" and body["severity"] == "warning"
        assert body["title"] == "Budget 'Monthly' reached 80%"
        assert body["org"] == {"id": tenant.org_id, "name": "Acme"}
        assert body["details"]["limit"] == 10 and body["test"] is False
        alerts = (await client.get("/api/v1/alerts", headers=admin)).json()["alerts"]
        assert [a["id"] for a in alerts] == [body["id"]]

        (message,) = slack.requests
        payload = json.loads(message.body)
        assert "Budget 'Monthly' reached 80%" in payload["text"]
        assert [block["type"] for block in payload["blocks"]] == ["header", "section", "section", "context"]
        assert payload["blocks"][0]["text"] == {
            "type": "plain_text",
            "text": "Budget 'Monthly' reached 80%",
            "emoji": True,
        }
        assert SIGNATURE_HEADER.lower() not in message.headers

        ((envelope, mail),) = smtp.messages
        assert mail["Subject"] == "[TokenOptimizer] Budget 'Monthly' reached 80%"
        assert envelope.mail_from == "alerts@acme.example"
        assert envelope.rcpt_tos == ["finance@acme.example", "cto@acme.example"]
        assert "has reached 80% of its $10.00 limit" in mail.get_content()

        for channel_id in (hook_id, slack_id, mail_id):
            log = await deliveries(client, tenant.headers(), channel_id)
            assert [(d["attempt"], d["status"], d["alert_id"]) for d in log] == [(1, "ok", body["id"])]

        # A receiver answering 500 twice, then 200; one always answering 503.
        flaky_id = await webhook_channel(client, admin, flaky.url, "Flaky")
        broken_id = await webhook_channel(client, admin, broken.url, "Broken")
        await create_budget(
            client, admin, name="Second", limit=100, thresholds=[20], channel_ids=[flaky_id, broken_id]
        )
        await spend(client, tenant, dollars(10))  # $12 → $22 of $100: crosses 20%
        await settle(context)

        assert len(flaky.requests) == 3 and all(signed(r) for r in flaky.requests)
        assert len({r.headers[DELIVERY_HEADER.lower()] for r in flaky.requests}) == 1  # one delivery id
        log = await deliveries(client, admin, flaky_id)
        assert [(d["attempt"], d["status"], d["response_code"], d["will_retry"]) for d in log] == [
            (1, "failed", 500, True),
            (2, "failed", 500, True),
            (3, "ok", 200, False),
        ]
        assert "HTTP 500" in log[0]["error"]

        attempts = context.settings.notify_attempts
        assert len(broken.requests) == attempts
        log = await deliveries(client, admin, broken_id)
        assert [(d["attempt"], d["status"], d["response_code"]) for d in log] == [
            (n, "failed", 503) for n in range(1, attempts + 1)
        ]
        assert [d["will_retry"] for d in log] == [True] * (attempts - 1) + [False]
        assert "HTTP 503" in log[-1]["error"] and "receiver says no" in log[-1]["error"]
        failed = await client.get(
            f"/api/v1/channels/{broken_id}/deliveries", params={"status": "failed"}, headers=admin
        )
        assert len(failed.json()["deliveries"]) == attempts

        # The first budget's channels heard nothing more.
        assert len(hook.requests) == len(slack.requests) == len(smtp.messages) == 1


async def test_permanent_failures_are_not_retried_and_unreachable_receivers_are(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, context: AppContext, dollar_model: str
) -> None:
    with HttpReceiver(then=404) as gone:
        gone_id = await webhook_channel(client, admin, gone.url, "Gone")
        # Nothing listens on a closed receiver's port: the connection is refused.
        with HttpReceiver() as closed:
            dead_url = closed.url
        dead_id = await webhook_channel(client, admin, dead_url, "Dead")
        await create_budget(client, admin, limit=10, thresholds=[50], channel_ids=[gone_id, dead_id])
        await spend(client, tenant, dollars(6))
        await settle(context)

        assert len(gone.requests) == 1
        (only,) = await deliveries(client, admin, gone_id)
        assert only["status"] == "failed" and only["response_code"] == 404 and only["will_retry"] is False
        dead = await deliveries(client, admin, dead_id)
        assert len(dead) == context.settings.notify_attempts
        assert all(d["response_code"] is None and "ConnectError" in d["error"] for d in dead)


async def test_disabled_channels_get_nothing_and_subscriptions_pick_alert_kinds(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant, context: AppContext, dollar_model: str
) -> None:
    with (
        HttpReceiver() as named,
        HttpReceiver() as subscribed,
        HttpReceiver() as other,
        HttpReceiver() as off,
    ):
        named_id = await webhook_channel(client, admin, named.url, "Named by the budget")
        await channel(
            client,
            admin,
            {
                "name": "All budget alerts",
                "kind": "webhook",
                "config": {"url": subscribed.url, "signing_secret": SECRET},
                "alert_kinds": ["budget_threshold"],
            },
        )
        await channel(
            client,
            admin,
            {
                "name": "Spikes only",
                "kind": "webhook",
                "config": {"url": other.url, "signing_secret": SECRET},
            },
        )
        off_id = await webhook_channel(client, admin, off.url, "Disabled")
        patched = await client.patch(f"/api/v1/channels/{off_id}", json={"enabled": False}, headers=admin)
        assert patched.status_code == 200
        await create_budget(client, admin, limit=10, thresholds=[50], channel_ids=[named_id, off_id])
        await spend(client, tenant, dollars(6))
        await settle(context)
        assert (len(named.requests), len(subscribed.requests), len(other.requests), len(off.requests)) == (
            1,
            1,
            0,
            0,
        )
