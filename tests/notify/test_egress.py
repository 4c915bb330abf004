"""Webhooks may not reach the service's own network: loopback, private, link-local, multicast and other
non-public addresses are refused when a channel is saved (after DNS resolution) and again when a message is sent
(the address actually connected to), unless the host is in WEBHOOK_ALLOWED_HOSTS; only http and https."""
from __future__ import annotations

import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_service.notify import service
from incident_service.notify.delivery import deliver_due
from incident_service.notify.egress import EgressPolicy
from incident_service.notify.models import ChannelKind, MessageState, OutboxMessage
from incident_service.notify.sources import route_new_notifications
from tests.conftest import T0

REAL_GETADDRINFO = socket.getaddrinfo


def _resolving(table: dict[str, str]):
    """A getaddrinfo that answers the names in ``table`` (and leaves the rest to the real resolver)."""
    def resolve(host, port, *args, **kwargs):
        if host in table:
            family = socket.AF_INET6 if ":" in table[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (table[host], port or 80))]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)
    return resolve


@pytest.fixture
def nothing_allowed(app):
    app.config["WEBHOOK_ALLOWED_HOSTS"] = []


BAD_URLS = [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/hook", "http://192.168.0.10/",
    "http://172.16.5.5/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/hook", "http://0.0.0.0/",
    "http://224.0.0.1/", "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/",
    "http://2130706433/", "ftp://files.example/x", "file:///etc/passwd", "gopher://127.0.0.1/",
    "http://internal.example/hook", "http://unresolvable.invalid/hook",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_saving_a_webhook_to_a_non_public_address_is_refused(client, nothing_allowed, monkeypatch, url):
    monkeypatch.setattr(socket, "getaddrinfo", _resolving({"internal.example": "10.0.0.7"}))
    r = client.post("/api/v1/notify/channels", json={"name": "Hook", "kind": "webhook", "url": url})
    assert r.status_code == 422 and "url" in r.json["errors"], (url, r.json)


def test_a_public_address_is_accepted_and_an_allowed_host_may_be_private(client, nothing_allowed, monkeypatch, app):
    monkeypatch.setattr(socket, "getaddrinfo", _resolving({"hooks.example": "93.184.215.14", "soc.internal": "10.0.0.8"}))
    r = client.post("/api/v1/notify/channels", json={"name": "Public", "kind": "teams", "url": "https://hooks.example/x"})
    assert r.status_code == 201, r.json
    r = client.post("/api/v1/notify/channels", json={"name": "SOC", "kind": "webhook", "url": "http://soc.internal/h"})
    assert r.status_code == 422
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ["soc.internal"]
    r = client.post("/api/v1/notify/channels", json={"name": "SOC", "kind": "webhook", "url": "http://soc.internal/h"})
    assert r.status_code == 201


def test_the_web_form_refuses_a_loopback_webhook(client, login_as, nothing_allowed):
    login_as("admin")
    page = client.get("/admin/notify/channels/new").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    r = client.post("/admin/notify/channels/new", data={"csrf_token": token, "name": "x", "kind": "webhook",
                                                        "url": "http://127.0.0.1:5000/api/v1/health",
                                                        "smtp_security": "none", "is_active": "y"})
    assert r.status_code == 422 and "loopback" in r.get_data(as_text=True)


def test_a_name_that_resolves_to_loopback_at_send_time_is_refused(session, settings, people, open_incident,
                                                                  raise_alerts, endpoint, monkeypatch):
    """DNS rebinding: public when saved, the service's own loopback when sent. The connected address decides."""
    port = endpoint.url.split(":")[2].split("/")[0]
    monkeypatch.setattr(socket, "getaddrinfo", _resolving({"rebind.example": "93.184.215.14"}))
    channel = service.create_channel(session=session, now=T0, allowed_hosts=(), data={
        "name": "Rebinding", "kind": ChannelKind.webhook, "url": f"http://rebind.example:{port}/hook"})
    service.create_rule(session=session, now=T0, data={"name": "all", "target": "channel", "channel_id": channel.id})
    monkeypatch.setattr(socket, "getaddrinfo", _resolving({"rebind.example": "127.0.0.1"}))
    open_incident(people["reporter"])
    now = T0 + timedelta(minutes=19)
    raise_alerts(now)
    route_new_notifications(session=session, settings=settings, now=now)
    strict = settings.__class__(**{**settings.__dict__, "webhook_allowed_hosts": ()})
    deliver_due(session=session, settings=strict, now_fn=lambda: now, sender_id="t")
    message = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel_id == channel.id)).one()
    assert endpoint.requests == []  # nothing reached the loopback receiver
    assert message.state == MessageState.dead and "refused destination" in message.last_error


def test_redirects_are_not_followed(session, settings, people, open_incident, raise_alerts, endpoint):
    channel = service.create_channel(session=session, now=T0, data={
        "name": "Redirecting", "kind": ChannelKind.webhook, "url": endpoint.url})
    service.create_rule(session=session, now=T0, data={"name": "all", "target": "channel", "channel_id": channel.id})
    endpoint.answers = [302]
    open_incident(people["reporter"])
    now = T0 + timedelta(minutes=19)
    raise_alerts(now)
    route_new_notifications(session=session, settings=settings, now=now)
    deliver_due(session=session, settings=settings, now_fn=lambda: now, sender_id="t")
    assert len(endpoint.requests) == 1
    message = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel_id == channel.id)).one()
    assert message.state != MessageState.sent


def test_the_policy_checks_cidr_ranges_and_mapped_addresses():
    policy = EgressPolicy.of(["10.20.0.0/16"])
    assert policy.problem("http://10.20.3.4/") is None
    assert policy.problem("http://10.21.3.4/") is not None
    assert policy.problem("http://[::ffff:10.21.3.4]/") is not None
