"""Sending one message over one channel: email over SMTP, and webhooks (generic signed JSON, Microsoft
Teams, Slack). No database here: the sender works from a snapshot, so it can run on a worker thread.

A send returns only when the channel accepted the message (SMTP took it for delivery, the webhook
answered 2xx); anything else raises ``DeliveryFailed``, whose text never holds the webhook's URL (Teams and
Slack URLs are credentials). Webhooks reach only the destinations ``notify.egress`` allows, checked on the
address actually connected to; email headers are built so no field value can add a header or a recipient. Every message carries its idempotency key
(email: ``Message-ID`` and ``X-Idempotency-Key``; webhooks: the ``Idempotency-Key`` header and the
payload), so a receiver can drop a copy that a crash between sending and marking made us send again.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import requests

from incident_service.database import is_unreadable
from incident_service.notify.egress import SCHEMES, EgressAdapter, EgressPolicy, refusal_in, url_hint
from incident_service.notify.models import ChannelKind, EventKind
from incident_service.textcheck import one_line

USER_AGENT = "incident-service-notify/1"
SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"


class DeliveryFailed(Exception):
    """The channel did not accept the message. ``permanent``: retrying cannot help (e.g. 404, 550)."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Transport:
    kind: ChannelKind
    name: str
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: str = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    from_address: str | None = None
    url: str | None = None
    secret: str | None = None
    allowed_hosts: tuple[str, ...] = ()  # WEBHOOK_ALLOWED_HOSTS


@dataclass(frozen=True)
class Outgoing:
    message_id: int
    idempotency_key: str
    recipient: str
    attempt: int
    sent_at: datetime
    event_kind: EventKind
    subject: str
    text_zh: str
    text_en: str
    link: str | None
    facts: dict[str, Any]
    transport: Transport


def send(out: Outgoing, *, timeout: float) -> None:
    if out.transport.kind == ChannelKind.email:
        send_email(out, timeout=timeout)
    else:
        send_webhook(out, timeout=timeout)


# --- email -------------------------------------------------------------------------------------------

def email_message(out: Outgoing) -> EmailMessage:
    """Every header value is one line (an incident title with a line break cannot add a Bcc or a second body)."""
    msg = EmailMessage()
    msg["Subject"] = one_line(out.subject, limit=300)
    msg["From"] = one_line(out.transport.from_address or "incident-service@localhost")
    msg["To"] = one_line(out.recipient)
    msg["Date"] = format_datetime(out.sent_at)
    msg["Message-ID"] = f"<{out.idempotency_key}@incident-service>"
    msg["X-Idempotency-Key"] = out.idempotency_key
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(f"{out.text_zh}\n\n{out.text_en}\n\n-- \nidempotency key: {out.idempotency_key}\n", charset="utf-8")
    return msg


def send_email(out: Outgoing, *, timeout: float) -> None:
    t = out.transport
    if not t.smtp_host:
        raise DeliveryFailed("the email channel has no SMTP host", permanent=True)
    try:
        if t.smtp_security == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(t.smtp_host, t.smtp_port or 465, timeout=timeout,
                                                    context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(t.smtp_host, t.smtp_port or 25, timeout=timeout)
        with server:
            if t.smtp_security == "starttls":
                server.starttls(context=ssl.create_default_context())
            if t.smtp_username:
                if is_unreadable(t.smtp_password):
                    raise DeliveryFailed("the channel's SMTP password cannot be decrypted (KEY-001)", permanent=True)
                server.login(t.smtp_username, t.smtp_password or "")
            server.send_message(email_message(out))
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise DeliveryFailed(f"SMTP refused {out.recipient}: {codes}", permanent=all(c >= 500 for c in codes)) from exc
    except smtplib.SMTPResponseException as exc:
        raise DeliveryFailed(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:300]) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"SMTP {t.smtp_host}:{t.smtp_port}: {exc.__class__.__name__}: {exc}"[:300]) from exc


# --- webhooks ----------------------------------------------------------------------------------------

def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def generic_payload(out: Outgoing) -> dict[str, Any]:
    """Our own JSON: the event's fields, the texts, the key; ``sent_at`` and ``attempt`` are signed too."""
    return {"idempotency_key": out.idempotency_key, **out.facts, "subject": out.subject, "text_zh": out.text_zh,
            "text_en": out.text_en, "attempt": out.attempt,
            "sent_at": out.sent_at.isoformat().replace("+00:00", "Z")}


def _facts(out: Outgoing) -> list[tuple[str, str]]:
    f = out.facts
    rows = [("Incident", f"#{f['incident_id']} {f.get('incident_title', '')}" if f.get("incident_id") else None),
            ("Clock 時限", f"{f.get('clock_label_zh', '')} {f.get('clock_label_en', '')}".strip() or None),
            ("Due 期限", f.get("due_at_local")), ("Key", out.idempotency_key)]
    return [(k, str(v)) for k, v in rows if v]


def teams_payload(out: Outgoing) -> dict[str, Any]:
    """A message with one adaptive card: what Teams incoming webhooks (and Workflows) accept."""
    urgent = out.event_kind in (EventKind.escalation, EventKind.vendor_duty_breached)
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": out.subject, "weight": "Bolder", "wrap": True,
             "color": "Attention" if urgent else "Warning"},
            {"type": "TextBlock", "text": out.text_zh, "wrap": True},
            {"type": "TextBlock", "text": out.text_en, "wrap": True, "isSubtle": True},
            {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _facts(out)]},
        ],
    }
    if out.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "開啟 Open", "url": out.link}]
    return {"type": "message", "summary": out.subject, "idempotency_key": out.idempotency_key,
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def slack_payload(out: Outgoing) -> dict[str, Any]:
    """``text`` (the notification's fallback) and ``blocks``: what Slack incoming webhooks accept."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": out.subject[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": out.text_zh[:3000]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": out.text_en[:3000]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"idempotency key: `{out.idempotency_key}`"}]},
    ]
    if out.link:
        blocks.insert(3, {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "開啟 Open"}, "url": out.link}]})
    return {"text": f"{out.subject}\n{out.text_zh}\n{out.text_en}", "blocks": blocks}


PAYLOADS = {ChannelKind.webhook: generic_payload, ChannelKind.teams: teams_payload, ChannelKind.slack: slack_payload}


def webhook_request(out: Outgoing) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(PAYLOADS[out.transport.kind](out), ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
               "Idempotency-Key": out.idempotency_key, TIMESTAMP_HEADER: str(int(out.sent_at.timestamp()))}
    if out.transport.secret:
        if is_unreadable(out.transport.secret):
            raise DeliveryFailed("the channel's secret cannot be decrypted (KEY-001): enter it again", permanent=True)
        headers[SIGNATURE_HEADER] = sign(out.transport.secret, body)
    return body, headers


def _scrub(text: str, url: str) -> str:
    """An error message without the URL's path and query (they may be the credential)."""
    parts = url.split("://", 1)[-1]
    tail = parts[parts.find("/"):] if "/" in parts else ""
    for secret in sorted({url, tail, tail.split("?")[0]} - {"", "/"}, key=len, reverse=True):
        text = text.replace(secret, "/…")
    return text


def send_webhook(out: Outgoing, *, timeout: float) -> None:
    url = out.transport.url
    if not url or is_unreadable(url):
        raise DeliveryFailed("the webhook channel has no readable URL (enter it again)", permanent=True)
    where = url_hint(url)
    if url.split("://", 1)[0].lower() not in SCHEMES:
        raise DeliveryFailed(f"webhook {where}: only http and https", permanent=True)
    body, headers = webhook_request(out)
    with requests.Session() as http:
        http.trust_env = False  # no proxy from the environment: the address connected to is the one checked
        adapter = EgressAdapter(EgressPolicy.of(out.transport.allowed_hosts))
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        try:
            response = http.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
        except requests.RequestException as exc:
            refused = refusal_in(exc)
            if refused is not None:
                raise DeliveryFailed(f"webhook {where}: refused destination: {refused}", permanent=True) from exc
            raise DeliveryFailed(_scrub(f"webhook {where}: {exc.__class__.__name__}: {exc}", url)[:300]) from exc
    status = response.status_code
    if 200 <= status < 300:
        return
    permanent = 400 <= status < 500 and status not in (408, 409, 425, 429)
    raise DeliveryFailed(_scrub(f"webhook {where} answered {status}: {response.text[:200]!r}", url), permanent=permanent)
