"""The delivery API: channels with write-only secrets, routing rules, preferences, the outbox and retries."""
from __future__ import annotations

from datetime import timedelta

import pytest

from incident_service.notify.models import MessageState, OutboxMessage
from incident_service.notify.sources import route_new_notifications
from tests.conftest import T0

HOOK = {"name": "SOC webhook", "kind": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "top-secret"}
MAIL = {"name": "Mail", "kind": "email", "smtp_host": "127.0.0.1", "smtp_port": 2525, "smtp_security": "starttls",
        "smtp_username": "soc", "smtp_password": "pw-123", "from_address": "soc@firm.test", "is_default": True}


def test_channel_secrets_are_write_only(client):
    r = client.post("/api/v1/notify/channels", json=MAIL)
    assert r.status_code == 201, r.json
    assert "smtp_password" not in r.json and r.json["has_password"] is True
    cid = r.json["id"]
    r = client.post("/api/v1/notify/channels", json=HOOK)
    assert "secret" not in r.json and r.json["has_secret"] is True
    listed = client.get("/api/v1/notify/channels").json
    assert "top-secret" not in str(listed) and "pw-123" not in str(listed)

    r = client.patch(f"/api/v1/notify/channels/{cid}", json={"smtp_port": 587, "version": 1})
    assert r.status_code == 200 and r.json["smtp_port"] == 587 and r.json["has_password"] is True
    r = client.patch(f"/api/v1/notify/channels/{cid}", json={"smtp_port": 25, "version": 1})
    assert r.status_code == 409 and r.json["code"] == "stale_version"


@pytest.mark.parametrize("body, field", [
    ({**HOOK, "url": "ftp://x"}, "url"),
    ({**HOOK, "kind": "pager"}, "kind"),
    ({"name": "m", "kind": "email", "from_address": "soc@firm.test"}, "smtp_host"),
    ({**HOOK, "is_default": True}, "is_default"),
    ({**HOOK, "colour": "red"}, "colour"),
])
def test_bad_channels_are_refused_naming_the_field(client, body, field):
    r = client.post("/api/v1/notify/channels", json=body)
    assert r.status_code == 422, r.json
    assert field in r.json["errors"]
    assert client.get("/api/v1/notify/channels").json == []


def test_a_channel_that_carried_messages_can_only_be_disabled(client, session, settings, people, open_incident,
                                                             raise_alerts):
    cid = client.post("/api/v1/notify/channels", json=MAIL).json["id"]
    open_incident(people["reporter"])
    raise_alerts(T0 + timedelta(minutes=19))
    route_new_notifications(session=session, settings=settings, now=T0 + timedelta(minutes=19))
    assert client.delete(f"/api/v1/notify/channels/{cid}").status_code == 409
    assert client.patch(f"/api/v1/notify/channels/{cid}", json={"is_active": False}).status_code == 200
    empty = client.post("/api/v1/notify/channels", json=HOOK).json["id"]
    assert client.delete(f"/api/v1/notify/channels/{empty}").status_code == 204


def test_rules_round_trip_and_are_checked(client, people):
    hook = client.post("/api/v1/notify/channels", json=HOOK).json["id"]
    r = client.post("/api/v1/notify/rules", json={"name": "SO hears missed", "events": ["missed"],
                                                  "target": "email", "target_email": "so@firm.test"})
    assert r.status_code == 201 and r.json["events"] == ["missed"]
    r = client.post("/api/v1/notify/rules", json={"name": "bad", "target": "channel"})
    assert r.status_code == 422 and "channel_id" in r.json["errors"]
    r = client.post("/api/v1/notify/rules", json={"name": "bad", "target": "role", "target_role": "king"})
    assert r.status_code == 422 and "target_role" in r.json["errors"]
    r = client.post("/api/v1/notify/rules", json={"name": "SOC", "target": "channel", "channel_id": hook,
                                                  "min_severity": 3, "clocks": ["initial"]})
    rid = r.json["id"]
    r = client.patch(f"/api/v1/notify/rules/{rid}", json={"min_severity": 4})
    assert r.status_code == 200 and r.json["min_severity"] == 4 and r.json["version"] == 2
    assert [x["name"] for x in client.get("/api/v1/notify/rules").json] == ["SO hears missed", "SOC"]
    assert client.delete(f"/api/v1/notify/rules/{rid}").status_code == 204


def test_my_preferences_need_a_login(app):
    assert app.test_client().get("/api/v1/notify/preferences/me").status_code == 401


def test_my_preferences_are_mine(client, api_as, session):
    from incident_service.auth.models import User

    hook = client.post("/api/v1/notify/channels", json=HOOK).json["id"]  # the admin sets up the channel
    oncall = api_as("oncall")
    r = oncall.put("/api/v1/notify/preferences/me", json={"channel_ids": [hook], "quiet_from": "22:00", "quiet_to": "07:00"})
    assert r.status_code == 200, r.json
    user = session.get(User, r.json["user_id"])
    assert user.roles == ["oncall"]
    assert r.json == {"user_id": user.id, "channel_ids": [hook], "quiet_from": "22:00:00", "quiet_to": "07:00:00"}
    assert client.get(f"/api/v1/notify/preferences/{user.id}").json["channel_ids"] == [hook]
    r = oncall.put("/api/v1/notify/preferences/me", json={"channel_ids": [999], "quiet_from": "22:00"})
    assert r.status_code == 422 and set(r.json["errors"]) == {"channel_ids", "quiet_from"}


def test_outbox_lists_with_filters_and_retries_only_undelivered(client, session, settings, people, open_incident,
                                                                raise_alerts):
    client.post("/api/v1/notify/channels", json=MAIL)
    incident = open_incident(people["reporter"])
    raise_alerts(T0 + timedelta(minutes=29))
    route_new_notifications(session=session, settings=settings, now=T0 + timedelta(minutes=29))
    r = client.get("/api/v1/notify/messages", query_string={"event": "escalation", "incident_id": incident.id})
    assert r.status_code == 200
    assert {m["recipient"] for m in r.json} == {"ming@firm.test", "hua@firm.test", "lin@firm.test"}
    assert all(m["state"] == "pending" and len(m["idempotency_key"]) == 36 for m in r.json)
    assert client.get("/api/v1/notify/messages", query_string={"state": "dead"}).json == []
    assert client.get("/api/v1/notify/messages", query_string={"state": "lost"}).status_code == 422

    mid = r.json[0]["id"]
    assert client.post(f"/api/v1/notify/messages/{mid}/retry").status_code == 409
    session.get(OutboxMessage, mid).state = MessageState.dead
    session.commit()
    summary = client.get("/api/v1/notify/summary").json
    assert summary["undelivered"] == 1 and summary["pending"] == 2 and summary["messages"][0]["id"] == mid
    r = client.post(f"/api/v1/notify/messages/{mid}/retry")
    assert r.status_code == 200 and r.json["state"] == "pending" and r.json["attempts"] == 0
    assert client.get(f"/api/v1/notify/messages/{mid}").json["state"] == "pending"
    assert client.get("/api/v1/notify/messages/999").status_code == 404


def test_the_endpoints_are_in_the_openapi_description(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/notify/channels", "/api/v1/notify/channels/{channel_id}", "/api/v1/notify/rules",
                 "/api/v1/notify/messages", "/api/v1/notify/messages/{message_id}/retry", "/api/v1/notify/summary",
                 "/api/v1/notify/preferences/me"):
        assert path in paths, path
    channel = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Channel"]["properties"]
    assert "secret" not in channel and "smtp_password" not in channel and "has_secret" in channel
