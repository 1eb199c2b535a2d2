"""The usage-patterns and impact pages in a real browser, on a few events whose hours are known.

Events are sent at fixed local hours of the organisation's time zone (set to Asia/Kolkata, UTC+5:30,
so a wrong zone or a whole-hour offset shows up), with prompt hashes, users and latencies, and the
heatmap cell, the top-prompt row and the impact cards are checked against them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, LiveServer, assert_accessible
from tests.e2e.test_dashboard import log_in

ZONE = "Asia/Kolkata"
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
HOT_HASH = "9f86d081884c7d659a2feaa0c55ad015"  # 3 calls to gpt-4o at 14:xx local
COLD_HASH = "60303ae22b998861bce3b28f33eec1be"  # 1 call to gpt-4o-mini at 09:xx local


@dataclass
class PatternSeed:
    server: LiveServer
    weekday: int  # 1 = Monday, local
    hour: int  # local


def _screenshots(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=SCREENSHOTS / f"{name}-{size}.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def _patch_timezone(page: Page, server: LiveServer, zone: str) -> None:
    answer = page.request.patch(f"{server.url}/api/v1/organization", data={"timezone": zone})
    assert answer.ok, answer.text()


@pytest.fixture(scope="module")
def pattern_seed(live_server: LiveServer) -> PatternSeed:
    zone = ZoneInfo(ZONE)
    # Two days ago, local: always in the past and inside the default 30-day range.
    day = (datetime.now(zone) - timedelta(days=2)).date()

    def at(hour: int, minute: int) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)

    def event(ts: datetime, model: str, prompt_hash: str, user: str, end_user: str, latency: int) -> dict:
        return {
            "event_id": str(uuid.uuid4()),
            "ts": ts.astimezone(UTC).isoformat(),
            "provider": "openai",
            "model": model,
            "input_tokens": 2_000,
            "output_tokens": 500,
            "latency_ms": latency,
            "status": "ok",
            "feature": "support-chat",
            "user": user,
            "end_user": end_user,
            "prompt_hash": prompt_hash,
        }

    events = [
        event(at(14, 5), "gpt-4o", HOT_HASH, "alice", "customer-1", 700),
        event(at(14, 25), "gpt-4o", HOT_HASH, "alice", "customer-2", 900),
        event(at(14, 55), "gpt-4o", HOT_HASH, "bob", "customer-1", 1_100),
        event(at(9, 30), "gpt-4o-mini", COLD_HASH, "bob", "customer-3", 300),
    ]
    answer = httpx.post(
        f"{live_server.url}/api/v1/events",
        json={"events": events},
        headers={"Authorization": f"Bearer {live_server.ingest_key}"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    return PatternSeed(server=live_server, weekday=day.isoweekday(), hour=14)


def test_patterns_page_shows_the_heatmap_cell_and_top_prompt(page: Page, pattern_seed: PatternSeed) -> None:
    server = pattern_seed.server
    log_in(page, server)
    _patch_timezone(page, server, ZONE)
    try:
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Patterns").click()
        expect(page).to_have_url(f"{server.url}/patterns")
        expect(page.get_by_role("heading", name="Usage patterns")).to_be_visible()
        # The session's organisation was read before the change: reload to show the new zone.
        page.reload()
        expect(page.get_by_text(f"· {ZONE}", exact=False).first).to_be_visible()

        day = WEEKDAYS[pattern_seed.weekday - 1]
        hot = page.locator(f'td[data-weekday="{pattern_seed.weekday}"][data-hour="{pattern_seed.hour}"]')
        expect(hot).to_have_attribute("title", f"{day} 14:00–15:00: 3 requests")
        expect(hot).to_have_text("3")
        cold = page.locator(f'td[data-weekday="{pattern_seed.weekday}"][data-hour="9"]')
        expect(cold).to_have_attribute("title", f"{day} 09:00–10:00: 1 request")
        # The same calls in UTC would be at 08:xx and 04:xx: those cells are empty.
        expect(page.locator(f'td[data-weekday="{pattern_seed.weekday}"][data-hour="8"]')).to_have_text("0")

        # The toggle switches the heatmap to cost and keeps it in the URL.
        page.get_by_role("group", name="Heatmap metric").get_by_role("button", name="Cost").click()
        expect(page).to_have_url(re.compile(r"[?&]heat=cost(&|$)"))
        expect(page.get_by_role("heading", name="Cost by weekday and hour")).to_be_visible()
        expect(hot).to_have_attribute("title", re.compile(rf"^{day} 14:00–15:00: \$"))

        prompts = page.get_by_role("region", name="Top prompts")
        hot_row = prompts.locator(f'tr:has(th[title="{HOT_HASH}"])')
        expect(hot_row.locator("td").nth(1)).to_have_text("3")
        cold_row = prompts.locator(f'tr:has(th[title="{COLD_HASH}"])')
        expect(cold_row.locator("td").nth(1)).to_have_text("1")

        users = page.get_by_role("region", name="Top users")
        expect(users.get_by_role("rowheader", name="alice")).to_be_visible()
        expect(users.get_by_role("rowheader", name="bob")).to_be_visible()
        end_users = page.get_by_role("region", name="Top end-users")
        expect(end_users.get_by_role("rowheader", name="customer-1")).to_be_visible()
        expect(page.get_by_role("img", name=re.compile(r"^Requests per day: 4 in total"))).to_be_visible()
        assert_accessible(page, "patterns")
        _screenshots(page, "patterns")
    finally:
        _patch_timezone(page, server, "UTC")


def test_impact_page_shows_energy_for_a_known_model(page: Page, pattern_seed: PatternSeed) -> None:
    server = pattern_seed.server
    log_in(page, server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Impact").click()
    expect(page).to_have_url(f"{server.url}/impact")
    expect(page.get_by_role("heading", name="Impact", exact=True)).to_be_visible()

    cards = page.get_by_role("region", name="Impact figures").locator(":scope > div")
    energy = cards.filter(has=page.get_by_text("Energy", exact=True)).locator("p").nth(1)
    expect(energy).to_have_text(re.compile(r"^[\d.,]+ kWh$"))
    assert energy.inner_text() != "0 kWh"
    # No m² factor set in a new organisation: a hint to set it instead of a figure.
    hint = cards.filter(has=page.get_by_text("Restoration equivalent", exact=True))
    expect(hint.get_by_role("link", name="Settings", exact=True)).to_be_visible()

    table = page.get_by_role("region", name="By model")
    row = table.locator('tr:has(th:text-is("gpt-4o"))')
    expect(row.locator("td").nth(2)).to_have_text(re.compile(r"^[\d.,]+ kWh$"))
    expect(page.get_by_role("link", name="EcoLogits methodology")).to_be_visible()
    assert_accessible(page, "impact")
    _screenshots(page, "impact")


def test_settings_hide_the_view_pickers_and_set_the_restoration_factor(
    page: Page, pattern_seed: PatternSeed
) -> None:
    server = pattern_seed.server
    log_in(page, server)
    nav = page.get_by_role("navigation", name="Main")
    expect(page.get_by_label("Date range")).to_be_visible()
    nav.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    expect(page.get_by_label("Date range")).to_have_count(0)
    form = page.get_by_role("form", name="Organisation settings")
    expect(form.get_by_label("Fixed FX rate")).to_have_accessible_description(
        "Units of USD per 1 USD; empty to use ECB rates."
    )

    form.get_by_label("m² restored per kg CO2e").fill("2")
    form.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Settings saved.")).to_be_visible()

    nav.get_by_role("link", name="Impact").click()
    expect(page.get_by_label("Date range")).to_be_visible()
    cards = page.get_by_role("region", name="Impact figures").locator(":scope > div")
    restored = cards.filter(has=page.get_by_text("Restoration equivalent", exact=True))
    expect(restored.locator("p").nth(1)).to_have_text(re.compile(r"^[\d.,]+ m²$"))
    expect(restored).to_contain_text("2 m² per kg CO2e")
