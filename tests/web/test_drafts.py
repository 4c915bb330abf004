"""Draft report text in Traditional Chinese, from the incident's fields, for each clock."""
from __future__ import annotations

from datetime import date, timedelta

from incident_service.incidents.models import RemediationAction
from incident_service.incidents.remediation import add_remediation
from incident_service.reporting.drafts import draft_report


def test_the_initial_report_carries_times_in_taipei_vendor_systems_and_impact(world, registry, frozen):
    now = frozen()
    incident = world.incident(aware_at=now - timedelta(minutes=20), occurred_at=now - timedelta(minutes=50),
                              system_ids=[world.core.id], trading_affected=True, clients_affected=3500,
                              estimated_loss_ntd=1_200_000, description="APP 無法登入")
    text = draft_report(incident=incident, clock_key="initial", label_zh="初步通報", zone=registry.zone, now=now)
    lines = text.splitlines()
    assert lines[0] == "【初步通報】" and lines[1] == "申報時間：2026/11/21 02:10"
    assert "三、事件發生時間：2026/11/21 01:20" in lines and "四、知悉時間：2026/11/21 01:50" in lines
    assert "五、廠商：鼎新資訊" in lines and "六、受影響系統：APP電子下單系統（核心系統）" in lines
    assert "　（一）是否影響交易：是" in lines and "　（三）受影響客戶數：3,500 戶" in lines
    assert "　（四）預估金額：新臺幣 1,200,000 元" in lines
    assert "原因" not in text  # the cause belongs to the formal report


def test_the_formal_and_closure_reports_add_cause_recovery_and_follow_up(world, session, registry, frozen):
    now = frozen()
    incident = world.incident(aware_at=now - timedelta(hours=3), service_down_at=now - timedelta(hours=3),
                              service_restored_at=now - timedelta(hours=2), root_cause="作業系統更新後防火牆預設阻擋")
    add_remediation(session=session, incident_id=incident.id, data={"action": RemediationAction.patch_process, "title": "更新前測試",
                    "owner": "王大明", "due_on": date(2026, 12, 15)}, actor="t", now=now)
    formal = draft_report(incident=incident, clock_key="formal", label_zh="正式通報", zone=registry.zone, now=now)
    assert "十、原因：作業系統更新後防火牆預設阻擋" in formal
    assert "　1. 更新前測試（負責人：王大明，預計完成：2026/12/15，規劃中）" in formal
    closure = draft_report(incident=incident, clock_key="closure", label_zh="解除通報", zone=registry.zone, now=now)
    assert "十、復原情形：服務已於 2026/11/21 00:10 恢復。" in closure and "中斷時間共 60 分鐘。" in closure
    assert "十二、後續處理：" in closure


def test_what_is_not_known_yet_says_so(world, registry, frozen):
    incident = world.incident()
    text = draft_report(incident=incident, clock_key="formal", label_zh="正式通報", zone=registry.zone, now=frozen())
    assert "三、事件發生時間：調查中" in text and "十、原因：調查中" in text and "受影響系統：調查中" in text


def test_the_public_notice_is_worded_for_the_public(world, registry, frozen):
    incident = world.incident(trading_affected=True, investors_affected=True, system_ids=[world.core.id])
    text = draft_report(incident=incident, clock_key="public_notice", label_zh="即時公告", zone=registry.zone, now=frozen())
    assert "主旨：本公司因委外廠商系統異常，致交易、投資人權益受影響之說明。" in text
    assert "影響範圍" not in text
