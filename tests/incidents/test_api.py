"""Incidents through the API: the integration's walk, validation, concurrency, remediation, history."""
from __future__ import annotations

import pytest

from tests.conftest import T0


@pytest.fixture
def setup(client, frozen):
    vendor = client.post("/api/v1/vendors", json={"name": "TWCA", "category": "operations"}).json
    other = client.post("/api/v1/vendors", json={"name": "Other", "category": "cloud"}).json
    core = client.post("/api/v1/systems", json={"name": "CA server", "is_core": True, "rto_minutes": 30, "rpo_minutes": 5}).json
    app_sys = client.post("/api/v1/systems", json={"name": "Order app", "is_core": True, "rto_minutes": 60, "rpo_minutes": 0}).json
    contract = client.post("/api/v1/contracts", json={
        "vendor_id": vendor["id"], "reference": "CA-1", "title": "CA", "starts_on": "2025-01-01",
        "system_ids": [core["id"], app_sys["id"]], "vendor_notify_minutes": 15, "availability_target": 99.9}).json
    return {"vendor": vendor, "other": other, "core": core, "app": app_sys, "contract": contract}


def _incident(setup, **kw):
    return {"vendor_id": setup["vendor"]["id"], "contract_id": setup["contract"]["id"], "kind": "outage", "severity": 3,
            "title": "Logins fail", "aware_at": "2026-11-21T02:00:00+08:00", "system_ids": [setup["core"]["id"]], **kw}


def test_integration_walk_reads_back_derived_figures(client, setup):
    r = client.post("/api/v1/incidents", json=_incident(
        setup, occurred_at="2026-11-21T01:20:00+08:00", vendor_aware_at="2026-11-21T01:30:00+08:00",
        vendor_notified_at="2026-11-21T02:00:00+08:00", service_down_at="2026-11-21T01:25:00+08:00",
        service_restored_at="2026-11-21T02:05:00+08:00", data_loss_from="2026-11-21T01:20:00+08:00",
        data_loss_to="2026-11-21T01:27:00+08:00", system_ids=[setup["core"]["id"], setup["app"]["id"]]))
    assert r.status_code == 201, r.json
    inc = client.get(f"/api/v1/incidents/{r.json['id']}").json
    assert inc["aware_at"] == "2026-11-20T18:00:00Z"
    outage = inc["derived"]["outage"]
    assert outage["minutes"] == 40.0
    rto = {row["system_id"]: row["breached"] for row in outage["systems"]}
    assert rto == {setup["core"]["id"]: True, setup["app"]["id"]: False}
    assert inc["derived"]["data_loss"]["minutes"] == 7.0 and inc["derived"]["data_loss"]["rpo_breached"] is True
    notify = inc["derived"]["vendor_notification"]
    assert notify["delay_minutes"] == 30.0 and notify["breached"] is True
    assert inc["derived"]["availability"]["month"] == "2026-11"
    assert {d["clock"] for d in inc["deadlines"]} == {"initial", "formal", "closure"}
    assert inc["status"] == "recovered"


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"system_ids": [999]}, "system_ids"),
        ({"aware_at": "2026-11-21T03:00:00+08:00"}, "aware_at"),  # in the future (now is 02:10)
        ({"service_down_at": "2026-11-21T01:00:00+08:00", "service_restored_at": "2026-11-21T00:50:00+08:00"}, "service_restored_at"),
        ({"service_restored_at": "2026-11-21T01:00:00+08:00"}, "service_down_at"),
        ({"aware_at": "2026-11-21T02:00:00"}, "aware_at"),  # no offset
        ({"aware_at": "yesterday"}, "aware_at"),
        ({"severity": 5}, "severity"),
        ({"severity": "3"}, "severity"),
        ({"kind": "meteor"}, "kind"),
        ({"title": "x" * 201}, "title"),
        ({"description": "x" * 10001}, "description"),
        ({"favourite": 1}, "favourite"),
        ({"vendor_id": 999}, "vendor_id"),
        ({"policies": ["nope"]}, "policies"),
        ({"occurred_at": "2026-11-21T02:05:00+08:00"}, "aware_at"),  # aware before it occurred
        ({"data_loss_from": "2026-11-21T01:00:00+08:00"}, "data_loss_to"),
        ({"estimated_loss_ntd": -1}, "estimated_loss_ntd"),
    ],
)
def test_bad_incident_input_is_refused_and_nothing_written(client, setup, patch, field):
    r = client.post("/api/v1/incidents", json=_incident(setup, **patch))
    assert r.status_code == 422, r.json
    assert field in r.json["errors"], r.json
    assert client.get("/api/v1/incidents").json == []
    assert client.get("/api/v1/deadlines?include_closed=true").json == []


def test_contract_of_another_vendor_is_refused(client, setup):
    r = client.post("/api/v1/incidents", json=_incident(setup, vendor_id=setup["other"]["id"]))
    assert r.status_code == 422 and "contract_id" in r.json["errors"]


def test_hostile_strings_are_stored_as_text(client, setup):
    title = "'; DROP TABLE incidents; -- <script>alert(1)</script>"
    r = client.post("/api/v1/incidents", json=_incident(setup, title=title))
    assert r.status_code == 201 and r.json["title"] == title
    assert len(client.get("/api/v1/incidents").json) == 1


def test_non_json_body_gets_a_json_error(client, setup):
    r = client.post("/api/v1/incidents", data="title=x", content_type="application/x-www-form-urlencoded")
    assert 400 <= r.status_code < 500 and r.is_json and set(r.json) == {"code", "message", "errors"}


def test_concurrent_edits_do_not_overwrite_each_other(client, setup):
    inc = client.post("/api/v1/incidents", json=_incident(setup)).json
    first = client.patch(f"/api/v1/incidents/{inc['id']}", json={"root_cause": "A", "version": inc["version"]})
    assert first.status_code == 200
    second = client.patch(f"/api/v1/incidents/{inc['id']}", json={"root_cause": "B", "version": inc["version"]})
    assert second.status_code == 409 and second.json["code"] == "stale_version"
    assert client.get(f"/api/v1/incidents/{inc['id']}").json["root_cause"] == "A"


def test_patch_validates_the_merged_record(client, setup):
    inc = client.post("/api/v1/incidents", json=_incident(setup, service_down_at="2026-11-21T01:00:00+08:00")).json
    r = client.patch(f"/api/v1/incidents/{inc['id']}", json={"service_restored_at": "2026-11-21T00:30:00+08:00"})
    assert r.status_code == 422 and "service_restored_at" in r.json["errors"]
    assert client.get(f"/api/v1/incidents/{inc['id']}").json["service_restored_at"] is None


def test_every_change_is_on_the_timeline(client, setup):
    inc = client.post("/api/v1/incidents", json=_incident(setup)).json
    client.patch(f"/api/v1/incidents/{inc['id']}", json={"root_cause": "OS update re-enabled the firewall"})
    events = client.get(f"/api/v1/incidents/{inc['id']}/timeline").json
    assert [e["kind"] for e in events] == ["created", "updated"]
    assert events[1]["changes"]["root_cause"] == [None, "OS update re-enabled the firewall"]


def test_filters_on_incident_list(client, setup):
    client.post("/api/v1/incidents", json=_incident(setup, severity=1, kind="security", aware_at="2026-11-01T10:00:00+08:00"))
    client.post("/api/v1/incidents", json=_incident(setup, severity=4))
    assert len(client.get("/api/v1/incidents?kind=security").json) == 1
    assert len(client.get("/api/v1/incidents?min_severity=3").json) == 1
    assert len(client.get("/api/v1/incidents?aware_from=2026-11-10T00:00:00%2B08:00").json) == 1
    assert len(client.get(f"/api/v1/incidents?vendor_id={setup['other']['id']}").json) == 0
    assert client.get("/api/v1/incidents?status=bogus").status_code == 422


def test_remediation_lifecycle_needs_evidence_and_verification(client, api_as, setup, frozen):
    oncall = api_as("oncall")
    inc = client.post("/api/v1/incidents", json=_incident(setup)).json
    r = client.post(f"/api/v1/incidents/{inc['id']}/remediations", json={
        "action": "stress_test", "title": "Wider stress test", "owner": "Ops", "due_on": "2026-11-20"})
    assert r.status_code == 201 and r.json["overdue"] is True
    rid = r.json["id"]
    assert client.post(f"/api/v1/remediations/{rid}/verify").status_code == 409  # not done yet
    assert client.patch(f"/api/v1/remediations/{rid}", json={"status": "verified"}).status_code == 422
    assert oncall.patch(f"/api/v1/remediations/{rid}", json={"status": "done"}).status_code == 200
    r = client.post(f"/api/v1/remediations/{rid}/verify")
    assert r.status_code == 422 and "evidence" in r.json["errors"]
    oncall.patch(f"/api/v1/remediations/{rid}", json={"evidence": "Report ST-7"})
    r = client.post(f"/api/v1/remediations/{rid}/verify")
    assert r.status_code == 200 and r.json["status"] == "verified" and r.json["verified_at"]
    assert r.json["overdue"] is False
    assert client.patch(f"/api/v1/remediations/{rid}", json={"owner": "x"}).status_code == 409


def test_vendor_history_gives_figures_and_on_time_rates(client, setup, frozen):
    a = client.post("/api/v1/incidents", json=_incident(setup, aware_at="2026-11-21T01:00:00+08:00",
                                                       service_down_at="2026-11-21T00:50:00+08:00",
                                                       service_restored_at="2026-11-21T01:40:00+08:00")).json
    client.post(f"/api/v1/incidents/{a['id']}/filings", json={"clock": "initial", "submitted_at": "2026-11-21T01:20:00+08:00"})
    b = client.post("/api/v1/incidents", json=_incident(setup, aware_at="2026-11-21T02:00:00+08:00")).json
    client.post(f"/api/v1/incidents/{b['id']}/filings", json={"clock": "initial", "submitted_at": "2026-11-21T02:05:00+08:00"})
    frozen.advance(hours=1)
    h = client.get(f"/api/v1/vendors/{setup['vendor']['id']}/history").json
    assert h["summary"]["incidents"] == 2 and h["summary"]["rto_breaches"] == 1
    initial = next(c for c in h["summary"]["clocks"] if c["clock"] == "initial")
    assert initial["met"] == 2 and initial["on_time_rate"] == 1.0
    assert h["summary"]["availability"][0]["outage_minutes"] == 50.0
    assert client.get("/api/v1/vendors/999/history").status_code == 404
    only_b = client.get(f"/api/v1/vendors/{setup['vendor']['id']}/history?aware_from=2026-11-21T01:30:00%2B08:00").json
    assert [i["id"] for i in only_b["incidents"]] == [b["id"]]
