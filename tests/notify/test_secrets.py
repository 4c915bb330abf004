"""Channel credentials (SMTP password, webhook secret, Teams/Slack URL) are encrypted at rest and appear nowhere
afterwards: not in API answers, pages, the audit trail (API, page, CSV), delivery errors or the logs."""
from __future__ import annotations

import logging
import re
from datetime import timedelta

import sqlalchemy as sa

from incident_service.audit.models import AuditEntry
from incident_service.extensions import db
from incident_service.notify import service
from incident_service.notify.channels import DeliveryFailed, Outgoing, send_webhook
from incident_service.notify.delivery import _transport, deliver_due
from incident_service.notify.models import Channel, ChannelKind, OutboxMessage
from incident_service.notify.sources import route_new_notifications
from tests.conftest import T0

PASSWORD = "SMTP-PW-7f3a9c"
SECRET = "HOOK-SECRET-1d4e8b"
SLACK_PATH = "T0AAA/B0BBB/SLACKTOKEN-5c2f"
PAGE_SECRET = "PAGE-SECRET-9e7d1a"
ALL = (PASSWORD, SECRET, "SLACKTOKEN-5c2f", PAGE_SECRET, "T0AAA/B0BBB")


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def _audit_answers(app, client, login_as) -> str:
    """Everything an auditor can read of the trail: the API (every page), the page, the CSV export."""
    login_as("auditor", username="ines")
    texts = []
    page = 1
    while True:
        r = client.get(f"/api/v1/audit-entries?page={page}&page_size=100")
        assert r.status_code == 200
        texts.append(r.get_data(as_text=True))
        if len(r.json) < 100:
            break
        page += 1
    for p in range(1, 6):
        texts.append(client.get(f"/audit?page={p}").get_data(as_text=True))
    texts.append(client.get("/audit/export.csv").get_data(as_text=True))
    return "\n".join(texts)


def test_channel_credentials_never_appear_in_answers_pages_the_trail_or_logs(app, client, login_as, caplog):
    caplog.set_level(logging.INFO)
    mail = client.post("/api/v1/notify/channels", json={
        "name": "Mail", "kind": "email", "smtp_host": "127.0.0.1", "smtp_port": 2525, "smtp_username": "soc",
        "smtp_password": PASSWORD, "from_address": "soc@firm.test"})
    hook = client.post("/api/v1/notify/channels", json={
        "name": "Hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook", "secret": SECRET})
    slack = client.post("/api/v1/notify/channels", json={
        "name": "Slack", "kind": "slack", "url": f"https://hooks.slack.example/services/{SLACK_PATH}"})
    answers = [mail.get_data(as_text=True), hook.get_data(as_text=True), slack.get_data(as_text=True)]
    assert slack.json["url_hint"] == "https://hooks.slack.example/…" and slack.json["has_url"] is True
    answers.append(client.patch(f"/api/v1/notify/channels/{hook.json['id']}",
                                json={"secret": SECRET + "-2", "version": 1}).get_data(as_text=True))
    answers.append(client.get("/api/v1/notify/channels").get_data(as_text=True))
    answers.append(client.get(f"/api/v1/notify/channels/{slack.json['id']}").get_data(as_text=True))

    login_as("admin", username="adam")  # and through the admin's page
    form = client.get(f"/admin/notify/channels/{hook.json['id']}").get_data(as_text=True)
    r = client.post(f"/admin/notify/channels/{hook.json['id']}", data={
        "csrf_token": _csrf(form), "name": "Hook", "kind": "webhook", "is_active": "y", "smtp_security": "none",
        "secret": PAGE_SECRET})
    assert r.status_code == 302
    for url in ("/admin/notify", f"/admin/notify/channels/{hook.json['id']}", f"/admin/notify/channels/{slack.json['id']}"):
        answers.append(client.get(url).get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Channel, hook.json["id"]).secret == PAGE_SECRET  # the page did change it

    stored = db.session.execute(sa.text("SELECT smtp_password, secret, url FROM notify_channels")).all()
    answers.append(repr(stored))  # at rest: only ciphertext
    trail = _audit_answers(app, client, login_as)
    assert "[redacted]" in trail  # the trail says the secret was set and changed, and nothing more
    changes = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.record_type == "notify_channels",
                                                             AuditEntry.action == "update")).all()
    assert any(e.new_values.get("secret") == "[redacted]" for e in changes)
    everything = "\n".join(answers) + trail + caplog.text
    for secret in ALL:
        assert secret not in everything, secret


def _failed_delivery(session, settings, people, open_incident, raise_alerts, endpoint, kind, url):
    channel = service.create_channel(session=session, now=T0, data={"name": "Team", "kind": kind, "url": url})
    service.create_rule(session=session, now=T0, data={"name": "all", "target": "channel", "channel_id": channel.id})
    endpoint.answers = [500]
    open_incident(people["reporter"])
    raise_alerts(T0 + timedelta(minutes=19))
    route_new_notifications(session=session, settings=settings, now=T0 + timedelta(minutes=19))
    deliver_due(session=session, settings=settings, now_fn=lambda: T0 + timedelta(minutes=19), sender_id="t")
    return session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel_id == channel.id)).one()


def test_a_delivery_error_never_quotes_the_webhook_url(session, settings, people, open_incident, raise_alerts,
                                                      endpoint):
    message = _failed_delivery(session, settings, people, open_incident, raise_alerts, endpoint, ChannelKind.teams,
                               endpoint.url + "/" + SLACK_PATH)
    assert message.last_error and "500" in message.last_error
    assert SLACK_PATH not in message.last_error and "T0AAA" not in message.last_error
    closed = service.create_channel(session=session, now=T0, data={
        "name": "Closed port", "kind": ChannelKind.slack, "url": "http://127.0.0.1:9/" + SLACK_PATH})
    out = Outgoing(message_id=1, idempotency_key="k", recipient="channel:x", attempt=1, sent_at=T0,
                   event_kind=message.event.kind, subject="s", text_zh="z", text_en="e", link=None, facts={},
                   transport=_transport(closed, settings))
    try:
        send_webhook(out, timeout=2)
    except DeliveryFailed as failure:
        assert SLACK_PATH not in str(failure) and "T0AAA" not in str(failure)
    else:  # pragma: no cover - nothing listens on port 9
        raise AssertionError("a closed port accepted the webhook")


def test_a_delivery_errors_text_is_for_admins_only(app, session, settings, people, open_incident, raise_alerts,
                                                   endpoint, api_as):
    message = _failed_delivery(session, settings, people, open_incident, raise_alerts, endpoint, ChannelKind.webhook,
                               endpoint.url)
    admin, oncall, auditor = api_as("admin"), api_as("oncall"), api_as("auditor")
    assert "500" in admin.get(f"/api/v1/notify/messages/{message.id}").json["last_error"]
    for caller in (oncall, auditor):
        seen = caller.get(f"/api/v1/notify/messages/{message.id}").json["last_error"]
        assert seen == "delivery failed (details: administrators)"
        listed = caller.get("/api/v1/notify/messages").get_data(as_text=True)
        assert "answered 500" not in listed
    trail = " ".join(str(e.new_values) for e in session.scalars(sa.select(AuditEntry)))
    assert "answered 500" not in trail  # the trail's readers are not admins either
