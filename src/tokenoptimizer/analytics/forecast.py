"""Projecting daily spend: a linear trend times a weekday profile, with an interval.

Pure functions over plain numbers. LLM spend is weekly-seasonal (weekends are quiet) and often
growing, so a straight line through the daily series over- or under-shoots depending on which
weekdays are left in the week. The model, fitted to the last weeks of complete days:

* weekday factors `f[w]`: spend on weekday `w` relative to the centred 7-day average around it
  (so growth does not leak into the profile), normalised to average 1, used from two weeks of
  history on;
* a least-squares line through the deseasonalised series `y / f[w]` over the last four weeks;
* day `t` is forecast as `max(0, a + b·t) · f[w]`; the interval takes the residuals' spread,
  scaled by `f[w]` and added in quadrature over the days projected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

Z_80 = 1.2816  # two-sided 80 % normal quantile
TREND_DAYS = 28
SEASONAL_MIN_DAYS = 14


@dataclass(frozen=True)
class DailyModel:
    """A fitted model of daily spend."""

    first_day: date
    intercept: float
    slope: float
    factors: tuple[float, ...]  # by weekday, Monday = 0
    sigma: float  # residual standard deviation of the deseasonalised series

    def mean(self, day: date) -> float:
        """Expected spend of a day."""
        t = (day - self.first_day).days
        return max(0.0, self.intercept + self.slope * t) * self.factors[day.weekday()]

    def sd(self, day: date) -> float:
        """Standard deviation of a day's spend."""
        return self.sigma * self.factors[day.weekday()]


def fit(first_day: date, values: list[float]) -> DailyModel:
    """Fit the model to complete days `first_day, first_day + 1, …`."""
    y = np.asarray(values, dtype=float)
    weekdays = np.array([(first_day + timedelta(days=i)).weekday() for i in range(len(y))], dtype=int)
    factors = _weekday_factors(y, weekdays)
    safe = np.where(factors[weekdays] > 0, factors[weekdays], 1.0)
    z = y / safe
    t = np.arange(len(y), dtype=float)
    recent = slice(max(0, len(y) - TREND_DAYS), len(y))
    if len(y) == 0:
        return DailyModel(first_day, 0.0, 0.0, tuple(factors.tolist()), 0.0)
    if len(y) < 3:
        level = float(z.mean())
        return DailyModel(first_day, level, 0.0, tuple(factors.tolist()), float(z.std()))
    slope, intercept = np.polyfit(t[recent], z[recent], 1)
    residuals = z[recent] - (intercept + slope * t[recent])
    dof = max(len(residuals) - 2, 1)
    sigma = float(math.sqrt(float((residuals**2).sum()) / dof))
    return DailyModel(first_day, float(intercept), float(slope), tuple(factors.tolist()), sigma)


def _weekday_factors(y: np.ndarray, weekdays: np.ndarray) -> np.ndarray:
    """Each weekday's spend relative to the centred 7-day average around it, normalised to mean 1.

    Dividing by the surrounding week's average rather than the overall mean keeps growth out of
    the profile (otherwise later weekdays of a growing series would look busier).
    """
    if len(y) < SEASONAL_MIN_DAYS:
        return np.ones(7)
    weekly = np.convolve(y, np.ones(7) / 7, mode="valid")  # weekly[j] is centred on day j + 3
    centre = np.arange(3, 3 + len(weekly))
    usable = weekly > 0
    if not usable.any():
        return np.ones(7)
    ratios = y[centre][usable] / weekly[usable]
    days = weekdays[centre][usable]
    factors = np.array([ratios[days == w].mean() if (days == w).any() else 1.0 for w in range(7)])
    return factors / factors.mean() if factors.mean() > 0 else np.ones(7)


@dataclass(frozen=True)
class Projected:
    """Spend still to come over some days: expected value and 80 % interval half-width."""

    value: float
    half_width: float


def project(model: DailyModel, today: date, today_remaining: float, last_day: date) -> Projected:
    """Spend expected from now to the end of `last_day`; `today_remaining` is the part of today left."""
    value = 0.0
    variance = 0.0
    day = today
    while day <= last_day:
        weight = today_remaining if day == today else 1.0
        value += weight * model.mean(day)
        variance += (weight * model.sd(day)) ** 2
        day += timedelta(days=1)
    return Projected(value, Z_80 * math.sqrt(variance))


def exhaustion_day(
    model: DailyModel,
    *,
    today: date,
    today_remaining: float,
    spent: float,
    budget: float,
    last_day: date,
) -> date | None:
    """The first day on which spend reaches `budget` at the expected rate (None: not by `last_day`)."""
    total = spent
    day = today
    while day <= last_day:
        total += (today_remaining if day == today else 1.0) * model.mean(day)
        if total >= budget:
            return day
        day += timedelta(days=1)
    return None
