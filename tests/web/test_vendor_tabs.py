"""The vendor page's tabs: overview (figures, last assessment and its age, findings), contracts with their clauses,
duties, access, changes (planned through the page, refused in market hours, approved by another supervisor),
incidents; assessments recorded and approved through the pages; the clause gap report and its XLSX."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from incident_service.api_common import vendor_catalogues
from incident_service.vendors import assessments, changes
from incident_service.vendors.changes import VendorChange
from tests.web.conftest import count_queries

TABS = ["", "/contracts", "/duties", "/access", "/changes", "/incidents", "/assessments"]


def _record_assessment(session, vendor_id, *, on: date, actor="assessor-a", now):
    checklist = vendor_catalogues().checklist
    answers = [{"item": i.key, "applies": True, "result": "yes"} for i in checklist.items()]
    return assessments.record_assessment(session=session, vendor_id=vendor_id, checklist=checklist, actor=actor, now=now,
                                         today=on, data={"assessed_on": on, "service_location": "onshore",
                                                         "result": "approved", "answers": answers})


@pytest.mark.parametrize("tab", TABS)
def test_every_tab_shows_the_tab_bar_with_its_own_tab_current(world, web, tab):
    web.login("auditor")
    r = web.get(f"/vendors/{world.vendor.id}{tab}")
    assert r.status_code == 200, tab
    html = r.get_data(as_text=True)
    assert 'class="vendor-tabs"' in html and html.count('aria-current="page"') >= 1
    for other in ("/contracts", "/duties", "/access", "/changes", "/incidents"):
        assert f'href="/vendors/{world.vendor.id}{other}"' in html
    assert web.get(f"/vendors/999{tab}").status_code == 404


def test_the_overview_shows_the_last_approved_assessment_and_its_age(world, web, session, frozen):
    web.login("auditor")
    page = web.get(f"/vendors/{world.vendor.id}").get_data(as_text=True)
    assert "尚無核定的評鑑" in page  # none approved yet
    a = _record_assessment(session, world.vendor.id, on=date(2025, 11, 1), now=frozen())
    assessments.approve_assessment(session=session, assessment_id=a.id, actor="boss", note=None, now=frozen())
    page = web.get(f"/vendors/{world.vendor.id}").get_data(as_text=True)
    assert "2025-11-01" in page and "385 天前" in page and "已逾一年" in page
    assert "1 個核心系統、1 份有效合約" in page  # the concentration today


def test_the_contracts_tab_lists_each_clause_and_marks_the_gaps(world, web, session):
    web.login("auditor")
    html = web.get(f"/vendors/{world.vendor.id}/contracts?lang=en").get_data(as_text=True)
    assert world.contract.reference in html
    assert "Security incident notification and response" in html  # recorded present through the 15 minutes
    assert html.count('class="clause-row gap"') == len(
        [c for c in vendor_catalogues().clauses.clauses if c.applies_when is None]) - 1


def test_a_change_in_market_hours_is_refused_on_the_page_with_the_input_kept(world, web, session, frozen):
    web.login("oncall")
    url = f"/vendors/{world.vendor.id}/changes"
    form = {"title": "OS 更新", "rollback_plan": "還原快照", "system_ids": [str(world.core.id)],
            "planned_start": "2026-11-23T10:00", "planned_end": "2026-11-23T10:30"}
    r = web.post(url, form, token_from=url)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "禁止更新時段" in html  # the field message, in the page's language
    assert 'value="OS 更新"' in html and "2026-11-23" in html
    assert session.scalar(sa.select(sa.func.count()).select_from(VendorChange)) == 0
    r = web.post(url, {**form, "planned_start": "2026-11-23T18:00", "planned_end": "2026-11-23T19:00"}, token_from=url)
    assert r.status_code == 302
    change = session.scalar(sa.select(VendorChange))
    assert change.requested_by == "oncall-user" and change.state.value == "proposed"


def test_a_supervisor_approves_anothers_change_from_the_tab(world, web, session, frozen):
    change = changes.plan_change(session=session, actor="oncall-chen", now=frozen(), calendar=vendor_catalogues().calendar,
                                 data={"vendor_id": world.vendor.id, "title": "Patch", "rollback_plan": "Snapshot",
                                       "planned_start": frozen() + timedelta(days=2, hours=16),
                                       "planned_end": frozen() + timedelta(days=2, hours=17)})
    web.login("supervisor")
    url = f"/vendors/{world.vendor.id}/changes"
    r = web.post(f"/vendor-changes/{change.id}/approval", {"note": "OK"}, token_from=url)
    assert r.status_code == 302
    session.expire_all()
    assert session.get(VendorChange, change.id).approved_by == "supervisor-user"
    web.login("oncall", username="oncall-2")
    assert web.post(f"/vendor-changes/{change.id}/approval", {}, token_from=url).status_code == 403


def test_an_assessment_is_recorded_on_the_page_and_approved_by_someone_else(world, web, session, frozen):
    admin = web.login("admin")
    url = f"/vendors/{world.vendor.id}/assessments/new"
    form = {"assessed_on": "2026-11-15", "service_location": "onshore", "result": "approved",
            "item-feasibility-result": "no"}
    r = web.post(url, form, token_from=url)
    assert r.status_code == 422  # a no needs its explanation, shown beside the item
    assert 'name="item-feasibility-explanation"' in r.get_data(as_text=True)
    items = {f"item-{i.key}-result": "yes" for i in vendor_catalogues().checklist.items()}
    applies = {f"item-{i.key}-applies": "yes" for i in vendor_catalogues().checklist.items()}
    r = web.post(url, {**form, **items, **applies}, token_from=url)
    assert r.status_code == 302
    a = session.scalar(sa.select(assessments.VendorAssessment))
    assert a.assessor == admin.username and all(x.result is not None for x in a.answers)
    web.login("supervisor")
    r = web.post(f"/assessments/{a.id}/approval", {"note": "核定"}, token_from=f"/assessments/{a.id}")
    assert r.status_code == 302
    session.expire_all()
    assert session.get(assessments.VendorAssessment, a.id).approved_by == "supervisor-user"
    page = web.get(f"/vendors/{world.vendor.id}").get_data(as_text=True)
    assert "2026-11-15" in page


def test_the_clause_gap_report_and_its_workbook(world, web):
    web.login("auditor")
    html = web.get("/contracts/clause-gaps?lang=en").get_data(as_text=True)
    assert world.contract.reference in html and "Warranty" in html
    r = web.get("/contracts/clause-gaps.xlsx?lang=en")
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("Vendor", "Contract number")
    assert any(row[1] == world.contract.reference and row[5] == "Warranty" and row[6] == "Not recorded" for row in rows[1:])
    web.login("oncall", username="oncall-x")
    assert web.get("/contracts/clause-gaps.xlsx").status_code == 403


@pytest.mark.parametrize("tab", ["", "/contracts", "/changes", "/duties", "/incidents"])
def test_each_tab_reads_in_a_fixed_number_of_statements(app, world, web, session, frozen, tab):
    def grow(start: int, n: int):
        for k in range(start, start + n):
            world.incident(title=f"more {k}", system_ids=[world.core.id])
            changes.plan_change(session=session, actor="x", now=frozen(), calendar=vendor_catalogues().calendar,
                                data={"vendor_id": world.vendor.id, "title": f"c{k}", "rollback_plan": "r",
                                      "system_ids": [world.core.id],
                                      "planned_start": frozen() + timedelta(days=2, hours=16, minutes=k),
                                      "planned_end": frozen() + timedelta(days=2, hours=16, minutes=k + 30)})
            _record_assessment(session, world.vendor.id, on=date(2026, 11, 1), now=frozen())

    web.login("auditor")
    url = f"/vendors/{world.vendor.id}{tab}"
    grow(0, 1)
    web.get(url)
    few = count_queries(app, lambda: web.get(url))
    grow(1, 8)
    assert count_queries(app, lambda: web.get(url)) == few


def test_the_incident_page_links_the_incident_to_the_vendor_change_that_caused_it(world, web, session, frozen):
    calendar = vendor_catalogues().calendar
    night = frozen() - timedelta(hours=6)  # 2026-11-20 20:10 in Taipei, after the session
    plan = {"title": "OS 更新", "rollback_plan": "還原快照", "system_ids": [world.core.id],
            "planned_start": night, "planned_end": night + timedelta(hours=1)}
    ours = changes.plan_change(session=session, data={**plan, "vendor_id": world.vendor.id}, calendar=calendar,
                               actor="x", now=night - timedelta(days=1))
    theirs = changes.plan_change(session=session, data={**plan, "vendor_id": world.other.id, "title": "別家的變更"},
                                 calendar=calendar, actor="x", now=night - timedelta(days=1))
    incident = world.incident(title="登入緩慢")
    web.login("oncall")
    page_url = f"/incidents/{incident.id}"
    form = {"edit-vendor_id": str(world.vendor.id), "edit-kind": "outage", "edit-severity": "2", "edit-title": "登入緩慢",
            "edit-version": str(incident.version), "edit-caused_by_change_id": str(theirs.id)}
    r = web.post(f"{page_url}/edit", form, prefix="edit-", token_from=page_url)
    assert r.status_code == 422 and 'id="edit-caused_by_change_id-error"' in r.get_data(as_text=True)
    session.expire_all()
    assert incident.caused_by_change_id is None  # nothing half-written
    form["edit-caused_by_change_id"] = str(ours.id)
    assert web.post(f"{page_url}/edit", form, prefix="edit-", token_from=page_url).status_code == 302
    page = web.get(page_url).get_data(as_text=True)
    assert f'#change-{ours.id}">#{ours.id} OS 更新</a>' in page and "由廠商變更引起" in page
    session.expire_all()
    assert incident.caused_by_change_id == ours.id
