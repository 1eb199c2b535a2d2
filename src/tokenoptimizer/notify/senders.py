"""Sending one message to one channel, once: a webhook call, a Slack post, an e-mail.

Each sender returns an `Outcome` and never raises for a failed delivery: retrying, and logging
every attempt, is the notifier's job. An outcome says whether trying again can help: a server
error, a timeout or a refused connection can pass; a 404 or a rejected SMTP login will not.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from tokenoptimizer.notify.messages import (
    DELIVERY_HEADER,
    KIND_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    AlertMessage,
    email_message,
    signature,
    slack_payload,
    webhook_body,
)

USER_AGENT = "TokenOptimizer-Notifications/1"
_RETRYABLE_HTTP = frozenset({408, 425, 429})
_MAX_RETRY_AFTER = 60.0


@dataclass(frozen=True)
class Outcome:
    """How one delivery attempt went."""

    ok: bool
    response_code: int | None = None
    error: str | None = None
    retryable: bool = True
    retry_after: float | None = None
    """Seconds the receiver asked us to wait (HTTP `Retry-After`), if it did."""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), _MAX_RETRY_AFTER)
    except ValueError:
        return None  # an HTTP date: rare enough to fall back to our own backoff


def _http_outcome(response: httpx.Response) -> Outcome:
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(ok=True, response_code=code)
    body = response.text.strip().replace("\n", " ")[:300]
    return Outcome(
        ok=False,
        response_code=code,
        error=f"HTTP {code} {response.reason_phrase}" + (f": {body}" if body else ""),
        retryable=code >= 500 or code in _RETRYABLE_HTTP,
        retry_after=_retry_after(response),
    )


def _post(client: httpx.Client, url: str, **kwargs: Any) -> Outcome:
    try:
        response = client.post(url, **kwargs)
    except httpx.TimeoutException as exc:
        return Outcome(ok=False, error=f"timed out ({type(exc).__name__})")
    except httpx.InvalidURL as exc:
        return Outcome(ok=False, error=f"invalid URL: {exc}", retryable=False)
    except httpx.HTTPError as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:1000])
    return _http_outcome(response)


def send_webhook(
    client: httpx.Client, url: str, signing_secret: str, alert: AlertMessage, delivery_id: str
) -> Outcome:
    """POST the alert as signed JSON.

    `delivery_id` is the same for every retry of one alert to one channel, so a receiver can
    drop duplicates (a retry after a timeout may follow a request that did arrive).
    """
    body = webhook_body(alert)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature(signing_secret, timestamp, body),
        TIMESTAMP_HEADER: str(timestamp),
        DELIVERY_HEADER: delivery_id,
        KIND_HEADER: alert.kind,
    }
    return _post(client, url, content=body, headers=headers)


def send_slack(client: httpx.Client, webhook_url: str, alert: AlertMessage) -> Outcome:
    """POST the alert to a Slack incoming webhook (Block Kit, with a plain-text fallback)."""
    return _post(client, webhook_url, json=slack_payload(alert), headers={"User-Agent": USER_AGENT})


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send e-mail."""

    host: str
    port: int
    sender: str
    recipients: list[str]
    username: str | None = None
    password: str | None = None
    use_starttls: bool = True
    use_ssl: bool = False


def _smtp_outcome(exc: Exception) -> Outcome:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(f"{address} ({code})" for address, (code, _msg) in exc.recipients.items())
        return Outcome(ok=False, error=f"recipients refused: {refused}", retryable=False)
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return Outcome(
            ok=False,
            response_code=exc.smtp_code,
            error=f"SMTP {exc.smtp_code}: {text}"[:1000],
            retryable=not 500 <= exc.smtp_code < 600,  # 4xx: try later; 5xx: permanent
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Outcome(ok=False, error=f"SMTP server: {exc}", retryable=False)
    if isinstance(exc, ssl.SSLError):
        return Outcome(ok=False, error=f"TLS error: {exc}"[:1000], retryable=False)
    if isinstance(exc, TimeoutError):
        return Outcome(ok=False, error="timed out")
    return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:1000])


def send_email(smtp: SmtpSettings, alert: AlertMessage, *, timeout: float) -> Outcome:
    """Send the alert as an e-mail over SMTP (implicit TLS, STARTTLS or plain, with optional login)."""
    message: EmailMessage = email_message(alert, sender=smtp.sender, recipients=smtp.recipients)
    context = ssl.create_default_context()
    try:
        client: smtplib.SMTP = (
            smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=context)
            if smtp.use_ssl
            else smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        )
        with client:
            if smtp.use_starttls:
                client.starttls(context=context)
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        return _smtp_outcome(exc)
    return Outcome(ok=True, response_code=250)
