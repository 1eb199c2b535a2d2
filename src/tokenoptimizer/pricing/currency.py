"""Display-currency conversion: costs are stored in USD and converted when shown or billed.

Rates come from the European Central Bank history shipped inside `currencyconverter` (offline;
updated by upgrading the package). ECB publishes EUR reference rates on working days, so a USD->X
rate on a date is X/EUR ÷ USD/EUR of that day; weekends and holidays use the last published rate
(the rate in force), dates before or after the shipped history use its first or last day. An
organisation's fixed rate wins over the ECB. The rate used is returned with every amount so it can
be stored beside the converted figure.

`currencyconverter` is a server-extra dependency and parses its file on first use (~0.5 s), so it
is imported and loaded lazily, once.
"""

from __future__ import annotations

import functools
import math
from datetime import date
from typing import Any

__all__ = ["convert_currency", "supported_currencies"]


@functools.cache
def _converter() -> Any:
    from currency_converter import CurrencyConverter

    return CurrencyConverter(
        fallback_on_wrong_date=True,
        fallback_on_missing_rate=True,
        fallback_on_missing_rate_method="last_known",
    )


def supported_currencies() -> frozenset[str]:
    """ISO 4217 codes the shipped ECB history covers (USD and EUR included)."""
    return frozenset(_converter().currencies)


@functools.lru_cache(maxsize=65536)
def _ecb_rate(currency: str, on: date) -> float:
    converter = _converter()
    if currency not in converter.currencies:
        raise ValueError(
            f"unknown currency {currency!r}; supported: {', '.join(sorted(converter.currencies))}"
        )
    return float(converter.convert(1.0, "USD", currency, date=on))


def convert_currency(
    amount_usd: float, currency: str, on: date, fixed_rate: float | None = None
) -> tuple[float, float]:
    """Convert a USD amount to `currency` at the rate of `on`.

    Args:
        amount_usd: Amount in USD.
        currency: ISO 4217 code (case-insensitive).
        on: The date whose rate applies (the event's date).
        fixed_rate: Units of `currency` per USD set by the organisation; wins over the ECB rate.

    Returns:
        `(amount, rate)` where `amount == amount_usd * rate` and `rate` is units of `currency` per USD.

    Raises:
        ValueError: Unknown currency (without a fixed rate), malformed code, or a non-positive fixed rate.
    """
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"currency must be a three-letter ISO 4217 code, got {currency!r}")
    if code == "USD":
        return amount_usd, 1.0
    if fixed_rate is not None:
        if not math.isfinite(fixed_rate) or fixed_rate <= 0:
            raise ValueError(f"fixed_rate must be a positive number, got {fixed_rate!r}")
        return amount_usd * fixed_rate, fixed_rate
    rate = _ecb_rate(code, on)
    return amount_usd * rate, rate
