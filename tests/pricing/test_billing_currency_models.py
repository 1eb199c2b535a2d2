from datetime import date

import pytest

from tokenoptimizer.pricing import billed_cost, convert_currency, list_models


def test_billed_cost_markup_then_fees() -> None:
    assert billed_cost(100.0) == 100.0
    assert billed_cost(100.0, markup_percent=15) == pytest.approx(115.0)
    assert billed_cost(100.0, markup_percent=15, fee_percents=[2.5]) == pytest.approx(100 * 1.15 * 1.025)
    assert billed_cost(0.0, markup_percent=15, fee_percents=[2.5]) == 0.0
    with pytest.raises(ValueError, match="cost_usd"):
        billed_cost(-1.0)
    with pytest.raises(ValueError, match="fee_percents"):
        billed_cost(1.0, fee_percents=[float("nan")])
    with pytest.raises(ValueError, match="markup_percent"):
        billed_cost(1.0, markup_percent=-101)


def test_convert_currency_ecb_history(no_network: None) -> None:
    # ECB reference rates on 2024-03-28: 1 EUR = 1.0811 USD, 1 EUR = 163.45 JPY.
    amount, rate = convert_currency(10.0, "EUR", date(2024, 3, 28))
    assert rate == pytest.approx(1 / 1.0811)
    assert amount == pytest.approx(10.0 / 1.0811)
    amount, rate = convert_currency(10.0, "jpy", date(2024, 3, 28))
    assert rate == pytest.approx(163.45 / 1.0811)
    # 2024-03-30 is a Saturday: the last published (Thursday 28th, Good Friday closed) rate applies.
    assert convert_currency(10.0, "EUR", date(2024, 3, 30))[1] == pytest.approx(1 / 1.0811)


def test_convert_currency_edges() -> None:
    assert convert_currency(12.5, "USD", date(2024, 1, 1)) == (12.5, 1.0)
    assert convert_currency(10.0, "EUR", date(2024, 1, 1), fixed_rate=0.9) == (pytest.approx(9.0), 0.9)
    # A fixed rate works for currencies the ECB does not publish.
    assert convert_currency(10.0, "AED", date(2024, 1, 1), fixed_rate=3.6725)[0] == pytest.approx(36.725)
    # Beyond the shipped history, the last known rate is used.
    assert convert_currency(1.0, "EUR", date(2099, 1, 1))[1] > 0
    with pytest.raises(ValueError, match="unknown currency"):
        convert_currency(1.0, "XYZ", date(2024, 1, 1))
    with pytest.raises(ValueError, match="ISO 4217"):
        convert_currency(1.0, "EURO", date(2024, 1, 1))
    with pytest.raises(ValueError, match="fixed_rate"):
        convert_currency(1.0, "EUR", date(2024, 1, 1), fixed_rate=0)


def test_list_models_filters_and_prices() -> None:
    rows = list_models(q="gpt-4o-mini", provider="openai")
    row = next(r for r in rows if r.model == "gpt-4o-mini")
    assert (row.input_per_mtok, row.cached_input_per_mtok, row.output_per_mtok) == (0.15, 0.075, 0.6)
    assert row.context_window == 128000
    assert all(r.provider == "openai" for r in rows)
    claude = next(
        r for r in list_models(q="claude-sonnet-4-5", provider="anthropic") if r.model == "claude-sonnet-4-5"
    )
    assert (claude.cache_write_per_mtok, claude.tiered) == (3.75, True)
    assert {r.provider for r in list_models(q="nova-pro")} >= {"bedrock"}
    assert list_models(provider="aws") == list_models(provider="bedrock")
    assert len(list_models()) > 1000
