"""The vendor-duty pages: the board's section, a duty completed from its page, the access register and its review,
ending a contract; bad input re-shows the form with the error and writes nothing."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from incident_service.api_common import vendor_catalogues
from incident_service.cases import duties as duty_cases
from incident_service.cases import vendors as vendor_cases
from incident_service.reporting.models import Deadline, DeadlineState
from incident_service.vendors.access import AccessGrant
from incident_service.vendors.duties import VendorDuty
from tests import factories


def _vendor(session, registry, now):
    vendor = factories.vendor(session, now, name="Feedco")
    system = factories.system(session, now, name="Quote feed")
    contract = vendor_cases.create_contract(session=session, registry=registry, clauses=vendor_catalogues().clauses, now=now, data={
        "vendor_id": vendor.id, "reference": "FEED-1", "title": "Feed", "starts_on": date(2024, 1, 1),
        "system_ids": [system.id]})
    return vendor, system, contract


def _open(session, vendor_id, kind):
    return session.scalars(sa.select(VendorDuty).where(VendorDuty.vendor_id == vendor_id, VendorDuty.kind == kind,
                                                       VendorDuty.completed_at.is_(None))).first()


def test_the_board_shows_overdue_vendor_duties_and_access_findings(web, session, registry, frozen):
    vendor, system, _ = _vendor(session, registry, frozen())
    duty_cases.grant_access(session=session, vendor_id=vendor.id, registry=registry, now=frozen(), data={
        "person": "Wang", "system_id": system.id, "access": "remote", "mfa": False, "approved_by": "c",
        "starts_on": date(2026, 11, 1)})
    web.login("supervisor")
    page = web.get("/board").get_data(as_text=True)
    assert "年度供應商稽核" in page and "Feedco" in page, "the overdue yearly audit is on the board"
    assert "遠端存取未使用多因子驗證" in page and "Wang" in page


def test_a_duty_is_completed_from_its_page_and_bad_input_is_reshown(web, session, registry, frozen):
    vendor, _, _ = _vendor(session, registry, frozen())
    duty = _open(session, vendor.id, "annual_audit")
    web.login("supervisor")
    url = f"/duties/{duty.id}"
    assert "Record completion" in web.get(f"{url}?lang=en").get_data(as_text=True)
    bad = web.post(url, {"completed_at": "2026-11-20T10:00", "evidence": ""})
    assert bad.status_code == 422 and 'id="evidence-error"' in bad.get_data(as_text=True)
    assert _open(session, vendor.id, "annual_audit").id == duty.id
    ok = web.post(url, {"completed_at": "2026-11-20T10:00", "evidence": "AUD-9",
                        "findings": "ok", "action_title": "Fix logging", "action_owner": "ops", "action_due_on": "2026-12-31"},
                  follow_redirects=True)
    assert ok.status_code == 200 and "AUD-9" in ok.get_data(as_text=True) and "Fix logging" in ok.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(sa.select(Deadline.state).where(Deadline.duty_id == duty.id)) == DeadlineState.met_late


def test_an_auditor_reads_duties_but_cannot_complete_them(web, session, registry, frozen):
    vendor, _, _ = _vendor(session, registry, frozen())
    duty = _open(session, vendor.id, "annual_audit")
    web.login("auditor")
    page = web.get(f"/duties/{duty.id}").get_data(as_text=True)
    assert "Record completion" not in page and "記錄完成" not in page
    assert web.post(f"/duties/{duty.id}", {"evidence": "x"}).status_code == 403
    assert "年度供應商稽核" in web.get("/duties").get_data(as_text=True)


def test_the_access_register_grants_reviews_and_revokes(web, session, registry, frozen):
    vendor, system, _ = _vendor(session, registry, frozen())
    web.login("admin", "supervisor")
    url = f"/vendors/{vendor.id}/access"
    page = web.get(url).get_data(as_text=True)
    bad = web.post(url, {"person": "Wang", "system_id": str(system.id), "access": "remote",
                         "approved_by": "c", "starts_on": "2026-11-01", "ends_on": "2026-10-01"})
    assert bad.status_code == 422 and session.scalar(sa.select(sa.func.count()).select_from(AccessGrant)) == 0
    web.post(url, {"person": "Wang", "system_id": str(system.id), "access": "remote",
                   "approved_by": "c", "starts_on": "2026-11-01"})
    grant = session.scalars(sa.select(AccessGrant)).one()
    page = web.get(url).get_data(as_text=True)
    assert "Wang" in page and "遠端存取未使用多因子驗證" in page
    done = web.post(f"{url}/review", {"reviewed_at": "2026-11-20T10:00",
                                      f"grant-{grant.id}": "revoke", "note": "no MFA"}, follow_redirects=True)
    assert done.status_code == 200
    session.expire_all()
    assert session.get(AccessGrant, grant.id).revoked_at is not None
    assert "遠端存取未使用多因子驗證" not in done.get_data(as_text=True)


def test_ending_a_contract_from_the_web_opens_its_checklist(web, session, registry, frozen):
    vendor, _, contract = _vendor(session, registry, frozen())
    web.login("admin")
    url = f"/contracts/{contract.id}/termination"
    page = web.get(url).get_data(as_text=True)
    bad = web.post(url, {"ends_on": "2020-01-01"})
    assert bad.status_code == 422 and _open(session, vendor.id, "termination") is None
    web.post(url, {"ends_on": "2026-12-31", "successor": "NewCo"})
    page = web.get(url).get_data(as_text=True)
    assert "收回實體與邏輯存取權限" in page and _open(session, vendor.id, "termination") is not None
    refused = web.post(f"{url}/items/assets_returned", {})
    assert refused.status_code == 422
