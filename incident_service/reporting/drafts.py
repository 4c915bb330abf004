"""Draft report text for each clock, generated from the incident's fields, in the layout of the policy it goes to.

The exchange's reports (seed 003) are drafted in Traditional Chinese: the vendor's own timeline, the affected
systems' RTO and RPO against the actual outage and data loss, the customer measures, the reporting contact,
where the report is filed, and for the formal and closure reports the initial report's reference. The public
notice is written for investors: the service, since when, its status, other ways to place orders, the
customer-service line; no internal cause, no vendor name. A DORA report follows DORA's own template.
What is not known yet says so (「調查中」), so a draft is never silently incomplete.

Plain functions: the incident, its figures and filings in, text out.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from incident_service import timefmt
from incident_service.reporting.policy import Clock, Policy

KIND_ZH = {"security": "資安事件", "outage": "服務中斷"}
SEVERITY_ZH = {1: "第一級", 2: "第二級", 3: "第三級", 4: "第四級"}
STATUS_ZH = {"planned": "規劃中", "in_progress": "進行中", "done": "已完成（待驗證）", "verified": "已驗證", "cancelled": "已取消"}
UNKNOWN = "調查中"
NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四", "十五",
            "十六", "十七", "十八", "十九", "二十"]
# Trailing punctuation of a typed text, dropped before the template adds its own (no 「。。」).
_TRAILING = re.compile(r"[\s。．.，,；;、！!？?]+$")
_DOUBLED = re.compile(r"([。，；、！？])[。，；、！？]+")


@dataclass(frozen=True)
class DraftContext:
    """What the firm states in every report (from the configuration)."""

    firm_name: str = "本公司"
    reporting_contact: str = ""
    customer_service_line: str = ""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DraftContext:
        return cls(firm_name=config.get("FIRM_NAME") or "本公司", reporting_contact=config.get("REPORTING_CONTACT") or "",
                   customer_service_line=config.get("CUSTOMER_SERVICE_LINE") or "")


# What each exchange report carries besides its header.
TWSE_SECTIONS = {
    "initial": ("facts", "vendor", "systems", "impact", "customer", "response", "contact"),
    "formal": ("facts", "vendor", "systems", "impact", "customer", "response", "cause", "follow_up", "initial_ref", "contact"),
    "closure": ("facts", "vendor", "systems", "impact", "customer", "response", "recovery", "cause", "follow_up",
                "initial_ref", "contact"),
}
GENERIC_SECTIONS = ("facts", "vendor", "systems", "impact", "customer", "response", "recovery", "cause", "follow_up", "contact")


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    return timefmt.local(value, zone, "%Y/%m/%d %H:%M") if value else UNKNOWN


def _clause(text: str | None, default: str = UNKNOWN) -> str:
    """A typed text as a clause: trimmed, without its own closing punctuation (the template adds it)."""
    cleaned = _TRAILING.sub("", (text or "").strip())
    return cleaned or default


def tidy(text: str) -> str:
    """No doubled punctuation anywhere in a draft."""
    return _DOUBLED.sub(r"\1", text)


def _yes_no(value: bool) -> str:
    return "是" if value else "否"


def _minutes(value: float | None) -> str:
    return UNKNOWN if value is None else f"{round(value):,} 分鐘"


def _systems(incident) -> str:
    if not incident.systems:
        return UNKNOWN
    return "、".join(f"{s.name}{'（核心系統）' if s.is_core else ''}" for s in incident.systems)


def _initial_reference(filings: list, policy_key: str) -> str:
    initial = [f for f in filings if f.kind == "initial" and f.policy_key == policy_key]
    if not initial:
        return "尚未完成初步通報"
    first = min(initial, key=lambda f: f.submitted_at)
    return first.reference or "（未記錄編號）"


# -- the exchange's layout (Traditional Chinese) -------------------------------------------------------

def _facts(incident, zone: ZoneInfo) -> list[str]:
    kind = _value(incident.kind)
    return [
        f"§事件名稱：{incident.title}",
        f"§事件類型：{KIND_ZH.get(kind, kind)}；事件等級：{SEVERITY_ZH.get(incident.severity, incident.severity)}",
        f"§事件發生時間：{_when(incident.occurred_at, zone)}",
        f"§偵測時間：{_when(incident.detected_at, zone)}",
        f"§知悉時間：{_when(incident.aware_at, zone)}",
        f"§事件說明：{_clause(incident.description)}。",
    ]


def _vendor(incident, zone: ZoneInfo, figures: dict) -> list[str]:
    notice = figures.get("vendor_notification") or {}
    lines = [
        f"§委外廠商：{incident.vendor.name}",
        f"　廠商知悉時間：{_when(incident.vendor_aware_at, zone)}",
        f"　廠商通知本公司時間：{_when(incident.vendor_notified_at, zone)}",
    ]
    if notice.get("delay_minutes") is not None:
        duty = notice.get("duty_minutes")
        verdict = ""
        if duty is not None and notice.get("breached") is not None:
            verdict = f"，合約要求 {duty} 分鐘內通知，{'已逾期' if notice['breached'] else '未逾期'}"
        basis = "（以事件發生時間推估）" if notice.get("stand_in") else ""
        lines.append(f"　廠商通知延遲：{_minutes(notice['delay_minutes'])}{basis}{verdict}")
    return lines


def _affected_systems(incident, figures: dict) -> list[str]:
    if not incident.systems:
        return [f"§受影響系統：{UNKNOWN}"]
    outage = figures.get("outage") or {}
    loss = figures.get("data_loss") or {}
    rpo_rows = {row["system_id"]: row for row in loss.get("systems", [])}
    lines = ["§受影響系統及復原目標："]
    for n, row in enumerate(outage.get("systems") or [{"system_id": s.id, "name": s.name, "is_core": s.is_core,
                                                          "rto_minutes": None, "breached": None} for s in incident.systems], 1):
        core = "（核心系統）" if row.get("is_core") else ""
        rto = f"{row['rto_minutes']} 分鐘" if row.get("rto_minutes") is not None else "未訂定"
        actual = "未記錄中斷時間" if outage.get("minutes") is None else _minutes(outage["minutes"])
        if outage.get("ongoing"):
            actual += "（尚未恢復）"
        verdict = "，已逾 RTO" if row.get("breached") else ("，未逾 RTO" if row.get("breached") is False else "")
        rpo_row = rpo_rows.get(row["system_id"], {})
        rpo = f"{rpo_row['rpo_minutes']} 分鐘" if rpo_row.get("rpo_minutes") is not None else "未訂定"
        lost = "無資料遺失紀錄" if loss.get("minutes") is None else _minutes(loss["minutes"])
        rpo_verdict = "，已逾 RPO" if rpo_row.get("breached") else ("，未逾 RPO" if rpo_row.get("breached") is False else "")
        lines.append(f"　{n}. {row['name']}{core}：RTO {rto}，實際中斷 {actual}{verdict}；RPO {rpo}，資料遺失 {lost}{rpo_verdict}")
    return lines


def _impact(incident) -> list[str]:
    clients = f"{incident.clients_affected:,} 戶" if incident.clients_affected is not None else UNKNOWN
    amount = f"新臺幣 {incident.estimated_loss_ntd:,} 元" if incident.estimated_loss_ntd is not None else UNKNOWN
    return [
        "§影響範圍：",
        f"　（一）是否影響交易：{_yes_no(incident.trading_affected)}",
        f"　（二）是否影響投資人權益：{_yes_no(incident.investors_affected)}",
        f"　（三）受影響客戶數：{clients}",
        f"　（四）預估金額：{amount}",
    ]


def _customer(incident) -> list[str]:
    return [
        "§客戶服務措施：",
        f"　（一）第一時間公告：{_clause(incident.customer_notice, '尚未公告')}",
        f"　（二）替代下單管道：{_clause(incident.alternative_channels, '無')}",
        f"　（三）客訴處理：{_clause(incident.complaint_handling, '依客訴處理程序辦理')}",
    ]


def _response(incident, zone: ZoneInfo) -> list[str]:
    lines = ["§處理情形："]
    if incident.service_down_at:
        lines.append(f"　服務中斷時間：{_when(incident.service_down_at, zone)}")
    lines.append(f"　啟動營運持續計畫：{_yes_no(incident.bcp_invoked)}；切換備援：{_yes_no(incident.failover_performed)}")
    lines.append(f"　{_clause(incident.response_notes, '處理中，後續進度將再行通報')}。")
    return lines


def _recovery(incident, zone: ZoneInfo, figures: dict) -> list[str]:
    if incident.service_down_at is None:
        return ["§復原情形：服務未中斷。"]
    if incident.service_restored_at is None:
        return ["§復原情形：服務尚未恢復。"]
    lines = [f"§復原情形：服務已於 {_when(incident.service_restored_at, zone)} 恢復。"]
    minutes = round((incident.service_restored_at - incident.service_down_at).total_seconds() / 60)
    lines.append(f"　中斷時間共 {minutes} 分鐘。")
    return lines


def _cause(incident) -> list[str]:
    return [f"§原因：{_clause(incident.root_cause)}。"]


def _follow_up(incident) -> list[str]:
    actions = [r for r in incident.remediations if _value(r.status) != "cancelled"]
    if not actions:
        return ["§後續處理：研議中。"]
    lines = ["§後續處理："]
    for n, r in enumerate(actions, 1):
        status = STATUS_ZH.get(_value(r.status), _value(r.status))
        lines.append(f"　{n}. {_clause(r.title)}（負責人：{r.owner}，預計完成：{r.due_on:%Y/%m/%d}，{status}）")
    return lines


def _contact(incident, context: DraftContext) -> list[str]:
    contact = (incident.reporting_contact or context.reporting_contact or "").strip() or "（請填寫通報聯絡人）"
    return [f"§通報聯絡人：{contact}"]


def _twse_report(incident, *, clock_key: str, label_zh: str, clock: Clock | None, policy_key: str, figures: dict,
                 filings: list, context: DraftContext, zone: ZoneInfo, now: datetime, sections=None) -> str:
    sections = sections or TWSE_SECTIONS.get(clock_key, GENERIC_SECTIONS)
    lines = [f"【{label_zh}】", f"申報時間：{_when(now, zone)}"]
    if clock is not None and clock.filed_with_zh:
        lines.append(f"通報管道：{clock.filed_with_zh}")
    lines.append(f"申報單位：{context.firm_name}")
    for section in sections:
        if section == "facts":
            lines += _facts(incident, zone)
        elif section == "vendor":
            lines += _vendor(incident, zone, figures)
        elif section == "systems":
            lines += _affected_systems(incident, figures)
        elif section == "impact":
            lines += _impact(incident)
        elif section == "customer":
            lines += _customer(incident)
        elif section == "response":
            lines += _response(incident, zone)
        elif section == "recovery":
            lines += _recovery(incident, zone, figures)
        elif section == "cause":
            lines += _cause(incident)
        elif section == "follow_up":
            lines += _follow_up(incident)
        elif section == "initial_ref":
            lines.append(f"§初步通報編號：{_initial_reference(filings, policy_key)}")
        elif section == "contact":
            lines += _contact(incident, context)
    numerals = iter(NUMERALS)
    return tidy("\n".join(f"{next(numerals)}、{line[1:]}" if line.startswith("§") else line for line in lines))


def public_notice(incident, *, context: DraftContext, zone: ZoneInfo) -> str:
    """The investor-facing notice (即時公告): what service, since when, its status, other ways to trade, and the
    customer-service line. No internal cause and no vendor name."""
    services = "、".join(s.name for s in incident.systems) or "部分電子交易服務"
    since = incident.service_down_at or incident.impact_known_at or incident.aware_at
    if incident.service_restored_at is not None:
        status = f"已於 {_when(incident.service_restored_at, zone)} 恢復正常"
    else:
        status = "目前正全力搶修中，恢復後將另行公告"
    channels = _clause(incident.alternative_channels, "臨櫃或電話委託等替代方式")
    line = (context.customer_service_line or "").strip() or "（請填寫客服專線）"
    text = "\n".join([
        f"主旨：{context.firm_name}{services}服務異常說明。",
        "說明：",
        f"一、{context.firm_name}{services}自 {_when(since, zone)} 起發生服務異常，{status}。",
        f"二、服務異常期間，投資人可改採下列方式下單：{channels}。",
        f"三、如有疑問，請洽客戶服務專線：{line}。",
        "四、造成不便，敬請見諒。",
    ])
    return tidy(text)


# -- DORA's own template (English, the EU supervisor's language) -------------------------------------

def _dora_report(incident, *, clock_key: str, label_zh: str, figures: dict, filings: list, context: DraftContext,
                 zone: ZoneInfo, now: datetime, criteria_labels: dict[str, str]) -> str:
    def when(value: datetime | None) -> str:
        return timefmt.local(value, zone, f"%Y-%m-%d %H:%M ({zone.key})") if value else "not yet known"

    kind = {"initial": "Initial notification", "intermediate": "Intermediate report", "final": "Final report"}.get(clock_key, label_zh)
    contact = (incident.reporting_contact or context.reporting_contact or "").strip() or "(reporting contact)"
    criteria = ", ".join(criteria_labels.get(c, c) for c in incident.major_criteria or []) or "not yet classified"
    lines = [
        f"DORA major ICT-related incident — {kind}",
        f"Financial entity: {context.firm_name}",
        f"Contact person: {contact}",
        f"Incident reference code: INC-{incident.id}",
        f"Date and time of detection: {when(incident.detected_at or incident.aware_at)}",
        f"Date and time of classification as major: {when(incident.classified_at)}",
        f"Classification criteria triggered: {criteria}",
        f"Description: {_clause(incident.description, 'under investigation')}",
        f"Originating at a third-party ICT service provider: yes ({incident.vendor.name})",
        f"Business continuity plan activated: {'yes' if incident.bcp_invoked else 'no'}",
    ]
    if clock_key in ("intermediate", "final"):
        outage = figures.get("outage") or {}
        loss = figures.get("data_loss") or {}
        lines += [
            f"Date and time the incident occurred: {when(incident.occurred_at)}",
            f"Service downtime: {outage.get('minutes') if outage.get('minutes') is not None else 'not yet known'} minutes"
            + (" (ongoing)" if outage.get("ongoing") else ""),
            f"Clients affected: {incident.clients_affected if incident.clients_affected is not None else 'not yet known'}",
            f"Data losses: {loss.get('minutes')} minutes of data" if loss.get("minutes") is not None else "Data losses: none recorded",
            f"Economic impact (NTD): {incident.estimated_loss_ntd if incident.estimated_loss_ntd is not None else 'not yet known'}",
            f"Recovered at: {when(incident.service_restored_at)}",
            f"Reference of the initial notification: {_dora_initial_ref(filings)}",
        ]
    if clock_key == "final":
        lines += [f"Root cause: {_clause(incident.root_cause, 'under investigation')}"]
        actions = [r for r in incident.remediations if _value(r.status) != "cancelled"]
        lines += ["Remediation actions:"] + [f"  {n}. {r.title} (owner {r.owner}, due {r.due_on:%Y-%m-%d}, {_value(r.status)})"
                                              for n, r in enumerate(actions, 1)] if actions else ["Remediation actions: being decided"]
    lines.append(f"Prepared at: {when(now)}")
    return "\n".join(lines)


def _dora_initial_ref(filings: list) -> str:
    initial = [f for f in filings if f.kind == "initial" and f.policy_key == "eu_dora"]
    return (min(initial, key=lambda f: f.submitted_at).reference or "(no reference recorded)") if initial else "not filed yet"


# -- one entry point ----------------------------------------------------------------------------------

def draft_report(*, incident, clock_key: str, label_zh: str, zone: ZoneInfo, now: datetime, policy: Policy | None = None,
                 figures: dict | None = None, filings: list | None = None, context: DraftContext | None = None,
                 criteria_labels: dict[str, str] | None = None) -> str:
    """The text of one report for the incident, as of ``now``, in its policy's layout."""
    figures, filings, context = figures or {}, filings or [], context or DraftContext()
    template = policy.draft_template if policy is not None else "twse"
    clock = policy.clock(clock_key) if policy is not None else None
    policy_key = policy.key if policy is not None else "twse"
    if clock_key == "public_notice":
        return tidy(incident.public_notice_text.strip()) if (incident.public_notice_text or "").strip() else \
            public_notice(incident, context=context, zone=zone)
    if template == "dora":
        return _dora_report(incident, clock_key=clock_key, label_zh=label_zh, figures=figures, filings=filings,
                            context=context, zone=zone, now=now, criteria_labels=criteria_labels or {})
    sections = None if template == "twse" else GENERIC_SECTIONS
    return _twse_report(incident, clock_key=clock_key, label_zh=label_zh, clock=clock, policy_key=policy_key,
                        figures=figures, filings=filings, context=context, zone=zone, now=now, sections=sections)


def drafts_for(*, incident, deadlines, registry, figures: dict, filings: list, context: DraftContext, zone: ZoneInfo,
               now: datetime, criteria_labels: dict[str, str] | None = None) -> dict[int, str]:
    """A draft per deadline of the incident, by deadline id."""
    return {d.id: draft_report(incident=incident, clock_key=d.clock_key, label_zh=d.label_zh, zone=zone, now=now,
                               policy=registry.get(d.policy_key), figures=figures, filings=filings, context=context,
                               criteria_labels=criteria_labels)
            for d in deadlines}
