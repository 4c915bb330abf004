"""Delivery against real servers on loopback: an SMTP server (aiosmtpd) and an HTTP endpoint.

What a person on the receiving end notices: the message arrives once, says what and when, is signed,
waits while the server is down, and carries an idempotency key that makes a crash's copy detectable.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from incident_service.notify import service
from incident_service.notify.delivery import deliver_due
from incident_service.notify.models import ChannelKind, MessageState, OutboxMessage
from incident_service.notify.sources import route_new_notifications
from tests.conftest import T0
from tests.notify.conftest import wait_for, with_smtp

WARN_AT = T0 + timedelta(minutes=19)  # the initial report (due T0+29m) warns 10 minutes before
DUE_AT = T0 + timedelta(minutes=29)


def _deliver(session, settings, now, **kw):
    return deliver_due(session=session, settings=settings, now_fn=lambda: now, sender_id="test-sender", **kw)


def _route(session, settings, now):
    return route_new_notifications(session=session, settings=settings, now=now)


def _webhook(session, url, kind=ChannelKind.webhook, secret="s3cret", **kw):
    return service.create_channel(session=session, now=T0, data={"name": f"hook {kind.value}", "kind": kind,
                                                                 "url": url, "secret": secret, **kw})


def _rule_to(session, channel, **kw):
    return service.create_rule(session=session, now=T0, data={"name": "to the SOC", "target": "channel",
                                                              "channel_id": channel.id, **kw})


@pytest.fixture
def queued_warning(session, settings, endpoint, people, open_incident, raise_alerts):
    """A warning routed to a signed webhook on loopback, waiting in the outbox; returns the channel."""
    channel = _webhook(session, endpoint.url)
    _rule_to(session, channel)
    open_incident(people["reporter"])
    raise_alerts(WARN_AT)
    _route(session, settings, WARN_AT)
    return channel


def _messages(session):
    session.expire_all()
    return session.query(OutboxMessage).order_by(OutboxMessage.id).all()


def test_warning_email_reaches_the_reporter_with_clock_due_time_time_left_and_link(
        session, settings, mailbox, people, open_incident, raise_alerts):
    mailbox.start()
    settings = with_smtp(settings, mailbox)  # the default email channel comes from SMTP_* settings
    incident = open_incident(people["reporter"])
    raise_alerts(WARN_AT)
    assert _route(session, settings, WARN_AT) == 1
    report = _deliver(session, settings, WARN_AT)

    assert report.sent == 1
    assert wait_for(lambda: len(mailbox.messages) == 1)
    mail = mailbox.messages[0]
    assert mail["to"] == ["ming@firm.test"] and mail["from"] == "soc@firm.test"
    body = mail["body"]
    assert f"事件 #{incident.id}「下單 App 無法登入」" in body and "初步通報" in body
    assert "2026-11-21 02:39 (Asia/Taipei)" in body  # due in the firm's zone
    assert "剩餘 10分" in body and "10 min left" in body
    assert f"http://incidents.test/incidents/{incident.id}" in body
    message = _messages(session)[0]
    assert message.state == MessageState.sent and message.attempts == 1
    assert mail["msg"]["Message-ID"] == f"<{message.idempotency_key}@incident-service>"
    assert mail["msg"]["X-Idempotency-Key"] == message.idempotency_key
    assert "Warning" in mail["msg"]["Subject"] and "提醒" in mail["msg"]["Subject"]


def test_with_the_mail_server_down_messages_wait_and_go_once_it_is_back(
        session, settings, mailbox, people, open_incident, raise_alerts):
    settings = with_smtp(settings, mailbox)  # configured, but nothing listens yet
    open_incident(people["reporter"])
    raise_alerts(WARN_AT)
    _route(session, settings, WARN_AT)

    report = _deliver(session, settings, WARN_AT)
    assert (report.sent, report.retrying) == (0, 1)
    message = _messages(session)[0]
    assert message.state == MessageState.pending and message.attempts == 1
    assert "SMTP" in message.last_error and message.next_attempt_at == WARN_AT + timedelta(seconds=30)
    assert _deliver(session, settings, WARN_AT + timedelta(seconds=10)).sent == 0  # not before the backoff

    mailbox.start()  # the server is back (a restart of ours in between would change nothing: the row waits)
    assert _deliver(session, settings, WARN_AT + timedelta(seconds=30)).sent == 1
    assert _deliver(session, settings, WARN_AT + timedelta(minutes=5)).sent == 0
    assert wait_for(lambda: len(mailbox.messages) == 1)
    assert len(mailbox.messages) == 1
    assert _messages(session)[0].state == MessageState.sent


def test_generic_webhook_is_signed_with_the_channel_secret_and_carries_the_key(
        session, settings, endpoint, people, open_incident, raise_alerts):
    channel = _webhook(session, endpoint.url)
    _rule_to(session, channel, events=["escalation"])
    incident = open_incident(people["reporter"], severity=3)
    raise_alerts(DUE_AT)
    _route(session, settings, DUE_AT)
    assert _deliver(session, settings, DUE_AT).sent == 1

    request = endpoint.requests[0]
    expected = "sha256=" + hmac.new(b"s3cret", request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Signature"] == expected
    payload = json.loads(request["body"])
    key = request["headers"]["Idempotency-Key"]
    assert payload["idempotency_key"] == key == _messages(session)[0].idempotency_key
    assert payload["event"] == "escalation" and payload["incident_id"] == incident.id
    assert payload["clock"] == "initial" and payload["severity"] == 3 and payload["seconds_left"] == 0
    assert payload["due_at_local"] == "2026-11-21T02:39+0800"
    assert payload["link"] == f"http://incidents.test/incidents/{incident.id}"
    assert str(int(DUE_AT.timestamp())) == request["headers"]["X-Timestamp"]
    assert payload["sent_at"] == "2026-11-20T18:39:00Z"  # the timestamp is inside the signed body too


def test_a_webhook_failing_twice_then_succeeding_gets_exactly_one_successful_delivery(
        session, settings, endpoint, queued_warning):
    endpoint.answers = [500, 503]

    now = WARN_AT
    for _ in range(6):  # ticks at each retry time, and some more
        _deliver(session, settings, now)
        now += timedelta(minutes=2)

    assert [r["status"] for r in endpoint.requests] == [500, 503, 200]
    assert len({r["headers"]["Idempotency-Key"] for r in endpoint.requests}) == 1
    message = _messages(session)[0]
    assert message.state == MessageState.sent and message.attempts == 3 and message.last_error is None


def test_a_sender_killed_between_send_and_mark_resends_with_the_same_key_after_its_lease(
        session, settings, endpoint, queued_warning):
    """At-least-once: the second copy carries the first one's idempotency key, so the receiver drops it."""

    def killed(out):
        raise SystemExit("sender killed after the webhook accepted the message")

    with pytest.raises(SystemExit):
        _deliver(session, settings, WARN_AT, after_send=killed)
    session.rollback()
    assert len(endpoint.accepted()) == 1
    assert _messages(session)[0].state == MessageState.sending  # never marked

    assert _deliver(session, settings, WARN_AT + timedelta(seconds=settings.lease_seconds - 1)).sent == 0  # the lease holds
    assert _deliver(session, settings, WARN_AT + timedelta(seconds=settings.lease_seconds + 1)).sent == 1
    keys = [r["headers"]["Idempotency-Key"] for r in endpoint.accepted()]
    assert len(keys) == 2 and len(set(keys)) == 1  # a duplicate the receiver can detect
    assert json.loads(endpoint.requests[1]["body"])["idempotency_key"] == keys[0]
    assert _messages(session)[0].state == MessageState.sent


def test_after_the_retry_limit_a_message_is_undelivered_in_health_and_an_admin_retry_sends_it(
        session, settings, endpoint, queued_warning, client):
    settings = dataclasses.replace(settings, max_attempts=3)
    channel = queued_warning
    endpoint.answers = [500] * 3

    now = WARN_AT
    for _ in range(5):
        _deliver(session, settings, now)
        now += timedelta(hours=1)
    message = _messages(session)[0]
    assert message.state == MessageState.dead and message.attempts == 3 and "500" in message.last_error
    health = client.get("/api/v1/health").json
    assert health["delivery"] == {"undelivered": 1, "pending": 0} and health["status"] == "degraded"
    summary = service.undelivered_summary(session)
    assert summary["undelivered"] == 1 and summary["messages"][0]["recipient"] == f"channel:{channel.id}"

    service.retry_message(session=session, message_id=message.id, now=now)
    assert _deliver(session, settings, now).sent == 1
    assert client.get("/api/v1/health").json["delivery"]["undelivered"] == 0
    assert len(endpoint.accepted()) == 1


def test_a_webhook_that_refuses_for_good_is_given_up_at_once(session, settings, endpoint, queued_warning):
    endpoint.answers = [404]
    report = _deliver(session, settings, WARN_AT)
    assert report.dead == 1
    assert _messages(session)[0].state == MessageState.dead


def test_teams_and_slack_get_message_formats_their_incoming_webhooks_accept(
        session, settings, endpoint, people, open_incident, raise_alerts):
    teams = _webhook(session, endpoint.url + "/teams", kind=ChannelKind.teams, secret=None)
    slack = _webhook(session, endpoint.url + "/slack", kind=ChannelKind.slack, secret=None)
    _rule_to(session, teams)
    _rule_to(session, slack)
    incident = open_incident(people["reporter"])
    raise_alerts(DUE_AT)
    _route(session, settings, DUE_AT)
    assert _deliver(session, settings, DUE_AT).sent == 2
    by_path = {r["path"]: json.loads(r["body"]) for r in endpoint.requests}

    card = by_path["/hook/teams"]
    assert card["type"] == "message"
    attachment = card["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content = attachment["content"]
    assert content["type"] == "AdaptiveCard" and content["actions"][0]["url"].endswith(f"/incidents/{incident.id}")
    assert any("尚未記錄通報" in block.get("text", "") for block in content["body"])

    slack_body = by_path["/hook/slack"]
    assert "尚未記錄通報" in slack_body["text"] and "no filing is recorded" in slack_body["text"]
    assert {b["type"] for b in slack_body["blocks"]} >= {"header", "section", "actions", "context"}
    assert all("X-Signature" not in r["headers"] for r in endpoint.requests)  # no secret, no signature
    assert all(r["headers"]["Idempotency-Key"] for r in endpoint.requests)
