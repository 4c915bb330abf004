"""Auditors browse, filter and export the trail; nobody else does."""
from __future__ import annotations

import csv
import io

from incident_service.extensions import db
from tests import factories


def test_auditor_filters_the_trail_by_user_record_and_date(client, login_as, frozen):
    factories.vendor(db.session, frozen(), name="Alpha")
    client.post("/api/v1/vendors", json={"name": "Beta", "category": "cloud"})
    login_as("auditor", username="ines")
    page = client.get("/audit?actor=api-admin-supervisor&record_type=vendors").get_data(as_text=True)
    assert "Beta" in page and "Alpha" not in page
    assert "Alpha" in client.get("/audit?actor=system").get_data(as_text=True)
    assert "No entries match" in client.get("/audit?date_from=2000-01-01&date_to=2000-01-02&lang=en").get_data(as_text=True)


def test_export_has_every_entry_with_its_hashes(client, login_as, frozen):
    factories.vendor(db.session, frozen(), name="Alpha")
    login_as("auditor", username="ines")
    rows = list(csv.DictReader(io.StringIO(client.get("/audit/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows and {"seq", "hash", "prev_hash", "old_values", "new_values"} <= set(rows[0])
    assert [int(r["seq"]) for r in rows] == sorted(int(r["seq"]) for r in rows)


def test_the_api_lists_entries_for_auditors_only(client, api_as, frozen):
    factories.vendor(db.session, frozen(), name="Alpha")
    auditor = api_as("auditor")
    r = auditor.get("/api/v1/audit-entries?record_type=vendors")
    assert r.status_code == 200 and r.json[0]["new_values"]["name"] == "Alpha" and len(r.json[0]["hash"]) == 64
    assert api_as("oncall").get("/api/v1/audit-entries").status_code == 403
