"""The budget guard: reserve a call's worst-case cost before making it (`guard=True`).

Before a wrapped call the SDK asks the server to hold the call's worst case (`POST
/api/v1/reservations` with the model, the counted input tokens and the output bound). The server
answers 402 when a hard budget would be broken; the SDK then raises `BudgetExceeded` with the
server's message and the call is not made. After the call, the reservation is committed with the
recorded event's id (in the background, by the sender); the server holds the money until that
event arrives, or until the reservation expires.

The guard fails open: if the TokenOptimizer server cannot be reached within `guard_timeout`, the
call proceeds unguarded (logged once) — a monitoring outage must not take the app down. A call
without an output bound (`max_tokens` and friends) reserves `DEFAULT_MAX_OUTPUT_TOKENS` of output.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import httpx

from tokenoptimizer._version import __version__
from tokenoptimizer.sdk.attribution import Attribution
from tokenoptimizer.sdk.config import SdkConfig
from tokenoptimizer.sdk.requests import max_output_tokens, request_text
from tokenoptimizer.sdk.sender import Control

log = logging.getLogger("tokenoptimizer")

DEFAULT_MAX_OUTPUT_TOKENS = 4096
RESERVATIONS_PATH = "/api/v1/reservations"


class BudgetExceeded(Exception):
    """A hard budget would be broken by this call; the call was not made.

    Attributes:
        message: The server's explanation.
        budget_id: The budget that refused.
        budget_name: Its name.
        limit: Its limit, in `currency`.
        spent: Spent so far this period.
        reserved: Held by calls in flight.
        currency: The budget's currency.
    """

    def __init__(
        self,
        message: str,
        *,
        budget_id: str | None = None,
        budget_name: str | None = None,
        limit: float | None = None,
        spent: float | None = None,
        reserved: float | None = None,
        currency: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.budget_id = budget_id
        self.budget_name = budget_name
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.currency = currency

    @classmethod
    def from_response(cls, body: Mapping[str, Any]) -> BudgetExceeded:
        """Build from the server's 402 body."""
        name = body.get("budget_name")
        message = body.get("message") or f"budget {name or ''} exceeded".replace("  ", " ")
        return cls(
            str(message),
            budget_id=body.get("budget_id"),
            budget_name=name,
            limit=body.get("limit"),
            spent=body.get("spent"),
            reserved=body.get("reserved"),
            currency=body.get("currency"),
        )


class Guard:
    """Makes reservations for one configuration (a short-timeout HTTP client of its own)."""

    def __init__(self, config: SdkConfig) -> None:
        self.config = config
        self._http: httpx.Client | None = None
        self._lock = threading.Lock()
        self._warned = False

    def _client(self) -> httpx.Client:
        with self._lock:
            if self._http is None:
                self._http = httpx.Client(
                    base_url=self.config.base_url,
                    timeout=self.config.guard_timeout,
                    headers={
                        "Authorization": f"Bearer {self.config.api_key}",
                        "User-Agent": f"tokenoptimizer-python/{__version__}",
                    },
                )
            return self._http

    def reserve(
        self, *, provider: str, model: str, api: str, body: Mapping[str, Any], attribution: Attribution
    ) -> str | None:
        """Hold the call's worst case; return the reservation id (None when unguarded).

        Raises:
            BudgetExceeded: The server refused (402).
        """
        try:
            payload = self._payload(provider, model, api, body, attribution)
            response = self._client().post(RESERVATIONS_PATH, json=payload)
        except httpx.HTTPError as exc:
            self._fail_open(f"{type(exc).__name__}: {exc}")
            return None
        except Exception as exc:  # counting a strange request must not fail the call
            self._fail_open(f"could not prepare the reservation ({exc})")
            return None
        if response.status_code == 402:
            try:
                detail = response.json()
            except ValueError:
                detail = {"message": response.text}
            raise BudgetExceeded.from_response(detail if isinstance(detail, Mapping) else {})
        if response.status_code >= 300:
            self._fail_open(f"the server answered {response.status_code}: {response.text[:200]}")
            return None
        try:
            reservation_id = response.json()["reservation_id"]
        except (ValueError, KeyError, TypeError):
            self._fail_open("the server's answer has no reservation_id")
            return None
        return str(reservation_id)

    def _payload(
        self, provider: str, model: str, api: str, body: Mapping[str, Any], attribution: Attribution
    ) -> dict[str, Any]:
        from tokenoptimizer.tokens import count_message_tokens, count_text_tokens

        messages, prompt = request_text(api, body)
        if messages is not None:
            input_tokens = count_message_tokens(messages, model, provider).tokens
        else:
            input_tokens = count_text_tokens(prompt or "", model, provider).tokens
        bound = max_output_tokens(body)
        if bound is None:
            bound = 0 if api == "embeddings" else DEFAULT_MAX_OUTPUT_TOKENS
        scope: dict[str, str] = {"model": model}
        if self.config.project:
            scope["project"] = self.config.project
        feature = attribution.feature or self.config.default_feature
        for name, value in (
            ("feature", feature),
            ("user", attribution.user),
            ("end_user", attribution.end_user),
            ("team", attribution.team),
        ):
            if value:
                scope[name] = value[:200]
        return {
            "attribution": scope,
            "model": model,
            "provider": provider,
            "input_tokens": input_tokens,
            "max_output_tokens": bound,
        }

    def _fail_open(self, reason: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "tokenoptimizer: budget guard unavailable (%s); calls proceed without a reservation", reason
            )

    @staticmethod
    def commit(reservation_id: str, event_id: str) -> Control:
        """The request that commits a reservation with the recorded event's id."""
        return Control("POST", f"{RESERVATIONS_PATH}/{reservation_id}/commit", {"event_id": event_id})

    @staticmethod
    def release(reservation_id: str) -> Control:
        """The request that releases a reservation that no event will settle."""
        return Control("DELETE", f"{RESERVATIONS_PATH}/{reservation_id}")

    def close(self) -> None:
        """Close the HTTP client."""
        with self._lock:
            if self._http is not None:
                self._http.close()
                self._http = None
