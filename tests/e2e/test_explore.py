"""The explore page in a real browser against a real server, on events whose costs are worked out by hand.

Events of three models fall in the last 30 days and in the 30 days before; the page is set to cost
per day by model, filtered on two of the models, compared with the previous period, and its
table must show the hand-computed totals, keep them in the URL and bring them back on reload.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, LiveServer, assert_accessible
from tests.e2e.test_dashboard import log_in, usd

# List prices in USD per million tokens (input, output), as the price catalogue has them.
PRICES = {
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
}
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Seed:
    model: str
    input_tokens: int
    output_tokens: int
    days_ago: float

    @property
    def cost(self) -> Decimal:
        rate_in, rate_out = PRICES[self.model]
        return (self.input_tokens * rate_in + self.output_tokens * rate_out) / MILLION


# The default range is the last 30 days (today included); the previous period is the 30 before.
SEEDS = [
    Seed("gpt-4o-mini", 1_200_000, 300_000, 0.1),  # 0.18 + 0.18 = 0.36
    Seed("gpt-4o-mini", 2_000_000, 500_000, 3),  # 0.30 + 0.30 = 0.60
    Seed("gpt-4o", 800_000, 150_000, 5),  # 2.00 + 1.50 = 3.50
    Seed("gpt-4.1", 1_000_000, 100_000, 2),  # 2.00 + 0.80 = 2.80, filtered out
    Seed("gpt-4o-mini", 400_000, 100_000, 35),  # previous period: 0.06 + 0.06 = 0.12
    Seed("gpt-4o", 200_000, 50_000, 40),  # previous period: 0.50 + 0.50 = 1.00
    Seed("gpt-4.1", 500_000, 0, 45),  # previous period: 1.00, filtered out
]
SHOWN = ("gpt-4o", "gpt-4o-mini")


def totals(model: str | None, previous: bool) -> Decimal:
    """Hand-computed cost of the shown models (one, or all with None) in a period."""
    return sum(
        (
            s.cost
            for s in SEEDS
            if (s.days_ago > 30) == previous and (s.model == model if model else s.model in SHOWN)
        ),
        Decimal(0),
    )


def percent(value: Decimal, places: int) -> str:
    """A ratio as the UI's formatPercent/formatChange write it in en-US (frontend/src/lib/format.ts)."""
    scaled = (value * 100).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    text = f"{scaled:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def change(model: str | None) -> str:
    now, before = totals(model, False), totals(model, True)
    ratio = (now - before) / before
    return "+" + percent(ratio, 1 if abs(ratio) < Decimal("0.1") else 0)


def test_the_hand_computed_figures() -> None:
    assert totals("gpt-4o", False) == Decimal("3.50")
    assert totals("gpt-4o-mini", False) == Decimal("0.96")
    assert totals(None, False) == Decimal("4.46")
    assert totals(None, True) == Decimal("1.12")
    assert [change("gpt-4o"), change("gpt-4o-mini"), change(None)] == ["+250%", "+700%", "+298%"]
    assert percent(Decimal("3.50") / Decimal("4.46"), 1) == "78.5%"


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    now = datetime.now(UTC).replace(microsecond=0)
    body = {
        "events": [
            {
                "event_id": str(uuid.uuid4()),
                "ts": (now - timedelta(days=seed.days_ago)).isoformat(),
                "provider": "openai",
                "model": seed.model,
                "input_tokens": seed.input_tokens,
                "output_tokens": seed.output_tokens,
                "latency_ms": 500,
                "status": "ok",
            }
            for seed in SEEDS
        ]
    }
    answer = httpx.post(
        f"{live_server.url}/api/v1/events",
        json=body,
        headers={"Authorization": f"Bearer {live_server.ingest_key}"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": len(SEEDS), "duplicates": 0}
    return live_server


def chart_ready(page: Page) -> None:
    expect(page.locator('[aria-labelledby="explore-chart-title"]')).to_have_attribute("data-ready", "true")


def table_row(page: Page, name: str) -> Locator:
    table = page.get_by_role("region", name=re.compile("^Totals$")).get_by_role("table")
    return table.locator("tbody tr").filter(has=page.get_by_role("rowheader", name=name, exact=True))


def expect_totals(page: Page) -> None:
    for model in SHOWN:
        now, before = totals(model, False), totals(model, True)
        expect(table_row(page, model).locator("td")).to_have_text(
            [usd(now), usd(before), change(model), percent(now / totals(None, False), 1)]
        )
    expect(table_row(page, "All").locator("td")).to_have_text(
        [usd(totals(None, False)), usd(totals(None, True)), change(None), "100%"]
    )
    expect(page.get_by_role("region", name=re.compile("^Totals$")).locator("tbody tr")).to_have_count(3)


def set_up_the_view(page: Page, server: LiveServer) -> None:
    log_in(page, server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Explore").click()
    expect(page.get_by_role("heading", name="Explore", exact=True)).to_be_visible()
    chart_ready(page)

    page.get_by_label("Metric").select_option("cost")
    page.get_by_label("Group by").select_option("model")
    page.get_by_label("Interval").select_option("day")
    page.get_by_label("Filter on").select_option("model")
    values = page.get_by_role("group", name="Values of Model")
    for model in SHOWN:
        values.get_by_role("button", name=model, exact=True).click()
        expect(values.get_by_role("button", name=model, exact=True)).to_have_attribute("aria-pressed", "true")
    # The checkbox shows the URL's state, which changes just after the click: click, then expect.
    page.get_by_label("Compare with the previous period").click()
    expect(page.get_by_label("Compare with the previous period")).to_be_checked()
    chart_ready(page)


def test_cost_by_model_with_a_filter_and_the_previous_period(page: Page, server: LiveServer) -> None:
    set_up_the_view(page, server)
    expect_totals(page)
    expect(page.get_by_role("button", name="Remove filter Model gpt-4o", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Remove filter Model gpt-4o-mini", exact=True)).to_be_visible()
    # Dashed lines of the previous period, one per model, drawn over the same days.
    expect(page.locator(".recharts-line-curve[stroke-dasharray]")).to_have_count(2)

    query = parse_qs(urlparse(page.url).query)
    assert query == {
        "model": ["gpt-4o", "gpt-4o-mini"],
        "group_by": ["model"],
        "interval": ["day"],
        "compare": ["previous_period"],
    }, page.url  # metric=cost and the 30-day range are the defaults, left out of the URL

    # The link alone brings the whole view back: in this tab after a reload, and in a new one.
    url = page.url
    page.reload()
    chart_ready(page)
    expect(page.get_by_label("Metric")).to_have_value("cost")
    expect(page.get_by_label("Group by")).to_have_value("model")
    expect(page.get_by_label("Interval")).to_have_value("day")
    expect(page.get_by_label("Compare with the previous period")).to_be_checked()
    expect_totals(page)
    assert page.url == url

    other = page.context.new_page()
    other.goto(url)
    chart_ready(other)
    expect_totals(other)
    other.close()

    # Another metric and chart type are kept in the URL too.
    page.get_by_label("Metric").select_option("requests")
    page.get_by_role("button", name="Bars", exact=True).click()
    chart_ready(page)
    expect(page).to_have_url(re.compile(r"[?&]metric=requests(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]chart=bar(&|$)"))
    expect(table_row(page, "All").locator("td").first).to_have_text("3")  # 2 + 1 calls of the shown models


def test_totals_export_as_csv(page: Page, server: LiveServer) -> None:
    set_up_the_view(page, server)
    expect_totals(page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export CSV").click()
    download = download_info.value
    assert re.fullmatch(
        r"explore-cost-totals-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename
    )
    text = download.path().read_bytes().decode("utf-8")
    rows = {row["series"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}
    assert set(rows) == {*SHOWN, "All"}
    for name, model in (("gpt-4o", "gpt-4o"), ("gpt-4o-mini", "gpt-4o-mini"), ("All", None)):
        assert abs(Decimal(rows[name]["Cost (USD)"]) - totals(model, False)) < Decimal("1e-9")
        assert abs(Decimal(rows[name]["previous period"]) - totals(model, True)) < Decimal("1e-9")


def test_explore_is_accessible_in_both_themes_and_on_a_phone(page: Page, server: LiveServer) -> None:
    set_up_the_view(page, server)
    expect_totals(page)
    assert_accessible(page, "explore (light)")
    page.get_by_role("button", name="Switch to dark theme").click()
    expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))
    assert_accessible(page, "explore (dark)")
    page.get_by_role("button", name="Switch to light theme").click()

    SCREENSHOTS.mkdir(exist_ok=True)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        chart_ready(page)
        expect(page.locator(".recharts-surface").first).to_be_visible()
        page.screenshot(path=SCREENSHOTS / f"explore-{name}.png", full_page=True)
        assert (SCREENSHOTS / f"explore-{name}.png").stat().st_size > 10_000

    # Everything can be reached with the keyboard: the metric select is a Tab stop away.
    page.set_viewport_size(DESKTOP)
    page.get_by_label("Metric").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Group by")).to_be_focused()


def test_overview_trend_overlays_the_previous_period(page: Page, server: LiveServer) -> None:
    log_in(page, server)
    trend = page.locator('[aria-labelledby="trend-title"]')
    expect(trend).to_have_attribute("data-ready", "true")
    expect(trend.locator("polyline.trend-previous")).to_have_count(0)
    trend.get_by_label("Previous period").click()
    expect(trend.get_by_label("Previous period")).to_be_checked()
    expect(page).to_have_url(re.compile(r"[?&]compare=previous_period(&|$)"))
    expect(trend).to_have_attribute("data-ready", "true")
    expect(trend.locator("polyline.trend-previous")).to_have_count(1)
    expect(trend.get_by_role("list", name="Legend")).to_contain_text("Previous period (total)")

    # The chart answers the keyboard: focus shows the last day's figures, Home the first day's.
    trend.get_by_role("img").focus()
    tip = trend.locator("[id$='-tip']")
    expect(tip).to_contain_text(re.compile(r"Previous period \(\w{3} \d+\)"))
    last = tip.text_content() or ""
    page.keyboard.press("Home")
    expect(tip).not_to_have_text(last)
    page.keyboard.press("End")
    expect(tip).to_have_text(last)
    assert_accessible(page, "overview with the previous period")
    page.screenshot(path=SCREENSHOTS / "overview-compare-desktop.png", full_page=True)
