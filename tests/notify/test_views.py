"""The admin pages for channels and rules, the undelivered list with its retry button, and my preferences."""
from __future__ import annotations

import re

import pytest

from incident_service.notify import service
from incident_service.notify.models import Channel, ChannelKind, RoutingRule
from tests.conftest import T0


@pytest.fixture
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


def test_the_channel_pages_send_a_stranger_to_log_in(client):
    r = client.get("/admin/notify")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_only_admins_reach_the_channel_pages(client, login_as):
    login_as("supervisor")
    assert client.get("/admin/notify").status_code == 403
    assert client.post("/admin/notify/channels/new", data={"name": "x"}).status_code in (400, 403)


def test_admin_adds_a_channel_through_the_form_with_its_csrf_token(client, login_as, session):
    login_as("admin")
    page = client.get("/admin/notify/channels/new")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    r = client.post("/admin/notify/channels/new", data={
        "csrf_token": token, "name": "SOC Slack", "kind": "slack", "is_active": "y",
        "url": "https://hooks.slack.example/T1", "smtp_security": "none"})
    assert r.status_code == 302, r.text
    page = client.get("/admin/notify")
    assert "SOC Slack" in page.text and "https://hooks.slack.example/…" in page.text
    assert "/T1" not in page.text  # a Slack URL is a credential: only its host is shown


def test_a_bad_channel_form_shows_the_reason_beside_the_field(client, login_as, no_csrf):
    login_as("admin")
    r = client.post("/admin/notify/channels/new", data={"name": "Mail", "kind": "email", "smtp_security": "none",
                                                        "from_address": "soc@firm.test"})
    assert r.status_code == 422
    assert "SMTP server" in r.text
    assert Channel.query.count() == 0


def test_editing_a_channel_with_the_password_box_empty_keeps_the_password(client, login_as, session, no_csrf):
    login_as("admin")
    channel = service.create_channel(session=session, now=T0, data={
        "name": "Mail", "kind": ChannelKind.email, "smtp_host": "mail.firm.test", "smtp_port": 587,
        "smtp_password": "keep-me", "from_address": "soc@firm.test"})
    page = client.get(f"/admin/notify/channels/{channel.id}?lang=en")
    assert "keep-me" not in page.text and "a password is set" in page.text
    r = client.post(f"/admin/notify/channels/{channel.id}", data={
        "name": "Mail", "kind": "email", "is_active": "y", "smtp_host": "mail2.firm.test", "smtp_port": "587",
        "smtp_security": "starttls", "smtp_password": "", "from_address": "soc@firm.test"})
    assert r.status_code == 302
    session.refresh(channel)
    assert channel.smtp_host == "mail2.firm.test" and channel.smtp_password == "keep-me"


def test_admin_adds_a_rule_for_the_security_officer(client, login_as, session, no_csrf):
    login_as("admin")
    r = client.post("/admin/notify/rules/new", data={
        "name": "Security officer", "is_active": "y", "events": ["missed", "vendor_duty_breached"],
        "clocks": "initial, formal", "min_severity": "", "target": "email", "target_role": "",
        "target_user_id": "", "target_email": "so@firm.test", "channel_id": ""})
    assert r.status_code == 302, r.text
    rule = session.query(RoutingRule).one()
    assert rule.events == ["missed", "vendor_duty_breached"] and rule.clocks == ["initial", "formal"]
    assert rule.target_email == "so@firm.test" and rule.channel_id is None
    assert "Security officer" in client.get("/admin/notify").text
    assert 'value="initial, formal"' in client.get(f"/admin/notify/rules/{rule.id}").text


def test_undelivered_messages_are_listed_with_a_retry_button(client, login_as, session, settings, people,
                                                             open_incident, raise_alerts, no_csrf):
    from datetime import timedelta

    from incident_service.notify.models import MessageState, OutboxMessage
    from incident_service.notify.sources import route_new_notifications

    service.create_channel(session=session, now=T0, data={"name": "Mail", "kind": ChannelKind.email, "is_default": True,
                                                          "smtp_host": "127.0.0.1", "from_address": "soc@firm.test"})
    open_incident(people["reporter"])
    raise_alerts(T0 + timedelta(minutes=19))
    route_new_notifications(session=session, settings=settings, now=T0 + timedelta(minutes=19))
    message = session.query(OutboxMessage).one()
    message.state, message.last_error = MessageState.dead, "SMTP 127.0.0.1:25: ConnectionRefusedError"
    session.commit()
    login_as("admin")
    page = client.get("/admin/notify?lang=en")
    assert "1 undelivered" in page.text and "ConnectionRefusedError" in page.text
    r = client.post(f"/admin/notify/messages/{message.id}/retry")
    assert r.status_code == 302
    session.refresh(message)
    assert message.state == MessageState.pending
    assert "0 undelivered" in client.get("/admin/notify").text


def test_a_user_chooses_channels_and_quiet_hours(client, login_as, session, no_csrf):
    hook = service.create_channel(session=session, now=T0, data={"name": "My Teams", "kind": ChannelKind.teams,
                                                                 "url": "https://teams.example/hook"})
    user = login_as("oncall")
    page = client.get("/notify/preferences")
    assert page.status_code == 200 and "My Teams" in page.text
    r = client.post("/notify/preferences", data={"channel_ids": [str(hook.id)], "quiet_from": "22:00", "quiet_to": "07:00"})
    assert r.status_code == 302
    pref = service.get_preference(session=session, user_id=user.id)
    assert pref.channel_ids == [hook.id] and pref.quiet_from.hour == 22 and pref.quiet_to.hour == 7
    r = client.post("/notify/preferences", data={"quiet_from": "22:00", "quiet_to": ""})  # as a browser sends it
    assert r.status_code == 422 and "quiet hours" in r.text
