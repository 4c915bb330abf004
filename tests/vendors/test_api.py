"""Vendors, systems and contracts through the API: the walk an integration does, and bad input."""
from __future__ import annotations

import pytest


def _vendor(client, **kw):
    body = {"name": "TWCA", "category": "operations", "tax_id": "70759028", **kw}
    return client.post("/api/v1/vendors", json=body)


def test_create_read_update_vendor_with_certifications(client):
    r = _vendor(client, certifications=[{"name": "ISO 27001", "expires_on": "2027-06-30"}],
                subcontractors=[{"name": "Microsoft", "service": "OS updates"}], contact_email="noc@twca.example")
    assert r.status_code == 201, r.json
    vendor = r.json
    assert vendor["certifications"] == [{"name": "ISO 27001", "expires_on": "2027-06-30"}]
    assert vendor["version"] == 1
    r = client.patch(f"/api/v1/vendors/{vendor['id']}", json={"service_location": "Taipei", "version": 1})
    assert r.status_code == 200
    assert r.json["service_location"] == "Taipei" and r.json["version"] == 2
    assert client.get(f"/api/v1/vendors/{vendor['id']}").json["service_location"] == "Taipei"


def test_stale_vendor_write_is_refused_with_409(client):
    vid = _vendor(client).json["id"]
    assert client.patch(f"/api/v1/vendors/{vid}", json={"notes": "first", "version": 1}).status_code == 200
    r = client.patch(f"/api/v1/vendors/{vid}", json={"notes": "second", "version": 1})
    assert r.status_code == 409
    assert r.json["code"] == "stale_version" and "version" in r.json["errors"]
    assert client.get(f"/api/v1/vendors/{vid}").json["notes"] == "first"


def test_if_match_header_guards_writes_too(client):
    vid = _vendor(client).json["id"]
    r = client.patch(f"/api/v1/vendors/{vid}", json={"notes": "x"}, headers={"If-Match": '"7"'})
    assert r.status_code == 409


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "A", "category": "nonsense"}, "category"),
        ({"name": "A", "category": "cloud", "tax_id": "1234"}, "tax_id"),
        ({"name": "A" * 201, "category": "cloud"}, "name"),
        ({"category": "cloud"}, "name"),
        ({"name": "A", "category": "cloud", "colour": "red"}, "colour"),
        ({"name": 5, "category": "cloud"}, "name"),
        ({"name": "A", "category": "cloud", "contact_email": "not-an-email"}, "contact_email"),
    ],
)
def test_bad_vendor_input_names_the_field(client, body, field):
    r = client.post("/api/v1/vendors", json=body)
    assert r.status_code == 422
    assert r.json["code"] == "validation_failed"
    assert field in r.json["errors"]
    assert client.get("/api/v1/vendors").json == []


def test_duplicate_vendor_name_is_a_conflict(client):
    _vendor(client)
    r = _vendor(client, tax_id="12345678")
    assert r.status_code == 409 and "name" in r.json["errors"]


def test_malformed_json_and_unknown_ids_answer_json(client):
    r = client.post("/api/v1/vendors", data="{not json", content_type="application/json")
    assert r.status_code in (400, 422) and r.is_json and "code" in r.json
    r = client.get("/api/v1/vendors/999")
    assert r.status_code == 404 and r.json["code"] == "not_found"
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.is_json


def test_vendor_list_filters_and_paginates(client):
    for i in range(5):
        client.post("/api/v1/vendors", json={"name": f"Cloud {i}", "category": "cloud"})
    client.post("/api/v1/vendors", json={"name": "Dev shop", "category": "system_development"})
    r = client.get("/api/v1/vendors?category=cloud&page=1&page_size=2")
    assert [v["name"] for v in r.json] == ["Cloud 0", "Cloud 1"]
    assert '"total": 5' in r.headers["X-Pagination"]
    assert [v["name"] for v in client.get("/api/v1/vendors?q=shop").json] == ["Dev shop"]


def test_systems_and_contract_with_service_levels(client):
    vid = _vendor(client).json["id"]
    s1 = client.post("/api/v1/systems", json={"name": "Order entry", "is_core": True, "rto_minutes": 30, "rpo_minutes": 0}).json
    s2 = client.post("/api/v1/systems", json={"name": "CA server", "is_core": True, "rto_minutes": 30, "rpo_minutes": 5}).json
    r = client.post("/api/v1/contracts", json={
        "vendor_id": vid, "reference": "CA-1", "title": "CA service", "starts_on": "2025-01-01", "ends_on": "2027-12-31",
        "system_ids": [s1["id"], s2["id"]], "service_levels": [{"system_id": s2["id"], "rto_minutes": 60}],
        "availability_target": 99.95, "vendor_notify_minutes": 15,
        "clauses": [{"key": "term", "status": "present", "section": "第1條"}, {"key": "warranty", "status": "absent"}],
    })
    assert r.status_code == 201, r.json
    contract = r.json
    assert contract["system_ids"] == [s1["id"], s2["id"]]
    levels = {c["system_id"]: c["rto_minutes"] for c in contract["covered_systems"]}
    assert levels == {s1["id"]: 30, s2["id"]: 60}
    recorded = {c["key"]: (c["status"], c["section"]) for c in contract["clauses"] if c["status"]}
    # the duty to notify within 15 minutes is the incident-notification clause, recorded present with it
    assert recorded == {"term": ("present", "第1條"), "warranty": ("absent", None), "incident_notification": ("present", None)}
    assert "warranty" in contract["clause_gaps"] and "term" not in contract["clause_gaps"]
    assert contract["availability_target"] == 99.95
    assert [c["id"] for c in client.get(f"/api/v1/contracts?system_id={s2['id']}").json] == [contract["id"]]


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"ends_on": "2024-12-31"}, "ends_on"),
        ({"system_ids": [999]}, "system_ids"),
        ({"vendor_id": 999}, "vendor_id"),
        ({"clauses": [{"key": "no_such_clause", "status": "present"}]}, "clauses"),
        ({"clauses": [{"key": "term", "status": "maybe"}]}, "clauses"),
        ({"availability_target": 101}, "availability_target"),
        ({"vendor_notify_minutes": -5}, "vendor_notify_minutes"),
    ],
)
def test_bad_contract_input_writes_nothing(client, patch, field):
    vid = _vendor(client).json["id"]
    body = {"vendor_id": vid, "reference": "X-1", "title": "T", "starts_on": "2025-01-01", **patch}
    r = client.post("/api/v1/contracts", json=body)
    assert r.status_code == 422, r.json
    assert field in r.json["errors"]
    assert client.get("/api/v1/contracts").json == []


def test_service_level_for_a_system_not_covered_is_refused(client):
    vid = _vendor(client).json["id"]
    s = client.post("/api/v1/systems", json={"name": "S"}).json
    r = client.post("/api/v1/contracts", json={"vendor_id": vid, "reference": "X", "title": "T", "starts_on": "2025-01-01",
                                               "system_ids": [], "service_levels": [{"system_id": s["id"], "rto_minutes": 5}]})
    assert r.status_code == 422 and "service_levels" in r.json["errors"]


def test_openapi_document_and_docs_page(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/vendors", "/api/v1/incidents/{incident_id}", "/api/v1/deadlines", "/api/v1/health",
                 "/api/v1/vendors/{vendor_id}/history", "/api/v1/incidents/{incident_id}/filings"):
        assert path in spec["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"swagger" in docs.data.lower()
    with client.get("/api/v1/docs-assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200
