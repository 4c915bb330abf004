"""Routing and the other clocks, without a network: who gets which message, once."""
from __future__ import annotations

import dataclasses
from datetime import date, time, timedelta

import pytest

from incident_service.errors import Conflict, ValidationFailed
from incident_service.incidents.models import RemediationAction
from incident_service.incidents.remediation import add_remediation
from incident_service.notify import service
from incident_service.notify.delivery import backoff, claim_due_messages
from incident_service.notify.models import ChannelKind, MessageState, NotifyEvent, OutboxMessage
from incident_service.notify.sources import route_new_notifications, scan_sources
from tests import factories
from tests.conftest import T0

WARN_AT = T0 + timedelta(minutes=19)
DUE_AT = T0 + timedelta(minutes=29)


@pytest.fixture
def email(session):
    """The default email channel (nothing is sent in these tests: they read the outbox)."""
    return service.create_channel(session=session, now=T0, data={
        "name": "Mail", "kind": ChannelKind.email, "smtp_host": "127.0.0.1", "smtp_port": 2525,
        "from_address": "soc@firm.test", "is_default": True})


def _route(session, settings, now):
    return route_new_notifications(session=session, settings=settings, now=now)


def _outbox(session):
    session.expire_all()
    return session.query(OutboxMessage).order_by(OutboxMessage.id).all()


def _by_kind(session):
    out: dict[str, set[str]] = {}
    for m in _outbox(session):
        out.setdefault(m.event.kind.value, set()).add(m.recipient)
    return out


def test_reporter_hears_warnings_supervisors_escalations_and_the_security_officer_every_missed_deadline(
        session, settings, email, people, open_incident, raise_alerts):
    service.create_rule(session=session, now=T0, data={"name": "Security officer", "events": ["missed"],
                                                       "target": "email", "target_email": "SO@firm.test"})
    open_incident(people["reporter"])
    raise_alerts(WARN_AT)
    _route(session, settings, WARN_AT)
    raise_alerts(DUE_AT)
    _route(session, settings, DUE_AT)

    heard = _by_kind(session)
    assert heard["warning"] == {"ming@firm.test"}
    assert heard["escalation"] == {"ming@firm.test", "hua@firm.test", "lin@firm.test", "so@firm.test"}
    assert "chen@firm.test" not in heard["escalation"]  # the admin is not a supervisor


def test_rules_filter_by_clock_and_severity(session, settings, email, people, open_incident, raise_alerts):
    service.create_rule(session=session, now=T0, data={"name": "Severe initial reports", "events": ["warning"],
                                                       "clocks": ["initial"], "min_severity": 3, "target": "role",
                                                       "target_role": "admin"})
    open_incident(people["reporter"], severity=2)
    open_incident(people["reporter"], severity=4)
    raise_alerts(WARN_AT)
    _route(session, settings, WARN_AT)
    to_admin = [m for m in _outbox(session) if m.recipient == "chen@firm.test"]
    assert len(to_admin) == 1 and to_admin[0].event.severity == 4


def test_each_notification_is_routed_once_even_when_routing_runs_again(
        session, settings, email, people, open_incident, raise_alerts):
    open_incident(people["reporter"])
    raise_alerts(WARN_AT)
    assert _route(session, settings, WARN_AT) == 1
    assert _route(session, settings, WARN_AT + timedelta(seconds=1)) == 0
    assert len(_outbox(session)) == 1
    assert session.query(NotifyEvent).count() == 1


def test_users_choose_channels_and_a_shared_team_channel_is_posted_to_once(
        session, settings, email, people, open_incident, raise_alerts):
    team = service.create_channel(session=session, now=T0, data={"name": "SOC Teams", "kind": ChannelKind.teams,
                                                                 "url": "http://127.0.0.1:9/teams"})
    for who in ("boss", "ciso"):
        service.set_preference(session=session, user_id=people[who].id, channel_ids=[team.id], quiet_from=None,
                               quiet_to=None, now=T0)
    open_incident(people["reporter"])
    raise_alerts(DUE_AT)
    _route(session, settings, DUE_AT)
    recipients = sorted((m.channel.name, m.recipient) for m in _outbox(session))
    assert recipients == [("Mail", "ming@firm.test"), ("SOC Teams", f"channel:{team.id}")]


def test_quiet_hours_hold_warnings_until_morning_but_never_escalations(
        session, settings, email, people, open_incident, raise_alerts):
    # T0 is 02:10 in Taipei: inside 22:00–07:00.
    service.set_preference(session=session, user_id=people["reporter"].id, channel_ids=[], quiet_from=time(22, 0),
                           quiet_to=time(7, 0), now=T0)
    open_incident(people["reporter"])
    raise_alerts(WARN_AT)
    _route(session, settings, WARN_AT)
    raise_alerts(DUE_AT)
    _route(session, settings, DUE_AT)
    warning, escalation = (m for m in _outbox(session) if m.recipient == "ming@firm.test")
    assert warning.event.kind.value == "warning"
    assert warning.next_attempt_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M") == "2026-11-21 07:00"
    assert escalation.next_attempt_at == DUE_AT
    claimed = claim_due_messages(session, now=DUE_AT, sender_id="t", limit=10, lease_seconds=60)
    assert escalation.id in claimed and warning.id not in claimed


def test_overdue_remediation_reminds_once_a_day(session, settings, email, people, open_incident, registry):
    incident = open_incident(people["reporter"])
    add_remediation(session=session, incident_id=incident.id, actor="ming", now=T0, data={
        "action": RemediationAction.patch_process, "title": "Stage OS patches", "owner": "ming", "due_on": date(2026, 11, 20)})
    assert scan_sources(session=session, settings=settings, now=T0) == 1
    assert scan_sources(session=session, settings=settings, now=T0 + timedelta(hours=1)) == 0
    assert scan_sources(session=session, settings=settings, now=T0 + timedelta(days=1)) == 1
    events = session.query(NotifyEvent).order_by(NotifyEvent.id).all()
    assert [e.source_key.split(":")[-1] for e in events] == ["2026-11-21", "2026-11-22"]
    assert "已逾期 1 天" in events[0].text_zh and "1 day(s) overdue" in events[0].text_en
    # the reporter, who is also the owner, gets it once; supervisors too
    assert {m.recipient for m in _outbox(session) if m.event_id == events[0].id} == {
        "ming@firm.test", "hua@firm.test", "lin@firm.test"}


def test_a_breached_notification_duty_fires_once_and_never_on_the_stand_in(session, settings, email, people, open_incident, registry):
    vendor = factories.vendor(session, T0)
    contract = factories.contract(session, T0, vendor.id, vendor_notify_minutes=30)
    open_incident(people["reporter"], vendor_id=vendor.id, contract_id=contract.id, aware_at=T0 - timedelta(minutes=5),
                  vendor_aware_at=T0 - timedelta(hours=2), vendor_notified_at=T0 - timedelta(minutes=5))
    # Only the occurrence time known: the figure reads a breach, but no message is sent on a stand-in alone.
    open_incident(people["reporter"], vendor_id=vendor.id, contract_id=contract.id, aware_at=T0 - timedelta(minutes=5),
                  occurred_at=T0 - timedelta(hours=2), vendor_notified_at=T0 - timedelta(minutes=5))
    assert scan_sources(session=session, settings=settings, now=T0) == 1
    assert scan_sources(session=session, settings=settings, now=T0 + timedelta(days=2)) == 0
    [event] = session.query(NotifyEvent).all()
    assert event.kind.value == "vendor_duty_breached" and "30 分鐘內通知" in event.text_zh


def test_backoff_doubles_up_to_its_cap(settings):
    settings = dataclasses.replace(settings, backoff_seconds=30, backoff_max_seconds=600)
    assert [backoff(n, settings).total_seconds() for n in range(1, 7)] == [30, 60, 120, 240, 480, 600]


def test_a_message_nobody_can_receive_is_counted_not_lost(session, settings, people, open_incident, raise_alerts):
    open_incident(people["reporter"])  # no channel exists at all
    raise_alerts(WARN_AT)
    _route(session, settings, WARN_AT)
    assert service.undelivered_summary(session)["unrouted_events"] == 1


def test_channel_rules_are_checked_and_secrets_kept_when_left_out(session, email):
    with pytest.raises(ValidationFailed) as err:
        service.create_channel(session=session, now=T0, data={"name": "x", "kind": ChannelKind.slack})
    assert "url" in err.value.errors
    session.rollback()
    hook = service.create_channel(session=session, now=T0, data={"name": "Hook", "kind": ChannelKind.webhook,
                                                                 "url": "http://127.0.0.1:9/h", "secret": "k1"})
    service.update_channel(session=session, channel_id=hook.id, data={"url": "http://127.0.0.1:9/h2"}, now=T0)
    assert hook.secret == "k1" and hook.version == 2
    with pytest.raises(ValidationFailed):
        service.update_channel(session=session, channel_id=hook.id, data={"kind": ChannelKind.email}, now=T0)
    session.rollback()
    other = service.create_channel(session=session, now=T0, data={
        "name": "Mail 2", "kind": ChannelKind.email, "smtp_host": "h", "from_address": "a@b.c", "is_default": True})
    session.refresh(email)
    assert other.is_default and not email.is_default  # one default at a time


def test_a_dead_message_only_can_be_retried(session, settings, email, people, open_incident, raise_alerts):
    open_incident(people["reporter"])
    raise_alerts(WARN_AT)
    _route(session, settings, WARN_AT)
    message = _outbox(session)[0]
    with pytest.raises(Conflict):
        service.retry_message(session=session, message_id=message.id, now=WARN_AT)
    assert message.state == MessageState.pending
