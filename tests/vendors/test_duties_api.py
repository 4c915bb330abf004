"""Vendor duties, access and termination through the REST API: the walk an integration does, and bad input."""
from __future__ import annotations

from datetime import timedelta

from incident_service.api_common import utc_iso
from incident_service.engine.service import run_tick


def _vendor_with_contract(client, starts_on="2024-01-01", **contract):
    vendor = client.post("/api/v1/vendors", json={"name": "Quotes Inc", "category": "operations"}).json
    system = client.post("/api/v1/systems", json={"name": "Quote feed", "is_core": True, "real_time_quotes": True,
                                                  "rto_minutes": 30, "rpo_minutes": 5}).json
    r = client.post("/api/v1/contracts", json={"vendor_id": vendor["id"], "reference": f"C-{vendor['id']}",
                                               "title": "Feed", "starts_on": starts_on, "system_ids": [system["id"]],
                                               **contract})
    assert r.status_code == 201, r.json
    return vendor, system, r.json


def _open_duty(client, vendor_id, kind):
    rows = client.get(f"/api/v1/duties?vendor_id={vendor_id}&kind={kind}&state=open").json
    assert len(rows) == 1, rows
    return rows[0]


def test_a_contract_in_force_puts_the_vendors_duties_on_the_clock(client, frozen):
    vendor, _, _ = _vendor_with_contract(client)
    kinds = {d["kind"] for d in client.get(f"/api/v1/duties?vendor_id={vendor['id']}").json}
    assert {"annual_audit", "failover_drill", "recovery_plan", "sla_report"} <= kinds
    audit = _open_duty(client, vendor["id"], "annual_audit")
    assert audit["state"] == "missed" and audit["seconds_left"] < 0, "the first audit was due in 2025"
    assert client.get(f"/api/v1/duties/{audit['id']}").json["title_en"] == "Yearly vendor audit"


def test_an_audit_completed_a_year_and_a_day_ago_is_due_again_missed_and_escalated_once(app, client, frozen, registry):
    vendor, _, _ = _vendor_with_contract(client)
    audit = _open_duty(client, vendor["id"], "annual_audit")
    done = frozen() - timedelta(days=366)
    r = client.post(f"/api/v1/duties/{audit['id']}/completions",
                    json={"completed_at": utc_iso(done), "evidence": "AUD-2025-17", "findings": "Patch lag",
                          "actions": [{"title": "Patch monthly", "owner": "ops", "due_on": "2026-12-31"}]})
    assert r.status_code == 201, r.json
    assert r.json["state"] == "met_late" and r.json["completed_by"] == "api-admin-supervisor"
    following = _open_duty(client, vendor["id"], "annual_audit")
    assert following["id"] != audit["id"] and following["state"] == "missed"
    assert following["due_at"] == utc_iso(done.replace(year=done.year + 1))
    with app.app_context():
        run_tick(engine_id="a", now_fn=frozen, batch_size=100, zone=registry.zone)
        run_tick(engine_id="b", now_fn=frozen, batch_size=100, zone=registry.zone)
    notes = client.get(f"/api/v1/notifications?vendor_id={vendor['id']}").json
    escalations = [n for n in notes if n.get("duty_id") == following["id"] and n["stage"] == "escalation"]
    assert len(escalations) == 1
    again = client.post(f"/api/v1/duties/{audit['id']}/completions", json={"completed_at": utc_iso(done), "evidence": "x"})
    assert again.status_code == 409


def test_a_completion_is_refused_with_field_messages(client, frozen):
    vendor, _, _ = _vendor_with_contract(client)
    audit = _open_duty(client, vendor["id"], "annual_audit")
    r = client.post(f"/api/v1/duties/{audit['id']}/completions",
                    json={"completed_at": utc_iso(frozen() + timedelta(days=1)), "evidence": "   "})
    assert r.status_code == 422 and {"completed_at", "evidence"} <= set(r.json["errors"])
    r = client.post(f"/api/v1/duties/{audit['id']}/completions", json={"evidence": "x", "colour": "red"})
    assert r.status_code == 422 and {"completed_at", "colour"} <= set(r.json["errors"])
    assert client.post("/api/v1/duties/99999/completions", json={"completed_at": utc_iso(frozen()), "evidence": "x"}).status_code == 404
    assert _open_duty(client, vendor["id"], "annual_audit")["id"] == audit["id"]


def test_remote_access_without_mfa_is_a_finding_until_revoked(client, frozen):
    vendor, system, _ = _vendor_with_contract(client)
    r = client.post(f"/api/v1/vendors/{vendor['id']}/access-grants", json={
        "person": "Wang", "system_id": system["id"], "access": "remote", "mfa": False, "approved_by": "carol",
        "starts_on": "2026-11-01"})
    assert r.status_code == 201, r.json
    findings = client.get(f"/api/v1/vendors/{vendor['id']}/findings").json
    assert [(f["kind"], f["person"], f["grant_id"]) for f in findings] == [("remote_without_mfa", "Wang", r.json["id"])]
    assert _open_duty(client, vendor["id"], "access_review")["state"] == "pending"
    revoked = client.post(f"/api/v1/access-grants/{r.json['id']}/revocation", json={"reason": "no MFA"})
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    assert client.get(f"/api/v1/vendors/{vendor['id']}/findings").json == []
    assert client.post(f"/api/v1/access-grants/{r.json['id']}/revocation", json={"reason": "again"}).status_code == 409


def test_bad_access_grants_are_refused(client, frozen):
    vendor, system, _ = _vendor_with_contract(client)
    url = f"/api/v1/vendors/{vendor['id']}/access-grants"
    base = {"person": "Wang", "system_id": system["id"], "access": "remote", "mfa": True, "approved_by": "c",
            "starts_on": "2026-11-01"}
    assert client.post(url, json={**base, "access": "telepathy"}).json["errors"].keys() == {"access"}
    assert client.post(url, json={**base, "ends_on": "2026-10-01"}).json["errors"].keys() == {"ends_on"}
    assert client.post(url, json={**base, "system_id": 99999}).json["errors"].keys() == {"system_id"}
    assert client.post("/api/v1/vendors/99999/access-grants", json=base).status_code == 404
    assert client.get(url).json == []


def test_an_access_review_must_decide_every_grant(client, frozen):
    vendor, system, _ = _vendor_with_contract(client)
    url = f"/api/v1/vendors/{vendor['id']}/access-grants"
    one = client.post(url, json={"person": "A", "system_id": system["id"], "access": "onsite", "mfa": True,
                                 "approved_by": "c", "starts_on": "2026-11-01"}).json
    two = client.post(url, json={"person": "B", "system_id": system["id"], "access": "privileged", "mfa": True,
                                 "approved_by": "c", "starts_on": "2026-11-01"}).json
    reviews = f"/api/v1/vendors/{vendor['id']}/access-reviews"
    partial = client.post(reviews, json={"reviewed_at": utc_iso(frozen()), "decisions": [{"grant_id": one["id"], "keep": True}]})
    assert partial.status_code == 422 and f"#{two['id']}" in partial.json["errors"]["decisions"][0]
    done = client.post(reviews, json={"reviewed_at": utc_iso(frozen()), "decisions": [
        {"grant_id": one["id"], "keep": True}, {"grant_id": two["id"], "keep": False, "note": "left the vendor"}]})
    assert done.status_code == 201 and done.json["duty_id"]
    assert client.get(f"/api/v1/duties/{done.json['duty_id']}").json["state"] == "met"
    assert [g["person"] for g in client.get(url).json] == ["A"]


def test_ending_a_contract_opens_its_checklist_with_a_clock(client, frozen):
    vendor, system, contract = _vendor_with_contract(client)
    url = f"/api/v1/contracts/{contract['id']}/termination"
    assert client.get(url).status_code == 404
    r = client.post(url, json={"ends_on": "2026-11-30", "successor": "NewFeed", "reason": "price"})
    assert r.status_code == 201, r.json
    assert [i["key"] for i in r.json["items"]] == ["access_revoked", "assets_returned", "successor_transfer",
                                                   "confidentiality_confirmed"]
    assert r.json["duty"]["kind"] == "termination" and r.json["duty"]["state"] == "pending"
    assert r.json["duty"]["due_at"] == utc_iso(frozen() + timedelta(days=30))
    assert client.post(url, json={"ends_on": "2026-11-30"}).status_code == 409
    refused = client.post(f"{url}/items/assets_returned", json={})
    assert refused.status_code == 422 and "reference" in refused.json["errors"]
    assert client.post(f"{url}/items/nonsense", json={}).status_code == 422
    for key, body in [("access_revoked", {}), ("assets_returned", {"reference": "DESTROY-9"}),
                      ("successor_transfer", {"not_applicable": True, "note": "in-house"}),
                      ("confidentiality_confirmed", {"reference": "NDA-2"})]:
        r = client.post(f"{url}/items/{key}", json=body)
        assert r.status_code == 200, r.json
    assert r.json["completed_at"] and r.json["duty"]["state"] == "met"


def test_duty_writes_follow_the_roles(api_as, client, frozen):
    vendor, system, contract = _vendor_with_contract(client)
    audit = _open_duty(client, vendor["id"], "annual_audit")
    auditor, oncall = api_as("auditor"), api_as("oncall")
    assert auditor.get(f"/api/v1/duties/{audit['id']}").status_code == 200
    body = {"completed_at": utc_iso(frozen()), "evidence": "x"}
    assert auditor.post(f"/api/v1/duties/{audit['id']}/completions", json=body).status_code == 403
    assert oncall.post(f"/api/v1/contracts/{contract['id']}/termination", json={"ends_on": "2026-12-31"}).status_code == 403
    assert oncall.post(f"/api/v1/vendors/{vendor['id']}/access-reviews",
                       json={"reviewed_at": utc_iso(frozen()), "decisions": []}).status_code == 403
