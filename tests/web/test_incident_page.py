"""The incident page: deadlines counting, one-click filing, drafts, figures, timeline, remediation, edits by role."""
from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa

from incident_service.incidents.models import Remediation, RemediationStatus
from incident_service.reporting.models import Deadline, DeadlineState


def _deadline(session, incident, clock="initial") -> Deadline:
    return session.scalar(sa.select(Deadline).where(Deadline.incident_id == incident.id, Deadline.clock_key == clock))


def test_the_page_shows_each_clock_with_the_seconds_left_by_the_servers_clock(world, web, frozen):
    incident = world.incident(aware_at=frozen() - timedelta(minutes=25), system_ids=[world.core.id], trading_affected=True)
    web.login("oncall")
    page = web.get(f"/incidents/{incident.id}").get_data(as_text=True)
    assert re.search(r'data-deadline="initial"[^>]*>.*?data-seconds-left="300"', page, re.S)
    assert "2026-11-21 02:15" in page  # the due time in Taipei
    assert 'data-server-now="' in page
    frozen.advance(minutes=10)
    page = web.get(f"/incidents/{incident.id}").get_data(as_text=True)
    assert re.search(r'class="band-overdue" data-deadline="initial"', page) and "-0:05:00" in page


def test_recording_a_filing_turns_the_deadline_met_and_lands_on_the_timeline(world, web, session, frozen):
    incident = world.incident(aware_at=frozen() - timedelta(minutes=25))
    deadline = _deadline(session, incident)
    web.login("oncall")
    prefix = f"filing-{deadline.id}-"
    response = web.post(f"/deadlines/{deadline.id}/filing", {
        f"{prefix}submitted_at": "2026-11-21T02:05", f"{prefix}reference": "TWSE-0042", f"{prefix}text": "初步通報內容"},
        prefix=prefix, token_from=f"/incidents/{incident.id}")
    assert response.status_code == 302
    session.expire_all()
    assert _deadline(session, incident).state == DeadlineState.met
    page = web.get(f"/incidents/{incident.id}").get_data(as_text=True)
    assert re.search(r'class="band-met" data-deadline="initial"', page)
    assert "TWSE-0042" in page and "已登錄初步通報（" in page and "案號 TWSE-0042" in page  # the timeline, in zh-TW


def test_a_filing_before_awareness_is_refused_beside_its_field_and_kept_as_typed(world, web, session, frozen):
    incident = world.incident(aware_at=frozen() - timedelta(minutes=25))
    deadline = _deadline(session, incident)
    web.login("oncall")
    prefix = f"filing-{deadline.id}-"
    response = web.post(f"/deadlines/{deadline.id}/filing", {
        f"{prefix}submitted_at": "2026-11-21T01:00", f"{prefix}reference": "TYPED-REF"}, prefix=prefix,
        token_from=f"/incidents/{incident.id}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(rf'id="{prefix}submitted_at-error"[^>]*>A filing cannot precede the awareness time', page)
    assert 'value="TYPED-REF"' in page and 'value="2026-11-21T01:00"' in page
    assert _deadline(session, incident).state == DeadlineState.pending


def test_the_draft_reports_carry_the_incidents_facts_in_traditional_chinese(world, web, frozen):
    incident = world.incident(aware_at=frozen() - timedelta(minutes=25), system_ids=[world.core.id], trading_affected=True,
                              clients_affected=1200, description="防火牆預設阻擋")
    web.login("supervisor")
    page = web.get(f"/incidents/{incident.id}").get_data(as_text=True)
    assert "【初步通報】" in page and "知悉時間：2026/11/21 01:45" in page
    assert "1. APP電子下單系統（核心系統）：RTO 30 分鐘" in page and "委外廠商：鼎新資訊" in page
    assert "是否影響交易：是" in page and "1,200 戶" in page
    assert 'data-copy="draft-' in page


def test_figures_compare_the_outage_with_the_rto(world, web, frozen):
    now = frozen()
    incident = world.incident(aware_at=now - timedelta(hours=2), system_ids=[world.core.id], contract_id=world.contract.id,
                              service_down_at=now - timedelta(hours=2), service_restored_at=now - timedelta(minutes=60))
    web.login("auditor")
    page = web.get(f"/incidents/{incident.id}").get_data(as_text=True)
    assert "60.0 分鐘" in page and "超過 RTO" in page and "超過 30.0 分鐘" in page


def test_edit_forms_follow_the_role(world, web, frozen):
    incident = world.incident()
    web.login("oncall")
    page = web.get(f"/incidents/{incident.id}").get_data(as_text=True)
    assert "編輯事件" in page and "登錄通報" in page
    assert "免除此時限" not in page and "更正知悉時間" not in page and "結案" not in page
    web.login("auditor", username="auditor2")
    page = web.get(f"/incidents/{incident.id}").get_data(as_text=True)
    assert "編輯事件" not in page and "登錄通報" not in page
    assert web.post(f"/incidents/{incident.id}/edit", {"edit-title": "x"}).status_code == 403


def test_editing_keeps_the_form_on_refusal_and_saves_on_success(world, web, session, frozen):
    incident = world.incident()
    web.login("oncall")
    base = {"edit-vendor_id": str(world.vendor.id), "edit-kind": "outage", "edit-severity": "3", "edit-title": "新標題",
            "edit-version": str(incident.version), "edit-service_down_at": "2026-11-21T02:00",
            "edit-service_restored_at": "2026-11-21T01:00", "edit-root_cause": "typed cause"}
    response = web.post(f"/incidents/{incident.id}/edit", base, prefix="edit-", token_from=f"/incidents/{incident.id}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="edit-service_restored_at-error"[^>]*>The service cannot be restored before it went down', page)
    assert "typed cause" in page and re.search(r'<details class="panel" id="edit" open>', page)
    base["edit-service_restored_at"] = "2026-11-21T02:05"
    assert web.post(f"/incidents/{incident.id}/edit", base, prefix="edit-", token_from=f"/incidents/{incident.id}").status_code == 302
    session.expire_all()
    assert incident.title == "新標題" and incident.root_cause == "typed cause" and incident.severity == 3


def test_a_stale_edit_is_refused_with_a_message(world, web, frozen):
    incident = world.incident()
    web.login("oncall")
    data = {"edit-vendor_id": str(world.vendor.id), "edit-kind": "outage", "edit-severity": "2", "edit-title": "x",
            "edit-version": str(incident.version - 1 if incident.version > 1 else 99)}
    response = web.post(f"/incidents/{incident.id}/edit", data, prefix="edit-", token_from=f"/incidents/{incident.id}")
    assert response.status_code == 422 and "此紀錄已被他人變更：請重新載入頁面" in response.get_data(as_text=True)


def test_a_supervisor_corrects_awareness_waives_and_closing_needs_every_clock_settled(world, web, session, frozen):
    incident = world.incident(aware_at=frozen() - timedelta(minutes=5))
    web.login("supervisor")
    page_url = f"/incidents/{incident.id}"
    r = web.post(f"/incidents/{incident.id}/status", {"status-status": "closed", "status-version": str(incident.version)},
                 prefix="status-", token_from=page_url)
    assert r.status_code == 422 and "每一時限均須完成通報，或於期限前經主管免除，方可結案。" in r.get_data(as_text=True)
    r = web.post(f"/incidents/{incident.id}/awareness", {"aware-aware_at": "2026-11-21T01:50", "aware-reason": "廠商先前已告知",
                                                        "aware-version": str(incident.version)}, prefix="aware-", token_from=page_url)
    assert r.status_code == 302
    session.expire_all()
    assert _deadline(session, incident).due_at == frozen() - timedelta(minutes=20) + timedelta(minutes=30)
    for d in session.scalars(sa.select(Deadline).where(Deadline.incident_id == incident.id)).all():
        r = web.post(f"/deadlines/{d.id}/waiver", {f"waiver-{d.id}-reason": "演練，不需通報"}, prefix=f"waiver-{d.id}-", token_from=page_url)
        assert r.status_code == 302
    session.expire_all()
    r = web.post(f"/incidents/{incident.id}/status", {"status-status": "closed", "status-version": str(incident.version)},
                 prefix="status-", token_from=page_url)
    assert r.status_code == 302
    assert "已結案" in web.get(page_url).get_data(as_text=True)


def test_remediation_is_added_updated_and_verified(world, web, session, frozen):
    incident = world.incident()
    page_url = f"/incidents/{incident.id}"
    web.login("oncall")
    r = web.post(f"/incidents/{incident.id}/remediations", {"newrem-action": "stress_test", "newrem-title": "擴大壓力測試",
                                                           "newrem-owner": "王大明", "newrem-due_on": "2026-12-31"},
                 prefix="newrem-", token_from=page_url)
    assert r.status_code == 302
    rem = session.scalars(sa.select(Remediation)).one()
    r = web.post(f"/remediations/{rem.id}", {f"rem-{rem.id}-status": "done", f"rem-{rem.id}-owner": "王大明",
                                              f"rem-{rem.id}-due_on": "2026-12-31", f"rem-{rem.id}-evidence": "",
                                              f"rem-{rem.id}-version": str(rem.version)}, prefix=f"rem-{rem.id}-", token_from=page_url)
    assert r.status_code == 302
    web.login("supervisor", username="boss")
    r = web.post(f"/remediations/{rem.id}/verify", {}, prefix=f"verify-{rem.id}-", token_from=page_url)
    assert r.status_code == 422 and "驗證前請先登錄佐證。" in r.get_data(as_text=True)  # "Record the evidence before verifying."
    web.post(f"/remediations/{rem.id}", {f"rem-{rem.id}-status": "done", f"rem-{rem.id}-owner": "王大明",
                                         f"rem-{rem.id}-due_on": "2026-12-31", f"rem-{rem.id}-evidence": "報告 v2"},
             prefix=f"rem-{rem.id}-", token_from=page_url)
    assert web.post(f"/remediations/{rem.id}/verify", {}, prefix=f"verify-{rem.id}-", token_from=page_url).status_code == 302
    session.expire_all()
    assert rem.status == RemediationStatus.verified and rem.verified_by == "boss"
    assert "已驗證" in web.get(page_url).get_data(as_text=True)


def test_the_printable_record_is_for_those_who_export(world, web, frozen):
    incident = world.incident(description="完整紀錄")
    web.login("oncall")
    assert web.get(f"/incidents/{incident.id}/print").status_code == 403
    web.login("auditor", username="aud")
    page = web.get(f"/incidents/{incident.id}/print").get_data(as_text=True)
    assert "print.css" in page and "完整紀錄" in page and "事件紀錄" in page


def test_an_unknown_incident_is_a_404_page(web):
    web.login("oncall")
    assert web.get("/incidents/999").status_code == 404
    assert web.post("/deadlines/999/filing", {}).status_code == 404


def test_the_list_of_incidents_filters_by_status(world, web):
    world.incident(title="第一件")
    web.login("auditor")
    assert "第一件" in web.get("/incidents").get_data(as_text=True)
    assert "第一件" not in web.get("/incidents?status=closed").get_data(as_text=True)
    assert web.get("/incidents?status=bogus&page=-3").status_code == 200


def test_a_remediation_date_in_the_past_is_shown_overdue(world, web, session, frozen):
    incident = world.incident()
    from incident_service.incidents.remediation import add_remediation
    from incident_service.incidents.models import RemediationAction

    add_remediation(session=session, incident_id=incident.id, data={"action": RemediationAction.code_review, "title": "檢視",
                    "owner": "x", "due_on": date(2026, 11, 1)}, actor="t", now=frozen())
    web.login("oncall")
    assert re.search(r'2026-11-01 <span class="badge overdue">已逾期', web.get(f"/incidents/{incident.id}").get_data(as_text=True))
