"""Vendor changes and the market's hours (seed 001 Art. 4: no update before the open or during the session), the
supervisor's approval, and the incident a change caused (counted in the vendor's history)."""
from __future__ import annotations

from datetime import date, datetime, time

import pytest

from incident_service.datafiles import DataFileError
from incident_service.vendors.catalogues import load_trading_calendar

# The frozen clock stands at Saturday 2026-11-21 02:10 in Taipei; Monday 2026-11-23 is a trading day.


def _vendor(client, name="Broker IT"):
    vendor = client.post("/api/v1/vendors", json={"name": name, "category": "system_development"}).json
    system = client.post("/api/v1/systems", json={"name": f"Order entry {vendor['id']}", "is_core": True}).json
    return vendor, system


def _plan(client, vendor, system, start, end, **extra):
    return client.post("/api/v1/vendor-changes", json={
        "vendor_id": vendor["id"], "title": "OS patch", "rollback_plan": "Restore the VM snapshot",
        "system_ids": [system["id"]], "planned_start": start, "planned_end": end, **extra})


@pytest.mark.parametrize("start, end, where", [
    ("2026-11-23T10:00:00+08:00", "2026-11-23T10:30:00+08:00", "during the session"),
    ("2026-11-23T08:45:00+08:00", "2026-11-23T08:55:00+08:00", "just before the open"),
    ("2026-11-23T13:00:00+08:00", "2026-11-23T14:00:00+08:00", "across the close"),
    ("2026-11-20T20:00:00+08:00", "2026-11-23T09:10:00+08:00", "from Friday night into Monday's session"),
    ("2026-11-23T02:00:00Z", "2026-11-23T02:30:00Z", "10:00 in Taipei written in UTC"),
])
def test_a_change_in_market_hours_is_refused(client, frozen, start, end, where):
    vendor, system = _vendor(client)
    r = _plan(client, vendor, system, start, end)
    assert r.status_code == 422, where
    assert r.json["code"] == "market_hours"
    assert "2026-11-2" in r.json["errors"]["planned_start"][0] and "trading day" in r.json["errors"]["planned_start"][0]
    assert client.get("/api/v1/vendor-changes").json == []


@pytest.mark.parametrize("start, end, where", [
    ("2026-11-23T13:30:00+08:00", "2026-11-23T15:00:00+08:00", "after the close"),
    ("2026-11-23T07:00:00+08:00", "2026-11-23T08:30:00+08:00", "ending as the pre-open window starts"),
    ("2026-11-21T10:00:00+08:00", "2026-11-21T12:00:00+08:00", "on a Saturday"),
    ("2026-12-25T10:00:00+08:00", "2026-12-25T11:00:00+08:00", "on an exchange holiday"),
])
def test_a_change_outside_market_hours_is_planned(client, frozen, start, end, where):
    vendor, system = _vendor(client)
    r = _plan(client, vendor, system, start, end)
    assert r.status_code == 201, (where, r.json)
    assert r.json["state"] == "proposed" and r.json["in_market_hours"] is False and r.json["system_ids"] == [system["id"]]


def test_an_emergency_in_market_hours_needs_a_reason_and_another_supervisor(client, api_as, frozen):
    vendor, system = _vendor(client)
    r = _plan(client, vendor, system, "2026-11-23T10:00:00+08:00", "2026-11-23T10:20:00+08:00", emergency=True)
    assert r.status_code == 422 and "emergency_reason" in r.json["errors"]
    r = _plan(client, vendor, system, "2026-11-23T10:00:00+08:00", "2026-11-23T10:20:00+08:00", emergency=True,
              emergency_reason="Zero-day exploited against the order gateway")
    assert r.status_code == 201, r.json
    change = r.json
    assert change["state"] == "proposed" and change["in_market_hours"] is True
    r = client.post(f"/api/v1/vendor-changes/{change['id']}/approval", json={})
    assert r.status_code == 403 and r.json["code"] == "own_change"
    assert api_as("oncall").post(f"/api/v1/vendor-changes/{change['id']}/approval", json={}).status_code == 403
    r = api_as("supervisor").post(f"/api/v1/vendor-changes/{change['id']}/approval", json={"note": "CISO agreed by phone"})
    assert r.status_code == 200, r.json
    assert r.json["state"] == "approved" and r.json["approval_note"] == "CISO agreed by phone"


def test_replanning_into_market_hours_is_refused_and_an_approved_change_is_closed_not_edited(client, api_as, frozen):
    vendor, system = _vendor(client)
    change = _plan(client, vendor, system, "2026-11-23T18:00:00+08:00", "2026-11-23T19:00:00+08:00").json
    r = client.patch(f"/api/v1/vendor-changes/{change['id']}", json={"planned_start": "2026-11-23T12:00:00+08:00",
                                                                       "version": change["version"]})
    assert r.status_code == 422 and r.json["code"] == "market_hours"
    assert client.get(f"/api/v1/vendor-changes/{change['id']}").json["planned_start"] == "2026-11-23T10:00:00Z"
    api_as("supervisor").post(f"/api/v1/vendor-changes/{change['id']}/approval", json={})
    r = client.patch(f"/api/v1/vendor-changes/{change['id']}", json={"title": "Other"})
    assert r.status_code == 409 and r.json["code"] == "not_proposed"
    r = api_as("oncall").post(f"/api/v1/vendor-changes/{change['id']}/closure", json={"state": "done", "outcome": "OK"})
    assert r.status_code == 200 and r.json["state"] == "done" and r.json["closed_by"].startswith("api-oncall")
    assert client.post(f"/api/v1/vendor-changes/{change['id']}/closure", json={"state": "cancelled"}).status_code == 409


@pytest.mark.parametrize("start, end, extra, field", [
    ("2026-11-23T19:00:00+08:00", "2026-11-23T18:00:00+08:00", {}, "planned_end"),
    ("2026-11-23T19:00:00+08:00", "2027-01-23T18:00:00+08:00", {}, "planned_end"),
    ("2026-11-23T19:00:00", "2026-11-23T20:00:00+08:00", {}, "planned_start"),
    ("2026-11-23T19:00:00+08:00", "2026-11-23T20:00:00+08:00", {"title": " "}, "title"),
    ("2026-11-23T19:00:00+08:00", "2026-11-23T20:00:00+08:00", {"system_ids": [999]}, "system_ids"),
    ("2026-11-23T19:00:00+08:00", "2026-11-23T20:00:00+08:00", {"vendor_id": 999}, "vendor_id"),
    ("2026-11-23T19:00:00+08:00", "2026-11-23T20:00:00+08:00", {"title": "a\nb"}, "title"),
])
def test_bad_changes_are_refused_with_the_field_named(client, frozen, start, end, extra, field):
    vendor, system = _vendor(client)
    r = _plan(client, vendor, system, start, end, **extra)
    assert r.status_code == 422, r.json
    assert field in r.json["errors"]
    assert client.get("/api/v1/vendor-changes").json == []


def test_an_incident_names_the_change_that_caused_it_and_the_history_counts_it(client, frozen):
    vendor, system = _vendor(client)
    change = _plan(client, vendor, system, "2026-11-20T20:00:00+08:00", "2026-11-20T21:00:00+08:00").json
    later = _plan(client, vendor, system, "2026-11-21T20:00:00+08:00", "2026-11-21T21:00:00+08:00").json
    other_vendor, other_system = _vendor(client, "Cloud host")
    foreign = _plan(client, other_vendor, other_system, "2026-11-20T20:00:00+08:00", "2026-11-20T21:00:00+08:00").json
    body = {"vendor_id": vendor["id"], "kind": "outage", "severity": 3, "title": "Firewall blocks logins after the patch",
            "aware_at": "2026-11-21T01:00:00+08:00", "system_ids": [system["id"]]}
    assert client.post("/api/v1/incidents", json={**body, "caused_by_change_id": foreign["id"]}).status_code == 422
    r = client.post("/api/v1/incidents", json={**body, "caused_by_change_id": later["id"]})
    assert r.status_code == 422 and "caused_by_change_id" in r.json["errors"]
    r = client.post("/api/v1/incidents", json={**body, "caused_by_change_id": change["id"]})
    assert r.status_code == 201, r.json
    assert r.json["caused_by_change_id"] == change["id"]
    client.post("/api/v1/incidents", json={**body, "title": "Unrelated"})
    history = client.get(f"/api/v1/vendors/{vendor['id']}/history").json
    assert history["summary"]["change_caused"] == 1 and history["summary"]["incidents"] == 2
    assert {i["caused_by_change_id"] for i in history["incidents"]} == {change["id"], None}


def test_the_trading_calendar_is_data_and_can_be_replaced(tmp_path):
    calendar = load_trading_calendar()
    assert calendar.is_trading_day(date(2026, 11, 23)) and not calendar.is_trading_day(date(2026, 12, 25))
    window = calendar.window_on(date(2026, 11, 23))
    assert (window.starts_at.time(), window.ends_at.time()) == (time(8, 30), time(13, 30))
    own = tmp_path / "calendar.toml"
    own.write_text('source = "own"\nzone = "Asia/Taipei"\nsession_open = "09:00"\nsession_close = "13:30"\n'
                   'holidays = ["2026-11-23"]\nextra_trading_days = ["2026-11-21"]\n', encoding="utf-8")
    mine = load_trading_calendar(own)
    assert not mine.is_trading_day(date(2026, 11, 23)) and mine.is_trading_day(date(2026, 11, 21))
    saturday = datetime(2026, 11, 21, 10, tzinfo=mine.zone)
    assert mine.windows_overlapping(saturday, saturday.replace(hour=11))


def test_a_bad_trading_calendar_is_refused_naming_the_field(tmp_path):
    bad = tmp_path / "calendar.toml"
    bad.write_text('source = "x"\nzone = "Mars/Olympus"\nsession_open = "13:30"\nsession_close = "09:00"\n', encoding="utf-8")
    with pytest.raises(DataFileError, match="calendar.toml: zone: 'Mars/Olympus' is not a time zone"):
        load_trading_calendar(bad)


def test_an_incident_can_be_linked_to_its_change_later_and_unlinked(client, frozen):
    vendor, system = _vendor(client)
    change = _plan(client, vendor, system, "2026-11-20T20:00:00+08:00", "2026-11-20T21:00:00+08:00").json
    incident = client.post("/api/v1/incidents", json={
        "vendor_id": vendor["id"], "kind": "outage", "severity": 2, "title": "Slow logins",
        "aware_at": "2026-11-21T01:00:00+08:00"}).json
    r = client.patch(f"/api/v1/incidents/{incident['id']}", json={"caused_by_change_id": change["id"],
                                                                   "version": incident["version"]})
    assert r.status_code == 200 and r.json["caused_by_change_id"] == change["id"]
    assert client.patch(f"/api/v1/incidents/{incident['id']}", json={"caused_by_change_id": 999}).status_code == 422
    r = client.patch(f"/api/v1/incidents/{incident['id']}", json={"caused_by_change_id": None})
    assert r.status_code == 200 and r.json["caused_by_change_id"] is None


def test_the_fields_api_md_names_are_enough_to_plan_a_change(client, frozen):
    vendor, system = _vendor(client)
    r = client.post("/api/v1/vendor-changes", json={
        "vendor_id": vendor["id"], "system_ids": [system["id"]], "planned_start": "2026-11-23T19:00:00+08:00",
        "planned_end": "2026-11-23T20:00:00+08:00", "description": "Kernel update\nReboot both nodes", "emergency": False})
    assert r.status_code == 201, r.json
    assert r.json["title"] == "Kernel update" and r.json["rollback_plan"] == "" and r.json["state"] == "proposed"
    r = client.post("/api/v1/vendor-changes", json={
        "vendor_id": vendor["id"], "system_ids": [system["id"]], "planned_start": "2026-11-23T10:00:00+08:00",
        "planned_end": "2026-11-23T10:30:00+08:00", "description": "Hotfix for the order gateway", "emergency": True})
    assert r.status_code == 201 and r.json["in_market_hours"] and r.json["emergency_reason"] == "Hotfix for the order gateway"
    r = client.post("/api/v1/vendor-changes", json={
        "vendor_id": vendor["id"], "planned_start": "2026-11-23T10:00:00+08:00", "planned_end": "2026-11-23T10:30:00+08:00",
        "description": "Patch"})
    assert r.status_code == 422 and r.json["code"] == "market_hours" and "planned_start" in r.json["errors"]
