"""The record's rules through the REST API: status codes, field-level messages and who may do what."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import T0


@pytest.fixture
def setup(client, frozen):
    vendor = client.post("/api/v1/vendors", json={"name": "TWCA", "category": "operations"}).json
    system = client.post("/api/v1/systems", json={"name": "CA", "is_core": True, "rto_minutes": 30, "rpo_minutes": 5}).json
    contract = client.post("/api/v1/contracts", json={
        "vendor_id": vendor["id"], "reference": "CA-1", "title": "CA", "starts_on": "2025-01-01", "system_ids": [system["id"]],
        "service_levels": [{"system_id": system["id"], "rto_minutes": 60}], "availability_target": 99.9}).json
    return {"vendor": vendor, "system": system, "contract": contract}


def _open(client, setup, minutes_ago=10, **kw):
    body = {"vendor_id": setup["vendor"]["id"], "kind": "outage", "severity": 3, "title": "Logins fail",
            "aware_at": (T0 - timedelta(minutes=minutes_ago)).isoformat(), "system_ids": [setup["system"]["id"]], **kw}
    r = client.post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.json
    return r.json


def _deadline(incident, clock, policy="twse"):
    return next(d for d in incident["deadlines"] if d["clock"] == clock and d["policy"] == policy)


def test_a_vendor_notice_before_awareness_is_a_422_naming_the_bound(client, setup):
    r = client.post("/api/v1/incidents", json={"vendor_id": setup["vendor"]["id"], "kind": "outage", "severity": 2, "title": "x",
                                               "aware_at": "2026-11-21T02:00:00+08:00", "vendor_notified_at": "2026-11-21T01:50:00+08:00"})
    assert r.status_code == 422
    assert "vendor_notified_at 2026-11-20T17:50:00Z" in r.json["errors"]["aware_at"][0]


def test_awareness_corrections_report_the_outcomes_they_changed(client, setup):
    inc = _open(client, setup, minutes_ago=10)
    client.post(f"/api/v1/incidents/{inc['id']}/filings", json={"clock": "initial", "submitted_at": T0.isoformat()})
    r = client.post(f"/api/v1/incidents/{inc['id']}/awareness", json={"aware_at": (T0 - timedelta(minutes=45)).isoformat(),
                                                                      "reason": "the vendor called at 01:25"})
    assert r.status_code == 200 and _deadline(r.json, "initial")["state"] == "met_late"
    timeline = client.get(f"/api/v1/incidents/{inc['id']}/timeline").json
    assert any(e["kind"] == "deadline_outcome" and e["changes"]["state"] == ["met", "met_late"] for e in timeline)
    r = client.post(f"/api/v1/incidents/{inc['id']}/awareness", json={"aware_at": (T0 + timedelta(minutes=1)).isoformat(),
                                                                      "reason": "later than the filing"})
    assert r.status_code == 422 and "aware_at" in r.json["errors"]


def test_a_waiver_after_the_due_time_is_a_409_and_a_justification_keeps_the_miss(client, api_as, setup, frozen):
    inc = _open(client, setup, minutes_ago=40)
    initial = _deadline(inc, "initial")
    r = client.post(f"/api/v1/deadlines/{initial['id']}/waiver", json={"reason": "not owed after all"})
    assert r.status_code == 409 and r.json["code"] == "past_due" and "cannot be waived" in r.json["message"]
    assert api_as("oncall").post(f"/api/v1/deadlines/{initial['id']}/justification", json={"reason": "x y z"}).status_code == 403
    r = client.post(f"/api/v1/deadlines/{initial['id']}/justification", json={"reason": "ISAC portal unreachable"})
    assert r.status_code == 200 and r.json["state"] == "missed" and r.json["justification"] == "ISAC portal unreachable"
    assert r.json["justified_by"] and r.json["justified_at"] == "2026-11-20T18:10:00Z"
    history = client.get(f"/api/v1/vendors/{setup['vendor']['id']}/history").json
    tally = next(c for c in history["summary"]["clocks"] if c["clock"] == "initial")
    assert tally["missed"] == 1 and tally["justified"] == 1 and tally["on_time_rate"] == 0.0


def test_two_regimes_need_the_policy_named_and_each_filing_stops_its_own(client, setup):
    inc = _open(client, setup, policies=["twse", "eu_dora"])
    r = client.post(f"/api/v1/incidents/{inc['id']}/filings", json={"clock": "initial", "submitted_at": T0.isoformat()})
    assert r.status_code == 422 and "twse" in r.json["errors"]["policy"][0] and "eu_dora" in r.json["errors"]["policy"][0]
    r = client.post(f"/api/v1/incidents/{inc['id']}/filings", json={"clock": "initial", "policy": "eu_dora", "submitted_at": T0.isoformat()})
    assert r.status_code == 201 and r.json["policy"] == "eu_dora"
    after = client.get(f"/api/v1/incidents/{inc['id']}").json
    assert _deadline(after, "initial", "eu_dora")["state"] == "met" and _deadline(after, "initial", "twse")["state"] == "pending"


def test_backdated_filings_need_a_supervisor(client, api_as, setup):
    inc = _open(client, setup, minutes_ago=180)
    body = {"clock": "initial", "submitted_at": (T0 - timedelta(minutes=90)).isoformat(), "reference": "R-1"}
    r = api_as("oncall").post(f"/api/v1/incidents/{inc['id']}/filings", json=body)
    assert r.status_code == 403 and r.json["code"] == "backdated_filing" and "submitted_at" in r.json["errors"]
    r = client.post(f"/api/v1/incidents/{inc['id']}/filings", json=body)
    assert r.status_code == 201 and r.json["submitted_at"] == "2026-11-20T16:40:00Z" and r.json["recorded_at"] == "2026-11-20T18:10:00Z"
    deadline = _deadline(client.get(f"/api/v1/incidents/{inc['id']}").json, "initial")
    assert deadline["filed_at"] == "2026-11-20T16:40:00Z" and deadline["recorded_at"] == "2026-11-20T18:10:00Z"


def test_closure_needs_recovery_and_closing_with_open_remediation_needs_confirmation(client, setup):
    inc = _open(client, setup, minutes_ago=10, service_down_at=(T0 - timedelta(minutes=12)).isoformat())
    r = client.post(f"/api/v1/incidents/{inc['id']}/filings", json={"clock": "closure", "submitted_at": T0.isoformat()})
    assert r.status_code == 422 and "service_restored_at" in r.json["errors"]["clock"][0]
    r = client.patch(f"/api/v1/incidents/{inc['id']}", json={"status": "closed"})
    assert r.status_code == 409 and r.json["code"] == "service_down"
    client.patch(f"/api/v1/incidents/{inc['id']}", json={"service_restored_at": T0.isoformat()})
    for kind in ("initial", "formal", "closure"):
        assert client.post(f"/api/v1/incidents/{inc['id']}/filings", json={"clock": kind, "submitted_at": T0.isoformat()}).status_code == 201
    client.post(f"/api/v1/incidents/{inc['id']}/remediations", json={"action": "code_review", "title": "Review", "owner": "Ops",
                                                                      "due_on": "2026-12-01"})
    r = client.patch(f"/api/v1/incidents/{inc['id']}", json={"status": "closed"})
    assert r.status_code == 409 and r.json["code"] == "remediation_open"
    r = client.patch(f"/api/v1/incidents/{inc['id']}", json={"status": "closed", "confirm_open_remediation": True})
    assert r.status_code == 200 and r.json["status"] == "closed"
    r = client.post(f"/api/v1/incidents/{inc['id']}/filings", json={"clock": "formal", "submitted_at": T0.isoformat()})
    assert r.status_code == 409 and r.json["code"] == "closed"


def test_policies_change_only_by_a_supervisor_with_a_reason(client, api_as, setup):
    inc = _open(client, setup)
    oncall = api_as("oncall")
    assert oncall.patch(f"/api/v1/incidents/{inc['id']}", json={"policies": ["twse", "eu_dora"], "reason": "EU"}).status_code == 403
    r = client.patch(f"/api/v1/incidents/{inc['id']}", json={"policies": ["twse", "eu_dora"]})
    assert r.status_code == 422 and "reason" in r.json["errors"]
    r = client.patch(f"/api/v1/incidents/{inc['id']}", json={"policies": ["twse", "eu_dora"], "reason": "EU parent company"})
    assert r.status_code == 200 and {d["policy"] for d in r.json["deadlines"]} == {"twse", "eu_dora"}


def test_an_impact_learnt_late_through_the_api(client, setup, frozen):
    inc = _open(client, setup, minutes_ago=60)
    frozen.advance(minutes=50)
    r = client.patch(f"/api/v1/incidents/{inc['id']}", json={"trading_affected": True})
    assert r.status_code == 200 and r.json["impact_known_at"] == "2026-11-20T19:00:00Z"
    notice = _deadline(r.json, "public_notice")
    assert notice["due_at"] == "2026-11-20T19:30:00Z" and notice["seconds_left"] == 1800


def test_no_contract_is_measured_against_the_contract_in_force_and_says_so(client, setup):
    inc = _open(client, setup, service_down_at=(T0 - timedelta(minutes=45)).isoformat(), service_restored_at=T0.isoformat())
    derived = inc["derived"]
    assert derived["contract"]["basis"] == "in_force" and derived["contract"]["contract_id"] == setup["contract"]["id"]
    assert derived["outage"]["systems"][0]["rto_minutes"] == 60 and derived["outage"]["rto_breached"] is False
    r = client.post("/api/v1/contracts", json={"vendor_id": setup["vendor"]["id"], "reference": "OLD", "title": "old",
                                               "starts_on": "2024-01-01", "ends_on": "2024-12-31"})
    r = client.patch(f"/api/v1/incidents/{inc['id']}", json={"contract_id": r.json["id"]})
    assert r.status_code == 422 and "not in force" in r.json["errors"]["contract_id"][0]


def test_four_eyes_on_remediation_through_the_api(client, setup):
    inc = _open(client, setup)
    rid = client.post(f"/api/v1/incidents/{inc['id']}/remediations", json={
        "action": "stress_test", "title": "Stress", "owner": "Ops", "due_on": "2026-12-01", "status": "done", "evidence": "ST"}).json["id"]
    r = client.post(f"/api/v1/remediations/{rid}/verify")
    assert r.status_code == 403 and r.json["code"] == "four_eyes"


def test_the_reportability_decision_and_its_criteria(client, api_as, setup):
    inc = _open(client, setup, policies=["twse", "eu_dora"])
    criteria = client.get("/api/v1/incident-criteria").json
    assert criteria["severity_scale"]["source"].startswith("資通安全事件通報及應變辦法")
    keys = [c["key"] for c in criteria["major_incident"]["entries"]]
    assert "core_system_down" in keys
    body = {"major": True, "criteria": ["core_system_down"], "reason": "core system down"}
    assert api_as("oncall").post(f"/api/v1/incidents/{inc['id']}/reportability", json=body).status_code == 403
    r = client.post(f"/api/v1/incidents/{inc['id']}/reportability", json={**body, "criteria": ["bogus"]})
    assert r.status_code == 422 and "criteria" in r.json["errors"]
    r = client.post(f"/api/v1/incidents/{inc['id']}/reportability", json=body)
    assert r.status_code == 200 and r.json["major_incident"] is True and r.json["major_criteria"] == ["core_system_down"]
    assert r.json["classified_at"] == "2026-11-20T18:10:00Z"
    assert _deadline(r.json, "initial", "eu_dora")["due_at"] == "2026-11-20T22:10:00Z"


def test_drafts_through_the_api(client, setup):
    inc = _open(client, setup, trading_affected=True)
    r = client.get(f"/api/v1/incidents/{inc['id']}/drafts")
    assert r.status_code == 200
    by_clock = {d["clock"]: d for d in r.json}
    assert by_clock["initial"]["text"].startswith("【初步通報】") and "TWCA" not in by_clock["public_notice"]["text"]
