"""Draft report text, from the incident's fields, in the layout of the policy each report goes to (seed 003)."""
from __future__ import annotations

from datetime import date, timedelta

from incident_service.cases.filings import record_filing
from incident_service.incidents.figures import incident_figures
from incident_service.incidents.models import RemediationAction
from incident_service.incidents.remediation import add_remediation
from incident_service.reporting.drafts import DraftContext, draft_report, tidy
from incident_service.reporting.service import filings_of

CONTEXT = DraftContext(firm_name="凱基證券", reporting_contact="資安長 林大明 02-2181-8888", customer_service_line="0800-000-888")


def _draft(session, registry, incident, clock_key, now, policy="twse"):
    policy = registry.get(policy)
    clock = policy.clock(clock_key)
    figures = incident_figures(session=session, incident=incident, now=now, zone=registry.zone)
    return draft_report(incident=incident, clock_key=clock_key, label_zh=clock.label_zh, zone=registry.zone, now=now,
                        policy=policy, figures=figures, filings=filings_of(session, incident.id), context=CONTEXT)


def test_the_initial_report_carries_the_vendors_timeline_systems_against_rto_rpo_and_where_it_is_filed(world, session, registry, frozen):
    now = frozen()
    incident = world.incident(aware_at=now - timedelta(minutes=20), occurred_at=now - timedelta(minutes=50),
                              detected_at=now - timedelta(minutes=30), vendor_aware_at=now - timedelta(minutes=45),
                              vendor_notified_at=now - timedelta(minutes=20), contract_id=world.contract.id,
                              service_down_at=now - timedelta(minutes=50), data_loss_from=now - timedelta(minutes=52),
                              data_loss_to=now - timedelta(minutes=50), system_ids=[world.core.id], trading_affected=True,
                              clients_affected=3500, estimated_loss_ntd=1_200_000, description="APP 無法登入。")
    lines = _draft(session, registry, incident, "initial", now).splitlines()
    assert lines[:4] == ["【初步通報】", "申報時間：2026/11/21 02:10", "通報管道：資通安全通報系統", "申報單位：凱基證券"]
    assert "三、事件發生時間：2026/11/21 01:20" in lines and "四、偵測時間：2026/11/21 01:40" in lines
    assert "五、知悉時間：2026/11/21 01:50" in lines
    assert "六、事件說明：APP 無法登入。" in lines  # the typed full stop is not doubled
    assert "七、委外廠商：鼎新資訊" in lines
    assert "　廠商知悉時間：2026/11/21 01:25" in lines and "　廠商通知本公司時間：2026/11/21 01:50" in lines
    assert "　廠商通知延遲：25 分鐘，合約要求 15 分鐘內通知，已逾期" in lines
    assert ("　1. APP電子下單系統（核心系統）：RTO 30 分鐘，實際中斷 50 分鐘（尚未恢復），已逾 RTO；"
            "RPO 5 分鐘，資料遺失 2 分鐘，未逾 RPO") in lines
    assert "　（三）受影響客戶數：3,500 戶" in lines and "　（四）預估金額：新臺幣 1,200,000 元" in lines
    assert "　（一）第一時間公告：尚未公告" in lines
    assert lines[-1] == "十二、通報聯絡人：資安長 林大明 02-2181-8888"
    text = "\n".join(lines)
    assert "原因" not in text and "初步通報編號" not in text  # the cause and the reference belong to later reports


def test_the_formal_and_closure_reports_add_cause_follow_up_and_the_initial_reports_reference(world, session, registry, frozen):
    now = frozen()
    incident = world.incident(aware_at=now - timedelta(hours=3), service_down_at=now - timedelta(hours=3),
                              service_restored_at=now - timedelta(hours=2), root_cause="作業系統更新後防火牆預設阻擋",
                              customer_notice="APP 首頁公告", alternative_channels="語音下單、臨櫃下單。",
                              complaint_handling="客服專線受理並回電")
    record_filing(session=session, incident_id=incident.id, data={"clock": "initial", "submitted_at": now - timedelta(hours=2, minutes=40),
                  "reference": "ISAC-2026-0042"}, actor="t", registry=registry, now=now, may_backdate=True)
    add_remediation(session=session, incident_id=incident.id, data={"action": RemediationAction.patch_process, "title": "更新前測試",
                    "owner": "王大明", "due_on": date(2026, 12, 15)}, actor="t", now=now)
    formal = _draft(session, registry, incident, "formal", now)
    assert "原因：作業系統更新後防火牆預設阻擋。" in formal
    assert "　1. 更新前測試（負責人：王大明，預計完成：2026/12/15，規劃中）" in formal
    assert "初步通報編號：ISAC-2026-0042" in formal
    assert "　（二）替代下單管道：語音下單、臨櫃下單" in formal and "。。" not in formal
    closure = _draft(session, registry, incident, "closure", now)
    assert "復原情形：服務已於 2026/11/21 00:10 恢復。" in closure and "中斷時間共 60 分鐘。" in closure
    assert "初步通報編號：ISAC-2026-0042" in closure and "後續處理：" in closure


def test_the_closure_draft_says_when_the_service_is_not_restored_and_what_is_unknown_says_so(world, session, registry, frozen):
    now = frozen()
    incident = world.incident(service_down_at=now - timedelta(minutes=30))
    closure = _draft(session, registry, incident, "closure", now)
    assert "復原情形：服務尚未恢復。" in closure and "初步通報編號：尚未完成初步通報" in closure
    formal = _draft(session, registry, world.incident(), "formal", now)
    assert "三、事件發生時間：調查中" in formal and "原因：調查中。" in formal and "受影響系統：調查中" in formal


def test_the_public_notice_is_for_investors_without_the_cause_or_the_vendor(world, session, registry, frozen):
    now = frozen()
    incident = world.incident(trading_affected=True, investors_affected=True, system_ids=[world.core.id],
                              service_down_at=now - timedelta(minutes=15), root_cause="廠商更新造成防火牆封鎖",
                              alternative_channels="語音下單及臨櫃下單。")
    text = _draft(session, registry, incident, "public_notice", now)
    assert text.splitlines()[0] == "主旨：凱基證券APP電子下單系統服務異常說明。"
    assert "自 2026/11/21 01:55 起發生服務異常，目前正全力搶修中" in text
    assert "投資人可改採下列方式下單：語音下單及臨櫃下單。" in text
    assert "客戶服務專線：0800-000-888" in text
    assert "鼎新" not in text and "防火牆" not in text and "原因" not in text  # nothing internal
    assert "。。" not in text and "，。" not in text


def test_the_public_notice_text_is_the_incidents_own_once_edited(world, session, registry, frozen):
    incident = world.incident(trading_affected=True, public_notice_text="本公司電子下單服務暫停，請改用電話委託。。")
    assert _draft(session, registry, incident, "public_notice", frozen()) == "本公司電子下單服務暫停，請改用電話委託。"


def test_a_dora_report_follows_doras_own_template(world, session, registry, frozen):
    now = frozen()
    incident = world.incident(policies=["twse", "eu_dora"], aware_at=now - timedelta(minutes=20), classified_at=now - timedelta(minutes=5),
                              description="Order app logins fail", bcp_invoked=True)
    text = _draft(session, registry, incident, "initial", now, policy="eu_dora")
    lines = text.splitlines()
    assert lines[0] == "DORA major ICT-related incident — Initial notification"
    assert "Financial entity: 凱基證券" in lines and f"Incident reference code: INC-{incident.id}" in lines
    assert "Date and time of classification as major: 2026-11-21 02:05 (Asia/Taipei)" in lines
    assert "Originating at a third-party ICT service provider: yes (鼎新資訊)" in lines
    assert "【" not in text and "申報時間" not in text  # not the exchange's layout


def test_tidy_removes_doubled_punctuation():
    assert tidy("恢復正常。。請見諒，，謝謝；；") == "恢復正常。請見諒，謝謝；"
