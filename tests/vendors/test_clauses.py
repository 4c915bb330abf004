"""The Art. 4 clauses named per contract: recorded present / absent / not applicable with the section, the gaps read
off them, the contract's own fields kept consistent with the clauses they repeat, and the gap report."""
from __future__ import annotations

from pathlib import Path

import pytest

from incident_service.datafiles import DataFileError
from incident_service.vendors.catalogues import CLAUSES_FILE, load_clauses


def _contract(client, *, quotes=False, **body):
    vendor = client.post("/api/v1/vendors", json={"name": f"V{len(body)}{quotes}", "category": "operations"}).json
    system = client.post("/api/v1/systems", json={"name": f"S{vendor['id']}", "real_time_quotes": quotes}).json
    return client.post("/api/v1/contracts", json={"vendor_id": vendor["id"], "reference": f"C-{vendor['id']}", "title": "T",
                                                  "starts_on": "2025-01-01", "system_ids": [system["id"]], **body})


def _status(contract) -> dict[str, str | None]:
    return {c["key"]: c["status"] for c in contract["clauses"]}


def test_the_catalogue_names_the_17_basic_clauses_and_the_other_obligations(client):
    clauses = client.get("/api/v1/clauses").json
    basic = [c for c in clauses if c["basic"] is not None]
    assert [c["basic"] for c in basic] == list(range(1, 18))
    assert basic[6]["key"] == "incident_notification" and basic[6]["title_zh"].startswith("資通安全事件通報")
    others = {c["key"] for c in clauses if c["basic"] is None}
    assert {"no_updates_in_market_hours", "failover_drill", "third_party_components", "data_segregation_encryption",
            "subcontractors_named"} <= others
    assert len(client.get("/api/v1/clauses?basic=true").json) == 17
    assert client.get("/api/v1/clauses?basic=maybe").status_code == 422


def test_a_bad_clause_file_is_refused_naming_the_field(tmp_path: Path):
    text = CLAUSES_FILE.read_text(encoding="utf-8").replace("basic = 17", "basic = 16", 1)
    bad = tmp_path / "clauses.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError, match=r"clauses.toml: clauses: Give each basic clause 1 to 17 once"):
        load_clauses(bad)


def test_recorded_clauses_and_the_gaps_they_leave(client):
    r = _contract(client, clauses=[{"key": "term", "status": "present", "section": "第1條"},
                                   {"key": "warranty", "status": "absent"},
                                   {"key": "disputes", "status": "not_applicable", "note": "arbitration by law"}])
    assert r.status_code == 201, r.json
    contract = r.json
    status = _status(contract)
    assert (status["term"], status["warranty"], status["disputes"], status["scope"]) == ("present", "absent",
                                                                                         "not_applicable", None)
    gaps = contract["clause_gaps"]
    assert "warranty" in gaps and "scope" in gaps  # absent, and not recorded yet
    assert "term" not in gaps and "disputes" not in gaps
    # the failover drill is owed only for a real-time quote system
    assert "failover_drill" not in gaps
    drill = next(c for c in contract["clauses"] if c["key"] == "failover_drill")
    assert drill["applies"] is False and drill["status"] is None


def test_a_quote_feed_contract_owes_the_failover_drill_clause(client):
    contract = _contract(client, quotes=True).json
    assert "failover_drill" in contract["clause_gaps"]


def test_a_patch_records_the_clauses_it_names_and_keeps_the_others(client):
    contract = _contract(client, clauses=[{"key": "term", "status": "present", "section": "1"},
                                          {"key": "scope", "status": "absent"}]).json
    r = client.patch(f"/api/v1/contracts/{contract['id']}", json={
        "version": contract["version"], "clauses": [{"key": "scope", "status": "present", "section": "第2條"}]})
    assert r.status_code == 200, r.json
    sections = {c["key"]: (c["status"], c["section"]) for c in r.json["clauses"] if c["status"]}
    assert sections["term"] == ("present", "1") and sections["scope"] == ("present", "第2條")
    assert "scope" not in r.json["clause_gaps"]
    assert r.json["version"] == contract["version"] + 1


def test_every_basic_clause_present_leaves_only_the_other_obligations(client):
    keys = [c["key"] for c in client.get("/api/v1/clauses?basic=true").json]
    contract = _contract(client, clauses=[{"key": k, "status": "present"} for k in keys]).json
    others = {c["key"] for c in client.get("/api/v1/clauses?basic=false").json} - {"failover_drill"}
    assert set(contract["clause_gaps"]) == others


@pytest.mark.parametrize("clauses, field", [
    ([{"key": "no_such_clause", "status": "present"}], "clauses"),
    ([{"key": "term", "status": "present"}, {"key": "term", "status": "absent"}], "clauses"),
    ([{"key": "term", "status": "yes"}], "clauses"),
    ([{"key": "term"}], "clauses"),
    ([{"key": "term", "status": "present", "section": "line\nbreak"}], "clauses"),
])
def test_bad_clause_entries_are_refused_and_nothing_is_written(client, clauses, field):
    contract = _contract(client).json
    r = client.patch(f"/api/v1/contracts/{contract['id']}", json={"version": contract["version"], "clauses": clauses,
                                                                   "title": "changed"})
    assert r.status_code == 422, r.json
    assert field in r.json["errors"]
    after = client.get(f"/api/v1/contracts/{contract['id']}").json
    assert after["title"] == "T" and after["version"] == contract["version"]
    assert _status(after) == _status(contract)


def test_the_notification_minutes_record_the_clause_and_may_not_contradict_it(client):
    contract = _contract(client, vendor_notify_minutes=30).json
    assert _status(contract)["incident_notification"] == "present"
    r = client.patch(f"/api/v1/contracts/{contract['id']}", json={
        "clauses": [{"key": "incident_notification", "status": "absent"}]})
    assert r.status_code == 422
    assert set(r.json["errors"]) == {"vendor_notify_minutes", "clauses"}
    # clearing the minutes and recording the clause absent together is consistent
    r = client.patch(f"/api/v1/contracts/{contract['id']}", json={
        "vendor_notify_minutes": None, "clauses": [{"key": "incident_notification", "status": "absent"}]})
    assert r.status_code == 200, r.json
    assert "incident_notification" in r.json["clause_gaps"]


def test_the_audit_right_follows_its_clause_and_a_contradiction_is_refused(client):
    contract = _contract(client, clauses=[{"key": "audit_right", "status": "present", "section": "第8條"}]).json
    assert contract["audit_right"] is True
    r = client.patch(f"/api/v1/contracts/{contract['id']}", json={"audit_right": False})
    assert r.status_code == 422 and "audit_right" in r.json["errors"]
    r = client.patch(f"/api/v1/contracts/{contract['id']}", json={"clauses": [{"key": "audit_right", "status": "absent"}]})
    assert r.status_code == 200 and r.json["audit_right"] is False
    r = _contract(client, audit_right=True, clauses=[{"key": "audit_right", "status": "not_applicable"}])
    assert r.status_code == 422 and {"audit_right", "clauses"} <= set(r.json["errors"])


@pytest.mark.parametrize("field, value, clause", [
    ("subcontracting_allowed", True, "assignment_subcontracting"),
    ("penalty_terms", "5% of the monthly fee per hour over RTO", "penalties"),
])
def test_fields_that_say_yes_need_their_clause(client, field, value, clause):
    r = _contract(client, **{field: value, "clauses": [{"key": clause, "status": "absent"}]})
    assert r.status_code == 422 and field in r.json["errors"]
    contract = _contract(client, **{field: value}).json
    assert _status(contract)[clause] == "present"


def test_the_gap_report_lists_every_contract_that_owes_a_clause(client, api_as):
    keys = [c["key"] for c in client.get("/api/v1/clauses").json]
    complete = _contract(client, quotes=True, clauses=[{"key": k, "status": "present"} for k in keys]).json
    lacking = _contract(client, clauses=[{"key": "warranty", "status": "absent"}]).json
    report = api_as("auditor").get("/api/v1/clause-gaps").json
    assert [row["contract_id"] for row in report] == [lacking["id"]]
    row = report[0]
    assert "warranty" in row["clause_gaps"] and row["vendor"].startswith("V")
    warranty = next(g for g in row["gaps"] if g["key"] == "warranty")
    assert warranty["status"] == "absent" and warranty["title_en"] == "Warranty"
    every = client.get("/api/v1/clause-gaps?with_gaps=false").json
    assert {r["contract_id"] for r in every} == {complete["id"], lacking["id"]}
    assert next(r for r in every if r["contract_id"] == complete["id"])["clause_gaps"] == []
