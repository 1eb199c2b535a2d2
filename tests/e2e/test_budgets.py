"""Budgets, alerts, notification channels, the gateway's settings and wallets in a real browser.

Issue 6's acceptance test: a budget created through the UI form counts spend ingested through the
REST API; crossing its thresholds raises alerts that the header's bell shows, and acknowledging
them in the UI clears it. The other tests drive the settings of issue 7 (a webhook channel whose
"Send test" reaches a real local receiver; upstreams and routing rules) and the wallets page.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, ConsoleErrors, LiveServer, assert_accessible

BUDGET = "E2E monthly"
LIMIT = "0.10"
# gpt-4o lists at $2.50/M input and $10/M output tokens: 10,000 × 2.5e-6 + 6,000 × 10e-6
# = $0.025 + $0.060 = $0.085, i.e. 85 % of $0.10: past the 50 % and 80 % thresholds, not 100 %.
INPUT_TOKENS, OUTPUT_TOKENS = 10_000, 6_000
SPENT = "$0.085"
PERCENT = 85
UNPROCESSABLE = "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"


def log_in(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("E-mail").fill(server.email)
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def open_page(page: Page, link: str, heading: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=link).click()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def ingest_gpt4o(server: LiveServer) -> None:
    body = {
        "events": [
            {
                "event_id": str(uuid.uuid4()),
                "ts": (datetime.now(UTC) - timedelta(seconds=5)).replace(microsecond=0).isoformat(),
                "provider": "openai",
                "model": "gpt-4o",
                "input_tokens": INPUT_TOKENS,
                "output_tokens": OUTPUT_TOKENS,
                "latency_ms": 800,
            }
        ]
    }
    answer = httpx.post(
        f"{server.url}/api/v1/events",
        json=body,
        headers={"Authorization": f"Bearer {server.ingest_key}"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text


def unread_alerts(server: LiveServer) -> int:
    answer = httpx.get(
        f"{server.url}/api/v1/alerts",
        params={"unread": "true", "limit": 1},
        headers={"Authorization": f"Bearer {server.ingest_key}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["unread_count"])


def wait_for_unread(server: LiveServer, count: int, timeout: float = 20) -> None:
    """Alerts are recorded by the budget service's own thread, just after the events are stored."""
    deadline = time.monotonic() + timeout
    while (found := unread_alerts(server)) != count:
        assert time.monotonic() < deadline, f"{found} unread alerts, expected {count}"
        time.sleep(0.2)


def screenshots(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=SCREENSHOTS / f"{name}-{size}.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def test_budget_created_in_the_ui_alerts_past_80_percent_and_the_alert_is_acknowledged(
    page: Page, live_server: LiveServer, console_errors: ConsoleErrors
) -> None:
    # Logged out, a protected page sends to the login without a 401 in the console (the app asks
    # /auth/session, which answers 200 either way); sign-up is not offered once an owner exists.
    page.goto(f"{live_server.url}/budgets")
    expect(page).to_have_url(f"{live_server.url}/login?next=%2Fbudgets")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("button", name="Create the owner account")).to_have_count(0)
    page.get_by_label("E-mail").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name="Budgets", exact=True)).to_be_visible()
    empty = page.get_by_role("main")
    expect(empty.get_by_text("No budgets yet")).to_be_visible()
    assert_accessible(page, "budgets (empty)")
    empty.get_by_role("button", name="Create budget").click()

    form = page.get_by_role("form", name="Create a budget")
    name = form.get_by_label("Name", exact=True)
    expect(name).to_be_focused()
    expect(form.get_by_role("list", name="Thresholds").get_by_role("listitem")).to_have_text(
        ["50%", "80%", "100%"]
    )
    expect(form.get_by_label("Period", exact=True)).to_have_value("month")
    # The browser's own checks first: nothing is sent without a name and a limit.
    form.get_by_role("button", name="Create budget").click()
    expect(name).to_have_accessible_description("Give the budget a name.")
    expect(form.get_by_label("Limit (USD)")).to_have_accessible_description("Enter the limit, e.g. 500.")
    # Then the API's: a limit above its maximum comes back as a 422 shown on the field.
    name.fill(BUDGET)
    limit = form.get_by_label("Limit (USD)")
    limit.fill("1e13")
    form.get_by_role("button", name="Create budget").click()
    expect(limit).to_have_accessible_description(re.compile("less than or equal to 1000000000000"))
    expect(limit).to_have_attribute("aria-invalid", "true")
    console_errors.take_expected(UNPROCESSABLE, f"{live_server.url}/api/v1/budgets")
    limit.fill(LIMIT)
    assert_accessible(page, "budget form")
    form.get_by_role("button", name="Create budget").click()
    expect(page.get_by_role("status").filter(has_text=f"Budget “{BUDGET}” created.")).to_be_visible()

    row = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=BUDGET))
    expect(row).to_contain_text("Whole organisation")
    expect(row).to_contain_text("alert")
    expect(row).to_contain_text("Monthly")
    bar = row.get_by_role("progressbar", name=f"{BUDGET} spent")
    expect(bar).to_have_attribute("aria-valuenow", "0")
    expect(bar).to_have_attribute("data-tone", "ok")
    bell = page.get_by_role("link", name=re.compile("^Alerts"))
    expect(bell).to_have_accessible_name("Alerts")
    expect(page.get_by_test_id("alerts-badge")).to_have_count(0)

    # 85 % of the limit at once: the 50 % and the 80 % thresholds are both crossed, one alert each.
    ingest_gpt4o(live_server)
    wait_for_unread(live_server, 2)
    page.reload()
    expect(page.get_by_test_id("alerts-badge")).to_have_text("2")
    expect(bell).to_have_accessible_name("Alerts, 2 unread")
    expect(bar).to_have_attribute("aria-valuenow", str(PERCENT))
    expect(bar).to_have_attribute("aria-valuetext", f"{PERCENT}% of the limit")
    expect(bar).to_have_attribute("data-tone", "warn")
    expect(bar.get_by_test_id("budget-bar-fill")).to_have_class(re.compile(r"\bbg-amber-500\b"))
    expect(bar.get_by_test_id("budget-bar-fill")).to_have_attribute("style", f"width: {PERCENT}%;")
    expect(row).to_contain_text(f"{SPENT} of $0.10")
    expect(row).to_contain_text("Remaining$0.015")
    assert_accessible(page, "budgets")
    screenshots(page, "budgets")

    # The overview shows the budget's bar too.
    open_page(page, "Overview", "Overview")
    overview_bar = page.get_by_role("region", name="Budgets").get_by_role(
        "progressbar", name=f"{BUDGET} spent"
    )
    expect(overview_bar).to_have_attribute("aria-valuenow", str(PERCENT))

    # The budget's own page: figures, the chart of cumulative spend, its alerts.
    open_page(page, "Budgets", "Budgets")
    page.get_by_role("link", name=BUDGET, exact=True).click()
    expect(page.get_by_role("heading", name=BUDGET, level=1)).to_be_visible()
    chart = page.get_by_role(
        "img", name=re.compile(rf"^Cumulative spend \{SPENT} against a limit of \$0\.10")
    )
    expect(chart.locator(".recharts-line")).to_have_count(2)  # spent and forecast
    expect(
        page.get_by_role("list", name="Latest alerts of this budget").get_by_role("article")
    ).to_have_count(2)
    assert_accessible(page, "budget detail")
    screenshots(page, "budget-detail")

    bell.click()
    expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    alerts = page.get_by_role("list", name="Alerts").get_by_role("article")
    expect(alerts).to_have_count(2)
    expect(alerts.get_by_role("heading")).to_have_text(
        [f"Budget '{BUDGET}' reached 80%", f"Budget '{BUDGET}' reached 50%"]
    )
    eighty = alerts.filter(has_text="reached 80%")
    expect(eighty).to_have_attribute("data-severity", "warning")
    expect(eighty).to_contain_text("has reached 80% of its $0.10 limit")
    assert_accessible(page, "alerts")

    eighty.get_by_role("button", name=f"Acknowledge: Budget '{BUDGET}' reached 80%").click()
    expect(eighty).to_contain_text("Acknowledged by you")
    expect(page.get_by_test_id("alerts-badge")).to_have_text("1")
    alerts.filter(has_text="reached 50%").get_by_role("button", name=re.compile("^Acknowledge")).click()
    expect(page.get_by_test_id("alerts-badge")).to_have_count(0)
    expect(bell).to_have_accessible_name("Alerts")
    assert unread_alerts(live_server) == 0

    page.get_by_role("group", name="Show").get_by_role("button", name="Unread").click()
    expect(page.get_by_text("No unread alerts")).to_be_visible()
    page.get_by_role("group", name="Show").get_by_role("button", name="All").click()
    expect(alerts).to_have_count(2)
    screenshots(page, "alerts")

    page.get_by_role("button", name="Switch to dark theme").click()
    assert_accessible(page, "alerts (dark theme)")
    page.screenshot(path=SCREENSHOTS / "alerts-dark.png", full_page=True)
    open_page(page, "Budgets", "Budgets")
    expect(bar).to_have_attribute("data-tone", "warn")
    assert_accessible(page, "budgets (dark theme)")
    page.screenshot(path=SCREENSHOTS / "budgets-dark.png", full_page=True)
    page.get_by_role("link", name=BUDGET, exact=True).click()
    expect(page.get_by_role("img", name=re.compile("^Cumulative spend"))).to_be_visible()
    assert_accessible(page, "budget detail (dark theme)")
    page.get_by_role("button", name="Switch to light theme").click()


def test_budget_scope_errors_edit_and_delete(
    page: Page, live_server: LiveServer, console_errors: ConsoleErrors
) -> None:
    log_in(page, live_server)
    open_page(page, "Budgets", "Budgets")
    page.get_by_role("main").get_by_role("button", name="Create budget").first.click()
    form = page.get_by_role("form", name="Create a budget")
    form.get_by_label("Name", exact=True).fill("Web app daily")
    form.get_by_label("Limit (USD)").fill("2")
    form.get_by_label("Period", exact=True).select_option("day")
    form.get_by_role("button", name="Add condition").click()
    value = form.get_by_label("Condition 1 value (Project)")
    expect(value).to_be_focused()
    value.fill("no-such-project")
    # Thresholds are chips: remove one, add one (Enter adds, it does not submit).
    form.get_by_role("button", name="Remove threshold 50%").click()
    new_threshold = form.get_by_label("New threshold (%)")
    new_threshold.fill("90")
    new_threshold.press("Enter")
    new_threshold.fill("90")
    form.get_by_role("button", name="Add threshold").click()
    expect(new_threshold).to_have_accessible_description("90% is already a threshold.")
    expect(form.get_by_role("list", name="Thresholds").get_by_role("listitem")).to_have_text(
        ["80%", "90%", "100%"]
    )
    form.get_by_text("Block", exact=True).click()
    screenshots(page, "budget-form")

    # The API knows no such project: its 422 lands on the condition's row.
    form.get_by_role("button", name="Create budget").click()
    expect(value).to_have_accessible_description("no project 'no-such-project' in this organisation")
    console_errors.take_expected(UNPROCESSABLE, f"{live_server.url}/api/v1/budgets")
    value.fill("web-app")
    form.get_by_role("button", name="Create budget").click()
    row = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Web app daily"))
    expect(row).to_contain_text("Project web-app")
    expect(row).to_contain_text("block")
    expect(row).to_contain_text("Daily")
    # Today's spend of the project counts at once (the first test's call, if it ran before).
    expect(row).to_contain_text(re.compile(r"Spent\$[0-9.]+ of \$2\.00"))

    row.get_by_role("button", name="Edit budget Web app daily").click()
    edit = page.get_by_role("form", name="Edit budget Web app daily")
    expect(edit.get_by_label("Condition 1 value (Project)")).to_have_value("web-app")
    edit.get_by_label("Limit (USD)").fill("5")
    edit.get_by_role("button", name="Save budget").click()
    expect(row).to_contain_text(re.compile(r"Spent\$[0-9.]+ of \$5\.00"))

    row.get_by_role("button", name="Delete budget Web app daily").click()
    confirm = row.get_by_role("alertdialog", name="Delete budget Web app daily")
    expect(confirm.get_by_role("button", name="Delete", exact=True)).to_be_focused()
    confirm.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("heading", name="Web app daily")).to_have_count(0)
    budgets = httpx.get(
        f"{live_server.url}/api/v1/budgets",
        headers={"Authorization": f"Bearer {live_server.ingest_key}"},
        timeout=30,
    ).json()["budgets"]
    assert "Web app daily" not in [b["name"] for b in budgets]


# -- notification channels and the gateway (settings) ---------------------------------------------


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver: answers 200 and keeps what it was sent."""

    received: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, str], bytes]]]]:
    received: list[tuple[str, dict[str, str], bytes]] = []
    handler = type("Handler", (Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/e2e", received
    finally:
        server.shutdown()
        server.server_close()


def open_settings_section(page: Page, section: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings sections").get_by_role("link", name=section).click()
    expect(page.get_by_role("link", name=section, exact=True)).to_have_attribute("aria-current", "page")


def test_webhook_channel_send_test_reaches_the_receiver_and_is_logged(
    page: Page,
    live_server: LiveServer,
    webhook_receiver: tuple[str, list[tuple[str, dict[str, str], bytes]]],
) -> None:
    url, received = webhook_receiver
    log_in(page, live_server)
    open_settings_section(page, "Notifications")
    expect(page.get_by_text("No notification channels")).to_be_visible()
    page.get_by_role("button", name="Add channel").click()
    form = page.get_by_role("form", name="Add a notification channel")
    form.get_by_label("Name", exact=True).fill("E2E hook")
    form.get_by_label("Webhook URL").fill(url)
    form.get_by_label("Signing secret").fill("too short")
    form.get_by_role("button", name="Add channel").click()
    expect(form.get_by_label("Signing secret")).to_have_accessible_description(
        "At least 16 characters: use Generate for a random one."
    )
    form.get_by_role("button", name="Generate").click()
    secret = form.get_by_label("Signing secret").input_value()
    assert re.fullmatch(r"[0-9a-f]{48}", secret)
    form.get_by_role("button", name="Add channel").click()

    channel = page.get_by_role("listitem", name="Channel E2E hook")
    expect(channel).to_contain_text(url)
    expect(channel).to_contain_text("Spend spike, Error rate")
    assert secret not in page.content()  # write-only: never shown again
    assert_accessible(page, "notification channels")

    channel.get_by_role("button", name="Send test to E2E hook").click()
    result = channel.get_by_role("status", name="Test result of E2E hook")
    expect(result).to_contain_text(re.compile(r"^Test delivered: HTTP 200 in \d+ ms$"))
    assert len(received) == 1
    path, headers, body = received[0]
    assert path == "/hooks/e2e"
    assert "X-TokenOptimizer-Signature" in headers
    assert b"test" in body.lower()

    channel.get_by_role("button", name="Delivery log").click()
    log = channel.get_by_role("table", name="Delivery log of E2E hook")
    expect(log.locator("tbody tr")).to_have_count(1)
    expect(log.locator("tbody tr")).to_contain_text("Delivered: HTTP 200")
    screenshots(page, "settings-notifications")

    # Editing keeps the stored secret when none is typed: the next test is still signed.
    channel.get_by_role("button", name="Edit channel E2E hook").click()
    edit = page.get_by_role("form", name="Edit channel E2E hook")
    expect(edit.get_by_label("Signing secret")).to_have_value("")
    edit.get_by_label("Name", exact=True).fill("E2E hook renamed")
    edit.get_by_role("checkbox", name="Spend spike").uncheck()
    edit.get_by_role("button", name="Save channel").click()
    renamed = page.get_by_role("listitem", name="Channel E2E hook renamed")
    expect(renamed).to_contain_text("Error rate")
    expect(renamed).not_to_contain_text("Spend spike")
    renamed.get_by_role("button", name="Send test to E2E hook renamed").click()
    expect(renamed.get_by_role("status", name="Test result of E2E hook renamed")).to_contain_text(
        "Test delivered"
    )
    # Wait on the receiver, not the page: the first result can still show for an instant after the click.
    deadline = time.monotonic() + 10
    while len(received) < 2:
        assert time.monotonic() < deadline, "the second test message never arrived"
        time.sleep(0.1)
    assert "X-TokenOptimizer-Signature" in received[1][1]

    # The budget form offers the channel.
    open_page(page, "Budgets", "Budgets")
    page.get_by_role("main").get_by_role("button", name="Create budget").first.click()
    budget_form = page.get_by_role("form", name="Create a budget")
    expect(
        budget_form.get_by_role("group", name="Notify").get_by_role("checkbox", name="E2E hook renamed")
    ).not_to_be_checked()
    budget_form.get_by_role("button", name="Cancel").click()

    open_settings_section(page, "Notifications")
    renamed = page.get_by_role("listitem", name="Channel E2E hook renamed")
    renamed.get_by_role("button", name="Delete channel E2E hook renamed").click()
    renamed.get_by_role("alertdialog").get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_text("No notification channels")).to_be_visible()
    page.get_by_role("button", name="Switch to dark theme").click()
    assert_accessible(page, "notification channels (dark theme)")
    page.get_by_role("button", name="Switch to light theme").click()


def test_gateway_upstream_key_is_write_only_and_rules_route_to_it(
    page: Page, live_server: LiveServer, console_errors: ConsoleErrors
) -> None:
    provider_key = "sk-e2e-provider-key-9876"
    log_in(page, live_server)
    open_settings_section(page, "Gateway")
    page.get_by_role("button", name="Add upstream").click()
    form = page.get_by_role("form", name="Add an upstream")
    form.get_by_label("Name", exact=True).fill("openai-e2e")
    form.get_by_label("Base URL").fill("https://api.openai.com/v1/")
    form.get_by_label("API key").fill(provider_key)
    form.get_by_label("Allowed models").fill("gpt-4o, gpt-4o-mini")
    form.get_by_role("button", name="Add upstream").click()
    upstreams = page.get_by_role("table", name="Upstreams")
    row = upstreams.locator("tbody tr").filter(has_text="openai-e2e")
    expect(row).to_contain_text("https://api.openai.com/v1")
    expect(row).to_contain_text("…9876")
    expect(row).to_contain_text("gpt-4o, gpt-4o-mini")
    assert provider_key not in page.content()
    listed = httpx.get(
        f"{live_server.url}/api/v1/upstreams",
        headers={"Authorization": f"Bearer {live_server.ingest_key}"},
        timeout=30,
    )
    assert listed.status_code == 200 and provider_key not in listed.text

    page.get_by_role("button", name="Add rule").click()
    rule_form = page.get_by_role("form", name="Add a routing rule")
    rule_form.get_by_role("button", name="Add rule").click()
    expect(rule_form.get_by_label("To model")).to_have_accessible_description(
        "A rule needs a model to serve instead, an upstream or a fallback."
    )
    rule_form.get_by_label("From model").fill("gpt-4o")
    rule_form.get_by_label("To model").fill("gpt-4o-mini")
    rule_form.get_by_label("Upstream", exact=True).select_option(label="openai-e2e (openai)")
    rule_form.get_by_role("button", name="Add rule").click()
    rules = page.get_by_role("table", name="Routing rules")
    rule = rules.locator("tbody tr").filter(has_text="gpt-4o → gpt-4o-mini")
    expect(rule).to_contain_text("gpt-4o → gpt-4o-mini via openai-e2e")
    expect(rule).to_contain_text("whole organisation")
    assert_accessible(page, "gateway settings")
    screenshots(page, "settings-gateway")

    rule.get_by_role("button", name="Edit rule gpt-4o").click()
    edit = page.get_by_role("form", name="Edit routing rule gpt-4o")
    edit.get_by_label("Priority").fill("5")
    edit.get_by_role("button", name="Save rule").click()
    expect(rule.get_by_role("cell").first).to_have_text("5")

    # The upstream is still used by the rule: the API refuses, the row says why.
    row.get_by_role("button", name="Delete upstream openai-e2e").click()
    row.get_by_role("alertdialog").get_by_role("button", name="Delete", exact=True).click()
    expect(row.get_by_role("alert")).to_contain_text("Not deleted:")
    console_errors.take_expected(
        "Failed to load resource: the server responded with a status of 409 (Conflict)",
        f"{live_server.url}/api/v1/upstreams/{listed.json()[0]['id']}",
    )
    rule.get_by_role("button", name="Delete rule gpt-4o").click()
    rule.get_by_role("alertdialog").get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_text("No routing rules")).to_be_visible()
    # The confirmation stayed open with the refusal: confirming again now works.
    row.get_by_role("alertdialog").get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_text("No upstreams")).to_be_visible()


# -- wallets --------------------------------------------------------------------------------------


def test_wallet_created_topped_up_with_its_ledger(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server)
    open_page(page, "Wallets", "Wallets")
    expect(page.get_by_text("No wallets yet")).to_be_visible()
    assert_accessible(page, "wallets (empty)")
    page.get_by_role("main").get_by_role("button", name="Create wallet").click()
    form = page.get_by_role("form", name="Create a wallet")
    form.get_by_label("Name", exact=True).fill("E2E credits")
    form.get_by_label("Initial balance (USD)").fill("10")
    form.get_by_role("checkbox", name=re.compile("^Auto-refill")).check()
    form.get_by_label("Refill amount (USD)").fill("20")
    form.get_by_role("button", name="Create wallet").click()
    expect(form.get_by_label("When below (USD)")).to_have_accessible_description(
        "Refill when the balance falls below an amount, or every day, week or month (or both)."
    )
    form.get_by_label("When below (USD)").fill("2")
    form.get_by_role("checkbox", name=re.compile("^Block when empty")).check()
    form.get_by_role("button", name="Create wallet").click()

    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="E2E credits"))
    expect(card.get_by_test_id("wallet-balance")).to_have_text("$10.00")
    expect(card).to_contain_text("Organisation")
    expect(card).to_contain_text("Blocks calls when empty")
    expect(card).to_contain_text("Refills $20.00 when below $2.00")
    expect(card.get_by_role("button", name="Buy credits")).to_have_count(0)  # no Stripe configured

    card.get_by_role("button", name="Top up").click()
    top_up = card.get_by_role("form", name="Top up E2E credits")
    top_up.get_by_label("Amount (USD)").fill("5")
    top_up.get_by_label("Note (optional)").fill("e2e invoice")
    top_up.get_by_role("button", name="Credit wallet").click()
    expect(card.get_by_test_id("wallet-balance")).to_have_text("$15.00")

    card.get_by_role("button", name="Ledger").click()
    ledger = card.get_by_role("table", name="Ledger of E2E credits")
    rows = ledger.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Top-up")
    expect(rows.nth(0)).to_contain_text("+$5.00")
    expect(rows.nth(0)).to_contain_text("$15.00")
    expect(rows.nth(0)).to_contain_text("e2e invoice")
    expect(rows.nth(1)).to_contain_text("+$10.00")
    assert_accessible(page, "wallets")
    screenshots(page, "wallets")
