"""A realistic demo data set, built through the same service functions as the API.

Incidents are modelled on the two vendor-caused outages in the stock exchange's briefing (seed 003):
an OS update that re-enabled the firewall's default block on the order-entry host, and a certificate
server whose database connections were never released until logins failed.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.api_common import vendor_catalogues
from incident_service.cases import duties as duty_cases, filings as clocks, incidents
from incident_service.incidents import remediation as remediations
from incident_service.incidents.models import IncidentKind, IncidentStatus, RemediationAction, RemediationStatus
from incident_service.reporting.policy import PolicyRegistry
from incident_service.vendors import assessments, service as vendors
from incident_service.vendors import changes as vendor_changes
from incident_service.vendors.changes import ChangeState
from incident_service.vendors.access import AccessKind
from incident_service.vendors.duties import VendorDuty
from incident_service.vendors.models import Vendor, VendorCategory

VENDORS = [
    dict(name="鼎新資訊系統股份有限公司", tax_id="22099131", category="system_development", service_location="台北市內湖區",
         contact_name="王大明", contact_phone="+886-2-2345-6789", contact_email="oncall@dingxin.example",
         certifications=[{"name": "ISO 27001", "expires_on": "2027-06-30"}], subcontractors=[{"name": "微軟", "service": "作業系統更新"}]),
    dict(name="宏碁智慧金融科技股份有限公司", tax_id="84149961", category="system_development", service_location="新北市汐止區",
         contact_name="陳小華", contact_phone="+886-2-2696-1234", contact_email="noc@acerfin.example",
         certifications=[{"name": "ISO 27001", "expires_on": "2026-12-31"}]),
    dict(name="中華電信數據通信分公司", tax_id="96979933", category="operations", service_location="台北市信義區",
         contact_name="24小時網路維運中心", contact_phone="0800-080-123", contact_email="noc@cht.example",
         certifications=[{"name": "ISO 27001", "expires_on": "2027-03-31"}, {"name": "ISO 20000", "expires_on": "2027-03-31"}]),
    dict(name="凌群電腦股份有限公司", tax_id="11365004", category="operations", service_location="台北市中山區",
         contact_name="林志強", contact_phone="+886-2-2508-1234", contact_email="ops@syscom.example"),
    dict(name="台灣網路認證股份有限公司", tax_id="70759028", category="operations", service_location="台北市中正區",
         contact_name="憑證服務中心", contact_phone="+886-2-2370-8886", contact_email="ca-support@twca.example",
         certifications=[{"name": "ISO 27001", "expires_on": "2027-09-30"}, {"name": "WebTrust", "expires_on": "2026-12-15"}]),
    dict(name="Amazon Web Services Taiwan", tax_id="53033458", category="cloud", service_location="ap-northeast-1 (東京)",
         contact_name="Enterprise Support", contact_phone="+886-2-7750-0000", contact_email="support@aws.example",
         certifications=[{"name": "ISO 27001", "expires_on": "2027-11-30"}, {"name": "SOC 2 Type II", "expires_on": "2027-05-31"}]),
    dict(name="Google Cloud Taiwan", tax_id="27934855", category="cloud", service_location="asia-east1 (彰化)",
         contact_name="Premium Support", contact_phone="+886-2-8729-6000", contact_email="support@gcp.example"),
    dict(name="安侯企業管理股份有限公司", tax_id="04016004", category="consulting_training", service_location="台北市信義區",
         contact_name="資安顧問團隊", contact_phone="+886-2-8101-6666", contact_email="cyber@kpmg.example"),
    dict(name="資策會數位教育研究所", tax_id="05076416", category="consulting_training", service_location="台北市大安區",
         contact_name="教育訓練窗口", contact_phone="+886-2-6631-6666", contact_email="training@iii.example"),
]

SYSTEMS = [
    dict(name="APP電子下單系統", is_core=True, tolerable_outage_minutes=30, rto_minutes=30, rpo_minutes=0,
         description="客戶手機下單 APP 與中台下單主機"),
    dict(name="憑證驗章系統", is_core=True, tolerable_outage_minutes=30, rto_minutes=30, rpo_minutes=5,
         description="電子交易登入與下單之憑證驗章服務"),
    dict(name="行情報價系統", is_core=True, tolerable_outage_minutes=15, rto_minutes=15, rpo_minutes=0,
         description="即時行情主備援報價來源"),
    dict(name="後台帳務系統", is_core=False, tolerable_outage_minutes=240, rto_minutes=240, rpo_minutes=60),
    dict(name="公司官網", is_core=False, tolerable_outage_minutes=1440, rto_minutes=1440, rpo_minutes=1440),
]


def _parse_dates(data: dict) -> dict:
    for cert in data.get("certifications", []):
        if isinstance(cert.get("expires_on"), str):
            cert["expires_on"] = date.fromisoformat(cert["expires_on"])
    return data


def _vendor_duties(*, session: Session, registry: PolicyRegistry, now: datetime, v: list, systems: dict, actor: str) -> None:
    """The vendors' duties on the clock: done on time six weeks ago, except the order-entry vendor's yearly audit
    (overdue); and its remote support access without MFA (a finding), beside an on-site grant that is fine."""
    today = now.astimezone(registry.zone).date()
    duty_cases.grant_access(session=session, vendor_id=v[0].id, registry=registry, now=now, data=dict(
        person="王工程師", system_id=systems["APP電子下單系統"].id, access=AccessKind.remote, mfa=False,
        approved_by="資訊部 主管", starts_on=today - timedelta(days=40), note="VPN 帳號，供夜間維護"))
    duty_cases.grant_access(session=session, vendor_id=v[4].id, registry=registry, now=now, data=dict(
        person="陳工程師", system_id=systems["憑證驗章系統"].id, access=AccessKind.onsite, mfa=True,
        approved_by="資訊部 主管", starts_on=today - timedelta(days=100), ends_on=today + timedelta(days=265)))
    duty_cases.sync_all_duties(session=session, registry=registry, now=now)
    overdue_kept = False
    for duty in session.scalars(sa.select(VendorDuty).where(VendorDuty.completed_at.is_(None)).order_by(VendorDuty.id)).all():
        policy = registry.duty(duty.kind)
        if policy is None or policy.every is None or duty.kind == "access_review":
            continue  # end dates and events keep their own clocks; the access review is done by reviewing
        if duty.vendor_id == v[0].id and duty.kind == "annual_audit" and not overdue_kept:
            overdue_kept = True
            continue
        duty_cases.complete_duty(session=session, duty_id=duty.id, completed_at=now - timedelta(days=42),
                                 evidence=f"DEMO-{duty.kind.upper()}-{duty.vendor_id}", findings=None, actions=[],
                                 actor=actor, registry=registry, now=now)


def _assessments(*, session: Session, now: datetime, v: list, zone) -> None:
    """Due diligence: the order-entry vendor approved on conditions ten months ago; the certificate vendor's last
    approval is over a year old (the overview says so); a new one of the cloud host waits for approval."""
    checklist = vendor_catalogues().checklist
    today = now.astimezone(zone).date()
    for vendor, days_ago, result, conditions, approve in (
        (v[0], 300, "conditional", "上線前更新須於測試環境驗證並經核准", True),
        (v[4], 420, "approved", None, True),
        (v[5], 3, "approved", None, False),
    ):
        answers = [{"item": item.key, "applies": checklist.applies_by_default(item, vendor.category.value),
                    "result": "yes" if checklist.applies_by_default(item, vendor.category.value) else "na",
                    "evidence": f"DD-{vendor.id}-{item.key}" if item.phase == "selection" else None}
                   for item in checklist.items()]
        assessment = assessments.record_assessment(
            session=session, vendor_id=vendor.id, checklist=checklist, actor="demo-data", now=now, today=today,
            data={"assessed_on": today - timedelta(days=days_ago), "service_location": "cloud" if vendor.category.value == "cloud" else "onshore",
                  "service_region": vendor.service_location, "result": result, "conditions": conditions,
                  "summary": "委外資安檢查表逐項查核", "answers": answers})
        if approve:
            assessments.approve_assessment(session=session, assessment_id=assessment.id, actor="demo-supervisor",
                                           note="陳報總經理核定", now=now)


def _change_that_caused(*, session: Session, incident_id: int, vendor_id: int, system_id: int, started: datetime,
                        registry: PolicyRegistry, now: datetime) -> None:
    """Seed 003 case 1: the vendor's OS update in the session, recorded afterwards as the change that caused it."""
    calendar = vendor_catalogues().calendar
    change = vendor_changes.plan_change(session=session, actor="demo-data", calendar=calendar, now=now, data=dict(
        vendor_id=vendor_id, title="Windows 作業系統當日安全更新", system_ids=[system_id],
        description="廠商未經事前核准，安裝微軟當日發布之更新（事後補登）。", rollback_plan="移除更新並還原防火牆規則",
        planned_start=started, planned_end=started + timedelta(minutes=15), emergency=True,
        emergency_reason="事後補登：廠商自行於盤中更新，未依規定事前申請"))
    vendor_changes.approve_change(session=session, change_id=change.id, actor="demo-supervisor", calendar=calendar,
                                  note="事後確認（不符合盤中禁止更新規定，列入廠商稽核）", now=now)
    vendor_changes.close_change(session=session, change_id=change.id, state=ChangeState.done, actor="demo-data", now=now,
                                outcome="更新造成 APP 無法登入")
    incidents.update_incident(session=session, incident_id=incident_id, expected_version=None, actor="demo-data",
                              registry=registry, now=now, data={"caused_by_change_id": change.id})


def _planned_change(*, session: Session, vendor_id: int, system_id: int, now: datetime, zone) -> None:
    """A change planned for next Saturday night, waiting for a supervisor's approval."""
    local = now.astimezone(zone)
    saturday = (local + timedelta(days=(5 - local.weekday()) % 7 or 7)).replace(hour=22, minute=0, second=0, microsecond=0)
    vendor_changes.plan_change(session=session, actor="demo-oncall", calendar=vendor_catalogues().calendar, now=now, data=dict(
        vendor_id=vendor_id, title="下單主機作業系統月度更新", system_ids=[system_id], description="先於測試環境完成驗證",
        rollback_plan="還原 VM 快照（30 分鐘內）", planned_start=saturday, planned_end=saturday + timedelta(hours=2)))


def load_demo_data(*, session: Session, registry: PolicyRegistry, now: datetime) -> dict[str, int]:
    """Create the demo vendors, systems, contracts and incidents. Refuses to run on a non-empty database."""
    if session.scalar(sa.select(sa.func.count()).select_from(Vendor)):
        return {}

    made_vendors = {}
    for raw in VENDORS:
        data = _parse_dates({**raw, "certifications": [dict(c) for c in raw.get("certifications", [])]})
        data["category"] = VendorCategory(data["category"])
        made_vendors[raw["name"]] = vendors.create_vendor(session=session, data=data, now=now)
    systems = {s["name"]: vendors.create_system(session=session, data=dict(s), now=now) for s in SYSTEMS}
    v = list(made_vendors.values())
    clauses = vendor_catalogues().clauses
    app_contract = vendors.create_contract(session=session, now=now, catalogue=clauses, data=dict(
        vendor_id=v[0].id, reference="IT-2025-017", title="APP電子下單系統維護合約", scope="中台下單主機與 APP 之維護、更新與 7x24 支援",
        starts_on=date(2025, 1, 1), ends_on=date(2027, 12, 31), system_ids=[systems["APP電子下單系統"].id],
        availability_target=Decimal("99.9"), vendor_notify_minutes=30, penalty_terms="每超過 RTO 1 小時扣當月維護費 5%",
        audit_right=True, subcontracting_allowed=False,
        clauses=[{"key": c.key, "status": "present", "section": f"第{c.basic}條"} for c in clauses.clauses if c.basic]
        + [{"key": "no_updates_in_market_hours", "status": "present", "section": "附件二 第3點"},
           {"key": "subcontractors_named", "status": "present", "section": "附件三"}]))
    ca_contract = vendors.create_contract(session=session, now=now, catalogue=clauses, data=dict(
        vendor_id=v[4].id, reference="CA-2024-003", title="憑證驗章服務合約", scope="憑證伺服器、驗章服務與資料庫連線元件",
        starts_on=date(2024, 7, 1), ends_on=date(2027, 6, 30), system_ids=[systems["憑證驗章系統"].id],
        service_levels=[{"system_id": systems["憑證驗章系統"].id, "rto_minutes": 60, "rpo_minutes": 5}],
        availability_target=Decimal("99.95"), vendor_notify_minutes=15, audit_right=True, subcontracting_allowed=True,
        clauses=[{"key": c.key, "status": "present", "section": f"第{c.basic}條"}
                 for c in clauses.clauses if c.basic in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15, 17)]
        + [{"key": "warranty", "status": "absent"}, {"key": "third_party_components", "status": "absent"}]))
    vendors.create_contract(session=session, now=now, catalogue=clauses, data=dict(
        vendor_id=v[2].id, reference="NW-2025-101", title="行情專線與網路維運", starts_on=date(2025, 3, 1), ends_on=date(2026, 2, 28),
        system_ids=[systems["行情報價系統"].id], availability_target=Decimal("99.99"), vendor_notify_minutes=10, audit_right=True))
    vendors.create_contract(session=session, now=now, catalogue=clauses, data=dict(
        vendor_id=v[5].id, reference="CLD-2025-002", title="雲端主機代管", starts_on=date(2025, 6, 1), ends_on=None,
        system_ids=[systems["公司官網"].id, systems["後台帳務系統"].id], availability_target=Decimal("99.95"), vendor_notify_minutes=60))

    actor = "demo-data"
    _vendor_duties(session=session, registry=registry, now=now, v=v, systems=systems, actor=actor)
    _assessments(session=session, now=now, v=v, zone=registry.zone)

    # Case 1 (a month ago, closed): an OS update re-enabled Windows Defender Firewall's default block.
    t0 = now - timedelta(days=30, hours=3)
    firewall = incidents.open_incident(session=session, actor=actor, registry=registry, default_policies=["twse"], now=t0 + timedelta(minutes=8), data=dict(
        vendor_id=v[0].id, contract_id=app_contract.id, system_ids=[systems["APP電子下單系統"].id], kind=IncidentKind.outage, severity=3,
        title="APP電子下單主機無法登入（作業系統更新後防火牆封鎖）",
        description="維護廠商於盤中安裝微軟當日發布之系統更新，已開通之連線服務被更新後的預設值（封鎖）覆蓋，APP 無法登入下單。",
        occurred_at=t0 - timedelta(minutes=20), detected_at=t0 - timedelta(minutes=5), aware_at=t0,
        vendor_aware_at=t0 - timedelta(minutes=15), vendor_notified_at=t0,
        service_down_at=t0 - timedelta(minutes=20), trading_affected=True, investors_affected=True, clients_affected=1830,
        estimated_loss_ntd=2_400_000, bcp_invoked=True, failover_performed=False))
    _change_that_caused(session=session, incident_id=firewall.id, vendor_id=v[0].id, system_id=systems["APP電子下單系統"].id,
                        started=t0 - timedelta(minutes=25), registry=registry, now=t0 + timedelta(minutes=30))
    _planned_change(session=session, vendor_id=v[0].id, system_id=systems["APP電子下單系統"].id, now=now, zone=registry.zone)
    for kind, minutes in (("initial", 22), ("public_notice", 28), ("formal", 60 * 20)):
        clocks.record_filing(session=session, incident_id=firewall.id, actor=actor, registry=registry, now=t0 + timedelta(minutes=minutes + 1),
                             data={"clock": kind, "submitted_at": t0 + timedelta(minutes=minutes), "reference": f"ISAC-{firewall.id:04d}-{kind[:3].upper()}"})
    incidents.update_incident(session=session, incident_id=firewall.id, expected_version=None, actor=actor, registry=registry,
                              now=t0 + timedelta(hours=2), data=dict(
        service_restored_at=t0 + timedelta(minutes=70), root_cause="作業系統更新後，內建 Windows Defender 防火牆之預設值（封鎖）覆蓋既有連線規則。",
        response_notes="關閉防火牆預設封鎖規則後連線恢復；引導投資人改用語音及網頁下單。",
        customer_notice="於 APP 及官網首頁公告服務異常", alternative_channels="語音下單及網頁下單",
        complaint_handling="客服中心專線受理，逐案回覆並統計受影響人數"))
    clocks.record_filing(session=session, incident_id=firewall.id, actor=actor, registry=registry, now=t0 + timedelta(days=2),
                         data={"clock": "closure", "submitted_at": t0 + timedelta(days=2), "reference": f"ISAC-{firewall.id:04d}-CLO"})
    for action, title, owner, days, status in (
        ("patch_process", "作業系統更新須於測試環境完整測試後方可上線", "資訊部 系統組", -10, "done"),
        ("code_review", "要求廠商提供更新前後防火牆規則比對報告", "鼎新資訊 專案經理", 5, "in_progress"),
        ("vendor_penalty", "依合約就超過 RTO 部分求償", "法務室", 20, "planned"),
    ):
        r = remediations.add_remediation(session=session, incident_id=firewall.id, actor=actor, now=t0 + timedelta(days=1), data=dict(
            action=RemediationAction(action), title=title, owner=owner, due_on=(now + timedelta(days=days)).date(),
            evidence="測試紀錄 CHG-2026-118" if status == "done" else None))
        if status != "planned":
            remediations.update_remediation(session=session, remediation_id=r.id, data={"status": RemediationStatus(status)}, expected_version=None,
                                            actor=actor, now=t0 + timedelta(days=2))
    incidents.update_incident(session=session, incident_id=firewall.id, expected_version=None, actor=actor, registry=registry,
                              now=t0 + timedelta(days=2, minutes=5), data={"status": IncidentStatus.closed},
                              confirm_open_remediation=True)

    # Case 2 (yesterday, open): the certificate server never released its database connections.
    t1 = now - timedelta(hours=26)
    cert = incidents.open_incident(session=session, actor=actor, registry=registry, default_policies=["twse"], now=t1 + timedelta(minutes=55), data=dict(
        vendor_id=v[4].id, contract_id=ca_contract.id, system_ids=[systems["憑證驗章系統"].id], kind=IncidentKind.outage, severity=3,
        title="憑證驗章回應緩慢，電子交易平台無法登入",
        description="憑證伺服器與資料庫連線之程式存在設計瑕疵：驗章完成後未釋出連線，資源耗盡後驗章服務中斷。",
        occurred_at=t1 - timedelta(minutes=40), detected_at=t1 - timedelta(minutes=10), aware_at=t1,
        vendor_aware_at=t1 - timedelta(minutes=30), vendor_notified_at=t1 + timedelta(minutes=5),
        service_down_at=t1 - timedelta(minutes=25), service_restored_at=t1 + timedelta(minutes=50),
        data_loss_from=t1 - timedelta(minutes=25), data_loss_to=t1 - timedelta(minutes=17),
        trading_affected=True, investors_affected=False, clients_affected=640, estimated_loss_ntd=850_000,
        bcp_invoked=True, failover_performed=True, root_cause="驗章後未釋出資料庫連線資源，連線池耗盡。"))
    clocks.record_filing(session=session, incident_id=cert.id, actor=actor, registry=registry, now=t1 + timedelta(minutes=34),
                         data={"clock": "initial", "submitted_at": t1 + timedelta(minutes=33), "reference": f"ISAC-{cert.id:04d}-INI"})
    clocks.record_filing(session=session, incident_id=cert.id, actor=actor, registry=registry, now=t1 + timedelta(minutes=29),
                         data={"clock": "public_notice", "submitted_at": t1 + timedelta(minutes=28), "reference": "MOPS-1130045"})
    for action, title, owner, days in (
        ("stress_test", "擴大壓力測試：應用程式主機、資料庫主機、憑證主機", "台灣網路認證 技術部", 14),
        ("resource_allocation", "調整系統資源分配與連線池上限告警", "資訊部 維運組", 7),
        ("code_review", "憑證伺服器連線釋放程式碼審查", "台灣網路認證 研發部", -1),
    ):
        remediations.add_remediation(session=session, incident_id=cert.id, actor=actor, now=t1 + timedelta(hours=3), data=dict(
            action=RemediationAction(action), title=title, owner=owner, due_on=(now + timedelta(days=days)).date()))

    # Case 3 (just now, open): a quote-feed failover, so the board has a clock counting down.
    t2 = now - timedelta(minutes=12)
    incidents.open_incident(session=session, actor=actor, registry=registry, default_policies=["twse"], now=now, data=dict(
        vendor_id=v[2].id, system_ids=[systems["行情報價系統"].id], kind=IncidentKind.outage, severity=2,
        title="主要行情專線中斷，已切換備援線路", description="中華電信機房光纖中斷，主要行情來源中斷，自動切換至備援線路。",
        aware_at=t2, service_down_at=t2 - timedelta(minutes=3), occurred_at=t2 - timedelta(minutes=3),
        trading_affected=False, investors_affected=False, failover_performed=True))
    return {"vendors": len(VENDORS), "systems": len(SYSTEMS), "contracts": 4, "incidents": 3}
