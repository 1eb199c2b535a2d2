"""The settings page in a real browser against a real server: API keys and price overrides end to end.

A key created in the UI is read off the page and used to ingest, then revoked in the UI and refused.
An event of a model the catalogue does not know is stored at cost 0; a custom price added in the UI
and a re-price run from the UI give it its cost, and the overview's unpriced banner goes away.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, ConsoleErrors, LiveServer, assert_accessible

UNPRICED_PROVIDER = "acme"
UNPRICED_MODEL = "acme-llm-e2e"
# 1,000,000 input tokens at $2/M + 500,000 output tokens at $4/M = $2.00 + $2.00.
INPUT_TOKENS, OUTPUT_TOKENS = 1_000_000, 500_000
INPUT_PER_M, OUTPUT_PER_M = "2", "4"
REPRICED_COST = "$4.00"


def event_body(model: str = "gpt-4o-mini", provider: str = "openai") -> dict[str, object]:
    return {
        "events": [
            {
                "event_id": str(uuid.uuid4()),
                "ts": (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat(),
                "provider": provider,
                "model": model,
                "input_tokens": INPUT_TOKENS,
                "output_tokens": OUTPUT_TOKENS,
                "latency_ms": 500,
            }
        ]
    }


def post_event(server: LiveServer, key: str, body: dict[str, object] | None = None) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/events",
        json=body or event_body(),
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def log_in(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("E-mail").fill(server.email)
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def open_settings(page: Page, server: LiveServer) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(server.url)}/settings"))
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()


def test_api_key_created_in_the_ui_ingests_until_revoked_in_the_ui(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server)
    open_settings(page, live_server)

    form = page.get_by_role("form", name="Create an API key")
    form.get_by_label("Project").fill("e2e-keys")
    form.get_by_label("Key name").fill("e2e ingest key")
    # "ingest" is ticked by default; the key needs nothing else.
    expect(form.get_by_role("checkbox", name="ingest")).to_be_checked()
    form.get_by_role("button", name="Create key").click()

    shown = page.get_by_role("region", name="New API key")
    expect(shown).to_contain_text("Store this key now: it is shown only this once.")
    expect(shown.get_by_role("button", name="Copy key")).to_be_visible()
    key = shown.get_by_label("Secret key").input_value()
    assert len(key) > 20

    answer = post_event(live_server, key)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": 1, "duplicates": 0}

    shown.get_by_role("button", name="I have stored it").click()
    expect(shown).to_be_hidden()  # the secret is gone from the page

    table = page.get_by_role("table", name="API keys")
    row = table.locator("tbody tr").filter(has_text="e2e ingest key")
    expect(row).to_contain_text("e2e-keys")
    expect(row).to_contain_text("ingest")
    expect(row).to_contain_text("Active")
    row.get_by_role("button", name="Revoke key e2e ingest key").click()
    confirm = row.get_by_role("alertdialog", name="Revoke key e2e ingest key")
    expect(confirm.get_by_role("button", name="Revoke", exact=True)).to_be_focused()
    confirm.get_by_role("button", name="Revoke", exact=True).click()
    expect(row).to_contain_text("Revoked")
    expect(row.get_by_role("button", name=re.compile("^Revoke"))).to_have_count(0)

    refused = post_event(live_server, key)
    assert refused.status_code == 401, refused.text


@pytest.fixture
def unpriced_event(live_server: LiveServer) -> str:
    body = event_body(UNPRICED_MODEL, UNPRICED_PROVIDER)
    answer = post_event(live_server, live_server.ingest_key, body)
    assert answer.status_code == 202, answer.text
    events = body["events"]
    assert isinstance(events, list)
    return str(events[0]["event_id"])


def event_cost(server: LiveServer, event_id: str) -> tuple[float, str]:
    answer = httpx.get(
        f"{server.url}/api/v1/events",
        params={"model": UNPRICED_MODEL, "limit": 50},
        headers={"Authorization": f"Bearer {server.ingest_key}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    event = next(e for e in answer.json()["items"] if e["event_id"] == event_id)
    return event["cost_usd"], event["price_source"]


def test_custom_price_and_reprice_in_the_ui_give_an_unpriced_model_its_cost(
    page: Page, live_server: LiveServer, unpriced_event: str, console_errors: ConsoleErrors
) -> None:
    assert event_cost(live_server, unpriced_event) == (0.0, "unknown")
    log_in(page, live_server)
    banner = page.get_by_role("status").filter(has_text="no known price")
    expect(banner).to_contain_text(f"{UNPRICED_PROVIDER}/{UNPRICED_MODEL}")

    open_settings(page, live_server)
    form = page.get_by_role("form", name="Add a price override")
    page.get_by_role("button", name=f"Price {UNPRICED_PROVIDER}/{UNPRICED_MODEL}").click()
    expect(form.get_by_label("Model", exact=True)).to_have_value(UNPRICED_MODEL)
    expect(form.get_by_label("Provider")).to_have_value(UNPRICED_PROVIDER)

    # The API's own validation is shown: a custom price needs an input or an output price.
    form.get_by_role("button", name="Add override").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Not added: a custom_model override needs input_per_mtok or output_per_mtok"
    )
    console_errors.take_expected(  # that 422 is on purpose; Chromium logs it
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)",
        f"{live_server.url}/api/v1/price-overrides",
    )
    # A price the API refuses is marked on its field (the message is the input's description).
    input_price = form.get_by_label("Input $/M tokens")
    input_price.fill("-1")
    form.get_by_role("button", name="Add override").click()
    expect(input_price).to_have_accessible_description(re.compile("greater than or equal to 0"))
    expect(input_price).to_have_attribute("aria-invalid", "true")
    console_errors.take_expected(
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)",
        f"{live_server.url}/api/v1/price-overrides",
    )
    form.get_by_label("Input $/M tokens").fill(INPUT_PER_M)
    form.get_by_label("Output $/M tokens").fill(OUTPUT_PER_M)
    form.get_by_label("Note").fill("self-hosted, e2e")
    form.get_by_role("button", name="Add override").click()
    expect(page.get_by_role("status").filter(has_text="Override added")).to_be_visible()
    overrides = page.get_by_role("table", name="Price overrides")
    expect(overrides.locator("tbody tr").filter(has_text=UNPRICED_MODEL)).to_contain_text(
        "in $2.00 · out $4.00 per M"
    )

    reprice = page.get_by_role("form", name="Re-price events")
    reprice.get_by_label("Only model").fill(UNPRICED_MODEL)
    reprice.get_by_role("button", name="Re-price").click()
    result = page.get_by_role("status", name="Re-price result")
    expect(result).to_contain_text("1 event in the range, 1 changed.")
    expect(result).to_contain_text(f"Change+{REPRICED_COST}")

    cost, source = event_cost(live_server, unpriced_event)
    assert cost == pytest.approx(4.0)
    assert source.startswith("override:")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Logs").click()
    row = page.get_by_role("table").locator("tbody tr").filter(has_text=UNPRICED_MODEL)
    expect(row).to_contain_text(REPRICED_COST)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="no known price")).to_have_count(0)


def test_organisation_settings_show_field_errors_then_save(
    page: Page, live_server: LiveServer, console_errors: ConsoleErrors
) -> None:
    log_in(page, live_server)
    open_settings(page, live_server)
    form = page.get_by_role("form", name="Organisation settings")
    expect(form.get_by_label("Time zone")).to_have_value("UTC")
    expect(page.get_by_role("table", name="API keys")).to_be_visible()
    assert_accessible(page, "settings")

    # Out of the API's range (-100 to 1000): refused with a 422, shown next to the field.
    markup = form.get_by_label("Markup %")
    markup.fill("5000")
    form.get_by_role("button", name="Save settings").click()
    expect(markup).to_have_accessible_description(re.compile("less than or equal to 1000"))
    console_errors.take_expected(
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)",
        f"{live_server.url}/api/v1/organization",
    )

    markup.fill("0")
    form.get_by_label("Time zone").select_option("Europe/Berlin")
    form.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Settings saved.")).to_be_visible()
    expect(page.get_by_text("· Europe/Berlin ·")).to_be_visible()
    org = httpx.get(
        f"{live_server.url}/api/v1/organization",
        headers={"Authorization": f"Bearer {live_server.ingest_key}"},
        timeout=30,
    ).json()
    assert org["timezone"] == "Europe/Berlin"

    SCREENSHOTS.mkdir(exist_ok=True)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=SCREENSHOTS / f"settings-{name}.png", full_page=True)
    # Back to UTC: the other tests of this module read days in UTC.
    form.get_by_label("Time zone").select_option("UTC")
    form.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Settings saved.")).to_be_visible()


def test_performance_page_shows_percentiles_and_errors_by_feature(
    page: Page, live_server: LiveServer
) -> None:
    latencies = [100, 200, 300, 400, 1000]  # p50 300 ms; p95 400 + 0.8 × 600 = 880 ms (numpy's linear)
    now = datetime.now(UTC).replace(microsecond=0)
    body = {
        "events": [
            {
                "event_id": str(uuid.uuid4()),
                "ts": (now - timedelta(minutes=10 + i)).isoformat(),
                "provider": "openai",
                "model": "gpt-4o-mini",
                "input_tokens": 100,
                "output_tokens": 10,
                "latency_ms": latency,
                "time_to_first_token_ms": latency // 2,
                "feature": "perf-e2e",
                "status": "error" if i == 4 else "ok",
                "error_type": "timeout" if i == 4 else None,
            }
            for i, latency in enumerate(latencies)
        ]
    }
    answer = post_event(live_server, live_server.ingest_key, body)
    assert answer.status_code == 202, answer.text

    log_in(page, live_server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Performance").click()
    expect(page.get_by_role("heading", name="Performance")).to_be_visible()
    page.get_by_label("Group by").select_option("feature")
    expect(page).to_have_url(re.compile(r"[?&]by=feature(&|$)"))
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="perf-e2e", exact=True))
    cells = row.get_by_role("cell")
    expect(cells.nth(0)).to_have_text("5")  # requests
    expect(cells.nth(1)).to_have_text("80%")  # success
    expect(cells.nth(2)).to_have_text("300 ms")  # p50
    expect(cells.nth(4)).to_have_text("880 ms")  # p95
    expect(cells.nth(6)).to_have_text("150 ms")  # TTFT p50
    expect(cells.nth(8)).to_have_text("timeout 1")
    expect(page.get_by_role("region", name="Errors by type")).to_contain_text("timeout")
    assert_accessible(page, "performance")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "performance-desktop.png", full_page=True)
    page.get_by_role("button", name="Switch to dark theme").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("table", name="API keys")).to_be_visible()
    assert_accessible(page, "settings (dark theme)")
    page.screenshot(path=SCREENSHOTS / "settings-dark.png", full_page=True)
