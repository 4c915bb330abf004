"""Admin pages: vendors, systems, contracts through forms; the policies page and its file check."""
from __future__ import annotations

import io

import sqlalchemy as sa

from incident_service.vendors.models import Contract, System, Vendor


def test_an_admin_creates_a_vendor_and_a_duplicate_is_refused_beside_the_name(world, web, session):
    web.login("admin")
    data = {"name": "凌群電腦", "tax_id": "11365004", "category": "operations", "contact_name": "林志強",
            "certifications": "ISO 27001 | 2027-06-30\nISO 20000", "subcontractors": "微軟 | 作業系統更新", "is_active": "y"}
    assert web.post("/admin/vendors/new", data, token_from="/admin/vendors/new").status_code == 302
    vendor = session.scalar(sa.select(Vendor).where(Vendor.name == "凌群電腦"))
    assert {(c.name, str(c.expires_on)) for c in vendor.certifications} == {("ISO 27001", "2027-06-30"), ("ISO 20000", "None")}
    assert vendor.subcontractors == [{"name": "微軟", "service": "作業系統更新"}]
    again = web.post("/admin/vendors/new", {**data, "tax_id": "12345678"}, token_from="/admin/vendors/new")
    assert again.status_code == 422 and 'id="name-error"' in again.get_data(as_text=True)
    bad = web.post("/admin/vendors/new", {**data, "name": "x", "tax_id": "abcdefgh", "certifications": "ISO | not-a-date"},
                   token_from="/admin/vendors/new")
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="tax_id-error"' in page and 'id="certifications-error"' in page


def test_an_admin_edits_a_vendor_and_a_system(world, web, session):
    web.login("admin")
    form = web.get(f"/admin/vendors/{world.vendor.id}/edit").get_data(as_text=True)
    assert 'value="鼎新資訊"' in form
    r = web.post(f"/admin/vendors/{world.vendor.id}/edit", {"name": "鼎新資訊（改名）", "category": "cloud",
                                                            "version": str(world.vendor.version)}, token_from="/admin/vendors/new")
    assert r.status_code == 302
    r = web.post(f"/admin/systems/{world.core.id}/edit", {"name": world.core.name, "is_core": "y", "rto_minutes": "20",
                                                          "version": str(world.core.version)}, token_from="/admin/vendors/new")
    assert r.status_code == 302
    session.expire_all()
    assert world.vendor.name == "鼎新資訊（改名）" and session.get(System, world.core.id).rto_minutes == 20


def test_an_admin_creates_a_contract_covering_systems(world, web, session):
    web.login("admin")
    r = web.post("/admin/contracts/new", {"vendor_id": str(world.other.id), "reference": "C-2026-9", "title": "雲端代管",
                                          "starts_on": "2026-01-01", "system_ids": [str(world.core.id)], "availability_target": "99.95",
                                          "vendor_notify_minutes": "30", f"level-{world.core.id}-rto": "45",
                                          "clause-term-status": "present",
                                          "clause-term-section": "第2條", "clause-warranty-status": "absent"},
                 token_from="/admin/vendors/new")
    assert r.status_code == 302
    contract = session.scalar(sa.select(Contract).where(Contract.reference == "C-2026-9"))
    assert [(c.system_id, c.rto_minutes, c.rpo_minutes) for c in contract.covered] == [(world.core.id, 45, None)]
    recorded = {c.clause_key: (c.status.value, c.section) for c in contract.clauses}
    assert recorded == {"term": ("present", "第2條"), "warranty": ("absent", None),
                        "incident_notification": ("present", None)}  # the 30 minutes are that clause
    form = web.get(f"/admin/contracts/{contract.id}/edit").get_data(as_text=True)
    assert f'name="level-{world.core.id}-rto" type="number" value="45"' in form
    # a contradiction comes back on the form with the input kept
    r = web.post(f"/admin/contracts/{contract.id}/edit", {
        "vendor_id": str(world.other.id), "reference": "C-2026-9", "title": "雲端代管", "starts_on": "2026-01-01",
        "system_ids": [str(world.core.id)], "vendor_notify_minutes": "30", "clause-incident_notification-status": "absent",
        "version": str(contract.version)}, token_from="/admin/vendors/new")
    assert r.status_code == 422 and "incident_notification" in r.get_data(as_text=True)
    r = web.post("/admin/contracts/new", {"vendor_id": str(world.other.id), "reference": "C-2026-10", "title": "x",
                                          "starts_on": "2026-02-01", "ends_on": "2026-01-01"}, token_from="/admin/vendors/new")
    assert r.status_code == 422 and 'id="ends_on-error"' in r.get_data(as_text=True)


def test_admin_pages_are_for_admins(world, web):
    web.login("supervisor")
    for url in ("/admin/vendors", "/admin/vendors/new", f"/admin/contracts/{world.contract.id}/edit", "/admin/policies"):
        assert web.get(url).status_code == 403, url
    web.login("admin", username="root")
    assert web.get("/admin/systems/999/edit").status_code == 404


def test_the_policies_page_lists_the_clocks_and_checks_a_file(app, web):
    web.login("admin")
    page = web.get("/admin/policies").get_data(as_text=True)
    assert "證券商資安事件通報（臺灣證券交易所）" in page and "aware + 30m" in page and "10m, 5m" in page
    good = 'key = "mine"\ntitle_zh = "我的"\ntitle_en = "Mine"\n[[clocks]]\nkey = "initial"\nlabel_zh = "初"\nlabel_en = "I"\nstart = "aware"\nduration = "20m"\n'
    r = web.post("/admin/policies", {"policy_file": (io.BytesIO(good.encode()), "mine.toml")}, token_from="/admin/policies",
                 content_type="multipart/form-data")
    assert r.status_code == 200 and "檔案正確：政策 mine" in r.get_data(as_text=True)
    r = web.post("/admin/policies", {"policy_file": (io.BytesIO(good.replace("20m", "20 parsecs").encode()), "bad.toml")},
                 token_from="/admin/policies", content_type="multipart/form-data")
    assert r.status_code == 422 and "clocks.0.duration" in r.get_data(as_text=True)
    r = web.post("/admin/policies", {"policy_file": (io.BytesIO(b"\xff\xfe"), "bin.toml")}, token_from="/admin/policies",
                 content_type="multipart/form-data")
    assert r.status_code == 422 and "not UTF-8" in r.get_data(as_text=True)
