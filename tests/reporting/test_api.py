"""The reporting clock through the API: filings, the board, waivers, notifications, policies."""
from __future__ import annotations

from datetime import timedelta

import pytest

from incident_service.reporting.alerts import fire_due_alerts
from tests.conftest import T0


@pytest.fixture
def vendor_id(client, frozen):
    return client.post("/api/v1/vendors", json={"name": "V", "category": "cloud"}).json["id"]


def _open(client, vendor_id, minutes_ago, **kw):
    aware = (T0 - timedelta(minutes=minutes_ago)).isoformat()
    r = client.post("/api/v1/incidents", json={"vendor_id": vendor_id, "kind": "outage", "severity": 2, "title": "Down",
                                               "aware_at": aware, **kw})
    assert r.status_code == 201, r.json
    return r.json


def test_incident_answer_carries_deadlines_with_seconds_left(client, vendor_id):
    inc = _open(client, vendor_id, 25)
    initial = next(d for d in inc["deadlines"] if d["clock"] == "initial")
    assert initial["state"] == "pending" and initial["seconds_left"] == 300
    assert initial["due_at"] == "2026-11-20T18:15:00Z"


def test_board_lists_overdue_first_then_by_time_left(client, vendor_id, frozen):
    fresh = _open(client, vendor_id, 1)
    late = _open(client, vendor_id, 40)
    board = client.get("/api/v1/deadlines?state=pending").json + []
    everything = client.get("/api/v1/deadlines").json
    assert everything[0]["incident_id"] == late["id"] and everything[0]["state"] == "missed"
    assert everything[0]["seconds_left"] == -600
    assert [d["clock"] for d in everything if d["incident_id"] == fresh["id"]] == ["initial", "formal", "closure"]
    assert all(d["state"] == "pending" for d in board)
    missed = client.get("/api/v1/deadlines?state=missed").json
    assert [(d["incident_id"], d["clock"]) for d in missed] == [(late["id"], "initial")]
    assert client.get(f"/api/v1/deadlines?vendor_id={vendor_id + 1}").json == []


def test_recording_a_filing_through_the_api(client, vendor_id):
    inc = _open(client, vendor_id, 10)
    r = client.post(f"/api/v1/incidents/{inc['id']}/filings", json={
        "clock": "initial", "submitted_at": "2026-11-21T02:09:00+08:00", "reference": "ISAC-0001", "text": "初步通報內容"})
    assert r.status_code == 201, r.json
    assert r.json["reference"] == "ISAC-0001"
    after = client.get(f"/api/v1/incidents/{inc['id']}").json
    initial = next(d for d in after["deadlines"] if d["clock"] == "initial")
    assert initial["state"] == "met" and initial["seconds_left"] is None and initial["filed_at"] == "2026-11-20T18:09:00Z"
    assert after["status"] == "reported"
    assert [f["reference"] for f in client.get(f"/api/v1/incidents/{inc['id']}/filings").json] == ["ISAC-0001"]
    bad = client.post(f"/api/v1/incidents/{inc['id']}/filings", json={"clock": "initial"})
    assert bad.status_code == 422 and "submitted_at" in bad.json["errors"]


def test_awareness_correction_needs_a_reason_and_moves_deadlines(client, vendor_id):
    inc = _open(client, vendor_id, 5)
    r = client.post(f"/api/v1/incidents/{inc['id']}/awareness", json={"aware_at": "2026-11-21T01:50:00+08:00"})
    assert r.status_code == 422 and "reason" in r.json["errors"]
    r = client.post(f"/api/v1/incidents/{inc['id']}/awareness",
                    json={"aware_at": "2026-11-21T01:50:00+08:00", "reason": "Vendor e-mail arrived at 01:50"})
    assert r.status_code == 200
    initial = next(d for d in r.json["deadlines"] if d["clock"] == "initial")
    assert initial["due_at"] == "2026-11-20T18:20:00Z"
    plain = client.patch(f"/api/v1/incidents/{inc['id']}", json={"aware_at": "2026-11-21T01:40:00+08:00"})
    assert plain.status_code == 422 and "aware_at" in plain.json["errors"]


def test_waiver_and_close_through_the_api(client, vendor_id):
    inc = _open(client, vendor_id, 5)
    r = client.patch(f"/api/v1/incidents/{inc['id']}", json={"status": "closed"})
    assert r.status_code == 409 and r.json["code"] == "clocks_open" and len(r.json["errors"]["status"]) == 3
    for d in inc["deadlines"]:
        w = client.post(f"/api/v1/deadlines/{d['id']}/waiver", json={"reason": "Exchange confirmed no report is owed"})
        assert w.status_code == 200 and w.json["state"] == "waived"
    r = client.patch(f"/api/v1/incidents/{inc['id']}", json={"status": "closed"})
    assert r.status_code == 200 and r.json["status"] == "closed" and r.json["closed_at"]
    assert client.get("/api/v1/deadlines").json == []  # closed incidents leave the board
    assert len(client.get("/api/v1/deadlines?include_closed=true").json) == 3


def test_notifications_endpoint_lists_what_the_engine_raised(client, app, vendor_id):
    inc = _open(client, vendor_id, 40)
    from incident_service.extensions import db

    fire_due_alerts(session=db.session, now=T0, engine_id="t", zone=app.extensions["policies"].zone)
    items = client.get("/api/v1/notifications").json
    assert [(n["incident_id"], n["clock"], n["stage"]) for n in items] == [(inc["id"], "initial", "escalation")]
    assert items[0]["seconds_left"] == -600 and "OVERDUE" in items[0]["message_en"]
    assert client.get("/api/v1/notifications?stage=warning").json == []


def test_policies_endpoint_describes_clocks(client):
    policies = {p["key"]: p for p in client.get("/api/v1/policies").json}
    dora = {c["key"]: c for c in policies["eu_dora"]["clocks"]}
    assert dora["initial"]["rules"] == [{"start": "classified", "duration": "4h", "filing": "first"},
                                        {"start": "aware", "duration": "1d", "filing": "first"}]
    assert policies["twse"]["clocks"][3]["applies"] == {"trading_or_investors_affected": True}
