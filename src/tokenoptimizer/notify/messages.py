"""What an alert looks like on each channel: a signed JSON body, a Slack message, an e-mail.

Pure functions over plain data (no I/O), so every format is tested without a server.

Webhook signatures follow Stripe's scheme: the signed payload is `"{timestamp}.{raw body}"`, so a
captured request cannot be replayed later with a fresh timestamp. Receivers recompute
`HMAC-SHA256(secret, f"{ts}.{body}")`, compare in constant time, and reject old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import orjson

SIGNATURE_HEADER = "X-TokenOptimizer-Signature"
TIMESTAMP_HEADER = "X-TokenOptimizer-Timestamp"
DELIVERY_HEADER = "X-TokenOptimizer-Delivery"
KIND_HEADER = "X-TokenOptimizer-Alert-Kind"

_SLACK_HEADER_LIMIT = 150  # Block Kit: a header's plain text is at most 150 characters
_SLACK_TEXT_LIMIT = 3000  # … and a section's text at most 3000
_SLACK_FIELDS_LIMIT = 10
_SEVERITY_ICONS = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}


@dataclass(frozen=True)
class AlertMessage:
    """An alert as it is sent: the stored alert's fields and its organisation's name."""

    id: str | None  # None for a test message
    org_id: str
    org_name: str
    kind: str
    severity: str
    title: str
    message: str
    created_at: datetime
    details: dict[str, Any] = field(default_factory=dict)
    budget_id: str | None = None

    @property
    def test(self) -> bool:
        """A test message sent from the channel's "send test" action."""
        return self.kind == "test"


def webhook_body(alert: AlertMessage) -> bytes:
    """The JSON body of a webhook call."""
    return orjson.dumps(
        {
            "type": "alert",
            "id": alert.id,
            "kind": alert.kind,
            "severity": alert.severity,
            "title": alert.title,
            "message": alert.message,
            "details": alert.details,
            "budget_id": alert.budget_id,
            "org": {"id": alert.org_id, "name": alert.org_name},
            "created_at": alert.created_at.isoformat(),
            "test": alert.test,
        },
        option=orjson.OPT_NON_STR_KEYS,
    )


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-TokenOptimizer-Signature` header: `sha256=` and the HMAC of `"{timestamp}.{body}"`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """Whether a received signature header is right (what a receiver does; used by the tests)."""
    try:
        expected = signature(secret, int(timestamp), body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, header)


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _detail_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "—"
    return "—" if value is None else str(value)


def slack_payload(alert: AlertMessage) -> dict[str, Any]:
    """A Slack incoming-webhook message: Block Kit blocks, and `text` for notifications and old clients."""
    icon = _SEVERITY_ICONS.get(alert.severity, "")
    fallback = f"{icon} [{alert.severity}] {alert.title}: {alert.message}".strip()
    fields = [
        {"type": "mrkdwn", "text": f"*Severity*\n{_slack_escape(alert.severity)}"},
        {"type": "mrkdwn", "text": f"*Organisation*\n{_slack_escape(alert.org_name)}"},
    ]
    for name, value in alert.details.items():
        if len(fields) >= _SLACK_FIELDS_LIMIT:
            break
        label = name.replace("_", " ").capitalize()
        fields.append(
            {"type": "mrkdwn", "text": _clip(f"*{label}*\n{_slack_escape(_detail_value(value))}", 2000)}
        )
    footer = f"TokenOptimizer · {alert.kind} · {alert.created_at:%Y-%m-%d %H:%M} UTC"
    return {
        "text": _clip(_slack_escape(fallback), _SLACK_TEXT_LIMIT),
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": _clip(alert.title, _SLACK_HEADER_LIMIT),
                    "emoji": True,
                },
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _clip(_slack_escape(alert.message), _SLACK_TEXT_LIMIT)},
            },
            {"type": "section", "fields": fields},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(footer)}]},
        ],
    }


def email_subject(alert: AlertMessage) -> str:
    """The subject line of an alert e-mail."""
    return f"[TokenOptimizer] {alert.title}"


def email_message(alert: AlertMessage, *, sender: str, recipients: list[str]) -> EmailMessage:
    """A plain-text e-mail of an alert."""
    message = EmailMessage()
    message["Subject"] = email_subject(alert)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(alert.created_at)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    lines = [
        alert.message,
        "",
        f"Organisation: {alert.org_name}",
        f"Severity: {alert.severity}",
        f"Kind: {alert.kind}",
        f"Raised at: {alert.created_at:%Y-%m-%d %H:%M:%S} UTC",
    ]
    if alert.details:
        lines += ["", "Details:"]
        lines += [f"  {name}: {_detail_value(value)}" for name, value in alert.details.items()]
    lines += ["", "-- ", "Sent by TokenOptimizer. Change where alerts go under Settings > Channels."]
    message.set_content("\n".join(lines))
    return message
