"""The auditor's pack: one ZIP per vendor and period, from the web page and the API alike."""
from __future__ import annotations

import builtins
import csv
import hashlib
import io
import json
import re
import zipfile
import zlib
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from incident_service.audit.models import AuditEntry
from tests.web.conftest import count_queries, web, world  # noqa: F401 - the web tests' fixtures

PERIOD = "from=2026-11-01&to=2026-11-30"
FILES = ["history.xlsx", "filings.csv", "remediation.csv", "audit.csv", "audit-verify.txt", "README.txt"]


@pytest.fixture
def pack_world(world, api_as, frozen):
    """Two incidents of the vendor aware in November (one filed, with a verified remediation action), one in
    October, and one of the other vendor."""
    filed = world.incident(title="Logins fail after the OS patch", aware_at=frozen() - timedelta(minutes=20),
                           system_ids=[world.core.id], service_down_at=frozen() - timedelta(minutes=25))
    second = world.incident(title="報價延遲", aware_at=frozen() - timedelta(days=3))
    world.incident(title="October outage", aware_at=datetime(2026, 10, 12, 2, 0, tzinfo=frozen().tzinfo))
    world.incident(title="Someone else's", vendor_id=world.other.id)
    supervisor, oncall = api_as("supervisor"), api_as("oncall")
    r = supervisor.post(f"/api/v1/incidents/{filed.id}/filings", json={
        "clock": "initial", "submitted_at": "2026-11-21T02:05:00+08:00", "reference": "ISAC-0001", "text": "初步通報"})
    assert r.status_code == 201, r.json
    r = oncall.post(f"/api/v1/incidents/{filed.id}/remediations", json={
        "action": "stress_test", "title": "=Wider stress test", "owner": "Ops", "due_on": "2026-11-30"})
    assert r.status_code == 201, r.json
    rid = r.json["id"]
    assert oncall.patch(f"/api/v1/remediations/{rid}", json={"status": "done", "evidence": "Report ST-7"}).status_code == 200
    assert supervisor.post(f"/api/v1/remediations/{rid}/verify").status_code == 200
    world.filed, world.second, world.remediation_id = filed, second, rid
    return world


def _zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/zip" and response.headers["Content-Disposition"].startswith("attachment")
    return zipfile.ZipFile(io.BytesIO(response.data))


def _csv(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


def _pdf_objects(pdf: bytes) -> bytes:
    """The PDF with every compressed stream inflated (its objects may sit in compressed object streams)."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        try:
            parts.append(zlib.decompressobj().decompress(pdf[match.end():]))
        except zlib.error:
            continue
    return b"\n".join(parts)


def _pdf_title(pdf: bytes) -> str:
    """The document's /Title (WeasyPrint takes it from the page's <title>), as a literal or as UTF-16 hex."""
    match = re.search(rb"/Title\s*(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]+>)", _pdf_objects(pdf))
    assert match, "the PDF has no title"
    raw = match.group(1)
    if raw.startswith(b"<"):
        data = bytes.fromhex(re.sub(rb"\s", b"", raw[1:-1]).decode())
        return data[2:].decode("utf-16-be") if data.startswith(b"\xfe\xff") else data.decode("latin-1")
    return re.sub(rb"\\(.)", rb"\1", raw[1:-1]).decode("latin-1")


def test_the_pack_holds_the_history_the_records_the_filings_remediation_and_the_trail(pack_world, web, session):
    w = pack_world
    web.login("auditor", username="inspector")
    archive = _zip(web.get(f"/vendors/{w.vendor.id}/pack?{PERIOD}&lang=en"))
    names = archive.namelist()
    assert sorted(names) == sorted(FILES + [f"incidents/{w.filed.id}.pdf", f"incidents/{w.second.id}.pdf"])

    # the history: the header block, then the export's table with awareness as real date cells
    sheet = load_workbook(io.BytesIO(archive.read("history.xlsx"))).active
    rows = list(sheet.iter_rows(values_only=True))
    block = {r[0]: r[1:3] for r in rows[:5]}
    assert block["Vendor"][0] == "鼎新資訊" and block["Time zone"][0] == "Asia/Taipei"
    assert block["Exported by"][0] == "inspector" and block["Exported at"][0] == datetime(2026, 11, 21, 2, 10)
    assert [d.date().isoformat() for d in block["Period"]] == ["2026-11-01", "2026-11-30"]
    header = rows[6]
    assert header[:3] == ("Incident", "Aware at (Asia/Taipei)", "Title")
    table = {r[0]: r for r in rows[7:]}
    assert set(table) == {w.filed.id, w.second.id}
    assert table[w.filed.id][1] == datetime(2026, 11, 21, 1, 50) and isinstance(table[w.second.id][1], datetime)
    assert sheet.cell(8, 2).is_date

    # each record is a PDF of the printable page, with a CJK font for its Chinese
    for incident in (w.filed, w.second):
        pdf = archive.read(f"incidents/{incident.id}.pdf")
        assert pdf.startswith(b"%PDF")
        assert incident.title in _pdf_title(pdf)
        assert b"WenQuanYi" in _pdf_objects(pdf)

    filings = _csv(archive, "filings.csv")
    assert [(f["incident"], f["policy"], f["kind"], f["reference"], f["submitted_at"]) for f in filings] == [
        (str(w.filed.id), "twse", "initial", "ISAC-0001", "2026-11-21T02:05:00+08:00")]
    assert filings[0]["recorded_at"] == "2026-11-21T02:10:00+08:00" and filings[0]["submitted_by"].startswith("api-supervisor")
    assert filings[0]["report"] == "Initial report" and filings[0]["policy_name"]

    actions = _csv(archive, "remediation.csv")
    assert len(actions) == 1
    action = actions[0]
    assert action["title"] == "'=Wider stress test"  # a formula stays text
    assert (action["owner"], action["due_on"], action["status"], action["evidence"]) == ("Ops", "2026-11-30", "verified", "Report ST-7")
    assert action["verified_by"].startswith("api-supervisor") and action["verified_at"] == "2026-11-21T02:10:00+08:00"
    assert action["completed_by"].startswith("api-oncall")

    # the trail's excerpt: its hashes are the stored ones, and it covers the incidents, not the others
    excerpt = _csv(archive, "audit.csv")
    stored = {e.seq: (e.hash, e.prev_hash) for e in session.scalars(sa.select(AuditEntry))}
    assert excerpt and all(stored[int(e["seq"])] == (e["hash"], e["prev_hash"]) for e in excerpt)
    about = {(e["record_type"], e["record_id"] or str(json.loads(e["new_values"])["id"])) for e in excerpt}
    assert ("incidents", str(w.filed.id)) in about and ("incidents", str(w.second.id)) in about
    assert ("remediations", str(w.remediation_id)) in about and ("vendors", str(w.vendor.id)) in about
    others = {str(i) for i in session.scalars(sa.text("SELECT id FROM incidents WHERE title IN ('October outage', 'Someone else''s')"))}
    assert not {("incidents", i) for i in others} & about
    verdict = archive.read("audit-verify.txt").decode()
    assert "Result: INTACT" in verdict and f"{len(stored) - 1} entries" in verdict  # all but the download's own

    readme = archive.read("README.txt").decode()
    assert "鼎新資訊" in readme and "2026-11-01 – 2026-11-30" in readme and "inspector" in readme
    for name in names:
        if name != "README.txt":
            assert f"{hashlib.sha256(archive.read(name)).hexdigest()}  {name}" in readme


def test_the_download_is_in_the_audit_trail(pack_world, web, session):
    web.login("auditor", username="inspector")
    assert web.get(f"/vendors/{pack_world.vendor.id}/pack?{PERIOD}").status_code == 200
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert (entry.actor, entry.record_type, entry.record_id) == ("inspector", "pack_web.vendor_pack", str(pack_world.vendor.id))
    assert entry.details["query"] == PERIOD


def test_the_api_answers_the_same_pack_and_records_it(pack_world, api_as, session):
    auditor = api_as("auditor")
    archive = _zip(auditor.get(f"/api/v1/vendors/{pack_world.vendor.id}/pack?{PERIOD}"))
    assert f"incidents/{pack_world.filed.id}.pdf" in archive.namelist()
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert entry.record_type == "pack.VendorPack" and entry.record_id == str(pack_world.vendor.id)
    assert entry.actor.startswith("api-auditor")


def test_the_api_documents_the_pack(client):
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/vendors/{vendor_id}/pack"]["get"]
    assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} == {"from", "to"}
    assert "application/zip" in operation["responses"]["200"]["content"]
    assert {"404", "422", "503"} <= set(operation["responses"])


BAD_PERIODS = [
    ("", {"from", "to"}),
    ("from=2026-11-01", {"to"}),
    ("from=nonsense&to=2026-11-30", {"from"}),
    ("from=2026-02-30&to=2026-11-30", {"from"}),
    ("from=2026-11-30&to=2026-11-01", {"to"}),
    ("from=2020-01-01&to=2025-01-01", {"to"}),
    ("from=1999-12-31&to=2000-01-31", {"from"}),
    ("from=2100-12-01&to=2101-01-01", {"to"}),
    ("from=0001-01-01&to=9999-12-31", {"from", "to"}),
    ("from=99999-01-01&to=2026-01-01", {"from"}),
]


@pytest.mark.parametrize(("query", "fields"), BAD_PERIODS)
def test_a_bad_period_is_refused_by_field(world, api_as, web, query, fields):
    r = api_as("auditor").get(f"/api/v1/vendors/{world.vendor.id}/pack?{query}")
    assert r.status_code == 422 and r.json["code"] == "validation_failed"
    assert set(r.json["errors"]) == {f"query.{f}" for f in fields}
    web.login("auditor")
    page = web.get(f"/vendors/{world.vendor.id}/pack?{query}")
    assert page.status_code == 422 and "validation_failed" in page.get_data(as_text=True)
    assert all(f"<strong>{f}</strong>" in page.get_data(as_text=True) for f in fields)


def test_a_five_year_period_is_fine_and_an_unknown_vendor_is_not_found(world, api_as, web):
    auditor = api_as("auditor")
    assert auditor.get(f"/api/v1/vendors/{world.vendor.id}/pack?from=2020-01-01&to=2024-12-31").status_code == 200
    r = auditor.get(f"/api/v1/vendors/999/pack?{PERIOD}")
    assert r.status_code == 404 and r.json["code"] == "not_found"
    web.login("supervisor")
    assert web.get(f"/vendors/999/pack?{PERIOD}").status_code == 404
    archive = _zip(web.get(f"/vendors/{world.vendor.id}/pack?{PERIOD}"))  # no incidents: still a pack
    assert sorted(archive.namelist()) == sorted(FILES)


def test_on_call_may_not_download_the_pack(world, api_as, web):
    assert api_as("oncall").get(f"/api/v1/vendors/{world.vendor.id}/pack?{PERIOD}").status_code == 403
    web.login("oncall")
    assert web.get(f"/vendors/{world.vendor.id}/pack?{PERIOD}").status_code == 403
    assert f"/vendors/{world.vendor.id}/pack" not in web.get(f"/vendors/{world.vendor.id}/incidents").get_data(as_text=True)


def test_the_vendor_tab_offers_the_pack_to_exporters(world, web):
    web.login("auditor")
    page = web.get(f"/vendors/{world.vendor.id}/incidents?aware_from=2026-11-01&aware_to=2026-11-30").get_data(as_text=True)
    assert f'action="/vendors/{world.vendor.id}/pack"' in page
    assert 'name="from"' in page and 'value="2026-11-01"' in page and 'value="2026-11-30"' in page


@pytest.mark.parametrize("failure", [OSError("cannot load library 'libpango-1.0-0'"), ImportError("no weasyprint")])
def test_without_weasyprint_the_pack_is_unavailable(world, api_as, web, monkeypatch, failure):
    real_import = builtins.__import__

    def refuse_weasyprint(name, *args, **kwargs):
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise failure
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse_weasyprint)
    r = api_as("auditor").get(f"/api/v1/vendors/{world.vendor.id}/pack?{PERIOD}")
    assert r.status_code == 503 and r.json["code"] == "pdf_unavailable"
    web.login("auditor")
    page = web.get(f"/vendors/{world.vendor.id}/pack?{PERIOD}")
    assert page.status_code == 503 and "pdf_unavailable" in page.get_data(as_text=True)


def test_the_pdf_renders_the_printable_pages_context(pack_world, app):
    from incident_service.web.incidents import record_context
    from incident_service.web.pack import record_contexts

    with app.test_request_context("/"):
        one, many = record_context(pack_world.filed.id), record_contexts([pack_world.filed.id])[pack_world.filed.id]
        assert set(one) == set(many)
        assert [e.id for e, _ in one["timeline"]] == [e.id for e, _ in many["timeline"]]
        assert [line for _, line in one["timeline"]] == [line for _, line in many["timeline"]]
        assert one["figures"] == many["figures"] and one["states"] == many["states"]


def test_the_queries_do_not_grow_with_the_incidents(app, pack_world, web, frozen):
    web.login("auditor")
    url = f"/vendors/{pack_world.vendor.id}/pack?{PERIOD}"
    few = count_queries(app, lambda: web.get(url))
    for n in range(4):
        incident = pack_world.incident(title=f"more {n}", system_ids=[pack_world.core.id],
                                       service_down_at=frozen() - timedelta(minutes=5))
        assert incident.id
    many = count_queries(app, lambda: web.get(url))
    assert many == few
