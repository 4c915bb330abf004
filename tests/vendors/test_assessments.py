"""Due diligence against the outsourcing checklist: answers per item, the concentration figure, the result, and
management's approval by someone other than the assessor."""
from __future__ import annotations

import pytest


def _vendor(client, category="operations"):
    vendor = client.post("/api/v1/vendors", json={"name": f"Vendor {category}", "category": category}).json
    core = client.post("/api/v1/systems", json={"name": f"Core {vendor['id']}", "is_core": True}).json
    other = client.post("/api/v1/systems", json={"name": f"Web {vendor['id']}", "is_core": False}).json
    for ref, starts, ends in (("A", "2024-01-01", None), ("B", "2020-01-01", "2021-12-31")):
        r = client.post("/api/v1/contracts", json={"vendor_id": vendor["id"], "reference": ref, "title": ref,
                                                   "starts_on": starts, "ends_on": ends,
                                                   "system_ids": [core["id"], other["id"]]})
        assert r.status_code == 201, r.json
    return vendor


def _every_item(client):
    return [item for phase in client.get("/api/v1/checklists/outsourcing").json["phases"] for item in phase["items"]]


def _answers(client, vendor_category="operations"):
    """Every item answered: yes where it applies, na where it does not (by the vendor's category)."""
    out = []
    for item in _every_item(client):
        applies = item["category"] in (None, vendor_category)
        out.append({"item": item["key"], "applies": applies, "result": "yes" if applies else "na",
                    "answered_on": "2026-11-01", "evidence": f"EV-{item['key']}"})
    return out


def test_the_checklist_is_data_with_questions_in_both_languages(client):
    checklist = client.get("/api/v1/checklists/outsourcing").json
    assert checklist["source"].startswith("證券商資訊委外之資安應注意事項檢查表")
    assert [p["key"] for p in checklist["phases"]][:2] == ["selection", "management"]
    items = _every_item(client)
    assert len(items) == len({i["key"] for i in items}) > 30
    scan = next(i for i in items if i["key"] == "vulnerability_scan")
    assert scan["category"] == "operations" and scan["question_zh"] and scan["question_en"]


def test_an_assessment_records_answers_concentration_and_waits_for_approval(client, frozen):
    vendor = _vendor(client)
    r = client.post(f"/api/v1/vendors/{vendor['id']}/assessments", json={
        "assessed_on": "2026-11-15", "service_location": "onshore", "service_region": "台北市內湖區",
        "result": "approved", "answers": [{"item": "feasibility", "result": "yes", "evidence": "可行性分析 2026-03"}]})
    assert r.status_code == 201, r.json
    a = r.json
    # one core system covered by the one contract in force; the ended contract does not count
    assert (a["core_systems"], a["contracts_in_force"]) == (1, 1)
    assert a["approved"] is False and a["assessor"] == "api-admin-supervisor"
    answers = {x["item"]: x for x in a["answers"]}
    assert len(answers) == len(_every_item(client))
    assert answers["feasibility"]["result"] == "yes" and answers["feasibility"]["evidence"] == "可行性分析 2026-03"
    # an item for another category does not apply by default; one for this vendor's category waits for an answer
    assert answers["cloud_certification_scope"] == {**answers["cloud_certification_scope"], "applies": False, "result": "na"}
    assert answers["vulnerability_scan"]["applies"] is True and "vulnerability_scan" in a["unanswered"]


def test_approval_needs_every_answer_and_another_person(client, api_as, frozen):
    vendor = _vendor(client)
    a = client.post(f"/api/v1/vendors/{vendor['id']}/assessments", json={
        "assessed_on": "2026-11-15", "service_location": "cloud", "service_region": "ap-northeast-1", "result": "conditional",
        "conditions": "Encrypt backups by Q1", "answers": []}).json
    supervisor = api_as("supervisor")
    r = supervisor.post(f"/api/v1/assessments/{a['id']}/approval", json={})
    assert r.status_code == 409 and r.json["code"] == "unanswered"
    r = client.patch(f"/api/v1/assessments/{a['id']}", json={"version": a["version"], "answers": _answers(client)})
    assert r.status_code == 200 and r.json["unanswered"] == []
    r = client.post(f"/api/v1/assessments/{a['id']}/approval", json={})
    assert r.status_code == 403 and r.json["code"] == "own_assessment"
    r = supervisor.post(f"/api/v1/assessments/{a['id']}/approval", json={"note": "報告總經理核定"})
    assert r.status_code == 200, r.json
    assert r.json["approved"] is True and r.json["approval_note"] == "報告總經理核定"
    # an approved assessment is the record: it no longer changes
    r = client.patch(f"/api/v1/assessments/{a['id']}", json={"summary": "later"})
    assert r.status_code == 409 and r.json["code"] == "approved"
    assert supervisor.post(f"/api/v1/assessments/{a['id']}/approval", json={}).status_code == 409


def test_only_supervisors_approve_and_auditors_only_read(client, api_as, frozen):
    vendor = _vendor(client)
    a = client.post(f"/api/v1/vendors/{vendor['id']}/assessments", json={
        "assessed_on": "2026-11-15", "service_location": "onshore", "result": "approved", "answers": _answers(client)}).json
    assert api_as("admin").post(f"/api/v1/assessments/{a['id']}/approval", json={}).status_code == 403
    auditor = api_as("auditor")
    assert auditor.get(f"/api/v1/vendors/{vendor['id']}/assessments").json[0]["id"] == a["id"]
    assert auditor.post(f"/api/v1/vendors/{vendor['id']}/assessments", json={}).status_code == 403


@pytest.mark.parametrize("change, field", [
    ({"answers": [{"item": "no_such_item", "result": "yes"}]}, "answers"),
    ({"answers": [{"item": "feasibility", "result": "no"}]}, "answers"),  # a no is explained
    ({"answers": [{"item": "feasibility", "applies": False, "result": "yes"}]}, "answers"),
    ({"answers": [{"item": "feasibility", "result": "na"}]}, "answers"),
    ({"answers": [{"item": "feasibility", "result": "yes"}, {"item": "feasibility", "result": "yes"}]}, "answers"),
    ({"answers": [{"item": "feasibility", "result": "yes", "answered_on": "2026-12-25"}]}, "answers"),
    ({"result": "conditional"}, "conditions"),
    ({"result": "maybe"}, "result"),
    ({"service_location": "moon"}, "service_location"),
    ({"assessed_on": "2027-01-01"}, "assessed_on"),
])
def test_bad_assessments_are_refused_and_nothing_is_written(client, frozen, change, field):
    vendor = _vendor(client)
    body = {"assessed_on": "2026-11-15", "service_location": "onshore", "result": "approved", **change}
    r = client.post(f"/api/v1/vendors/{vendor['id']}/assessments", json=body)
    assert r.status_code == 422, r.json
    assert field in r.json["errors"]
    assert client.get(f"/api/v1/vendors/{vendor['id']}/assessments").json == []


def test_an_assessment_of_an_unknown_vendor_is_404(client):
    r = client.post("/api/v1/vendors/999/assessments", json={"assessed_on": "2026-11-15", "service_location": "onshore",
                                                             "result": "approved"})
    assert r.status_code == 404
