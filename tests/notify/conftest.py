"""Notification test fixtures: short retry backoff, real receivers, and the budget helpers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.budgets.conftest import admin, dollar_model  # noqa: F401  (fixtures used by these tests)
from tests.notify.receivers import HttpReceiver, SmtpServer
from tokenoptimizer.server.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings, with retries a few milliseconds apart."""
    return settings.model_copy(update={"notify_backoff_seconds": 0.05, "notify_timeout_seconds": 5.0})


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server
