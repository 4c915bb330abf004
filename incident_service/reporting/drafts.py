"""Draft report text (Traditional Chinese) for each clock, generated from the incident's fields.

The supervisor pastes it into the exchange's reporting system; what is not known yet says so
(「調查中」), so a draft is never silently incomplete. Plain functions: incident and ``now`` in, text out.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from incident_service import timefmt

KIND_ZH = {"security": "資安事件", "outage": "服務中斷"}
SEVERITY_ZH = {1: "第一級", 2: "第二級", 3: "第三級", 4: "第四級"}
STATUS_ZH = {"planned": "規劃中", "in_progress": "進行中", "done": "已完成（待驗證）", "verified": "已驗證", "cancelled": "已取消"}
UNKNOWN = "調查中"

# What each report adds to the facts every report carries.
SECTIONS = {
    "initial": ("facts", "impact", "response"),
    "formal": ("facts", "impact", "response", "cause", "follow_up"),
    "closure": ("facts", "impact", "response", "recovery", "cause", "follow_up"),
    "public_notice": ("notice",),
}
FULL = ("facts", "impact", "response", "recovery", "cause", "follow_up")


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    return timefmt.local(value, zone, "%Y/%m/%d %H:%M") if value else UNKNOWN


def _yes_no(value: bool) -> str:
    return "是" if value else "否"


def _systems(incident) -> str:
    if not incident.systems:
        return UNKNOWN
    return "、".join(f"{s.name}{'（核心系統）' if s.is_core else ''}" for s in incident.systems)


def _facts(incident, zone: ZoneInfo) -> list[str]:
    return [
        f"§事件名稱：{incident.title}",
        f"§事件類型：{KIND_ZH.get(_value(incident.kind), _value(incident.kind))}；事件等級：{SEVERITY_ZH.get(incident.severity, incident.severity)}",
        f"§事件發生時間：{_when(incident.occurred_at, zone)}",
        f"§知悉時間：{_when(incident.aware_at, zone)}",
        f"§廠商：{incident.vendor.name}",
        f"§受影響系統：{_systems(incident)}",
        f"§事件說明：{(incident.description or '').strip() or UNKNOWN}",
    ]


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


def _response(incident, zone: ZoneInfo) -> list[str]:
    lines = ["§處理情形："]
    if incident.service_down_at:
        lines.append(f"　服務中斷時間：{_when(incident.service_down_at, zone)}")
    lines.append(f"　啟動營運持續計畫：{_yes_no(incident.bcp_invoked)}；切換備援：{_yes_no(incident.failover_performed)}")
    lines.append(f"　{(incident.response_notes or '').strip() or '處理中，後續進度將再行通報。'}")
    return lines


def _recovery(incident, zone: ZoneInfo, now: datetime) -> list[str]:
    if incident.service_restored_at is None:
        return ["§復原情形：服務尚未恢復。"]
    lines = [f"§復原情形：服務已於 {_when(incident.service_restored_at, zone)} 恢復。"]
    if incident.service_down_at:
        minutes = round((incident.service_restored_at - incident.service_down_at).total_seconds() / 60)
        lines.append(f"　中斷時間共 {minutes} 分鐘。")
    return lines


def _cause(incident) -> list[str]:
    return [f"§原因：{(incident.root_cause or '').strip() or UNKNOWN}"]


def _follow_up(incident, zone: ZoneInfo) -> list[str]:
    actions = [r for r in incident.remediations if _value(r.status) != "cancelled"]
    if not actions:
        return ["§後續處理：研議中。"]
    lines = ["§後續處理："]
    for n, r in enumerate(actions, 1):
        lines.append(f"　{n}. {r.title}（負責人：{r.owner}，預計完成：{r.due_on:%Y/%m/%d}，{STATUS_ZH.get(_value(r.status), _value(r.status))}）")
    return lines


def _notice(incident, zone: ZoneInfo) -> list[str]:
    affected = "、".join(x for x, on in (("交易", incident.trading_affected), ("投資人權益", incident.investors_affected)) if on)
    return [
        f"主旨：本公司因委外廠商系統異常，致{affected or '部分服務'}受影響之說明。",
        f"說明：本公司於 {_when(incident.aware_at, zone)} 知悉{_systems(incident)}發生{KIND_ZH.get(_value(incident.kind), '異常')}"
        f"（廠商：{incident.vendor.name}），{(incident.description or '').strip() or '目前正積極處理中'}。",
        "處理情形：" + ((incident.response_notes or "").strip() or "本公司已啟動應變程序，並將儘速恢復服務。"),
        "本公司將持續說明後續處理情形，造成不便，敬請見諒。",
    ]


def _value(v):
    return getattr(v, "value", v)


def draft_report(*, incident, clock_key: str, label_zh: str, zone: ZoneInfo, now: datetime) -> str:
    """The text of one report (初步通報, 正式通報, 解除通報, 即時公告 …) for the incident, as of ``now``."""
    sections = SECTIONS.get(clock_key, FULL)
    lines = [f"【{label_zh}】", f"申報時間：{_when(now, zone)}"]
    for section in sections:
        if section == "facts":
            lines += _facts(incident, zone)
        elif section == "impact":
            lines += _impact(incident)
        elif section == "response":
            lines += _response(incident, zone)
        elif section == "recovery":
            lines += _recovery(incident, zone, now)
        elif section == "cause":
            lines += _cause(incident)
        elif section == "follow_up":
            lines += _follow_up(incident, zone)
        elif section == "notice":
            lines += _notice(incident, zone)
    numerals = iter(["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三"])
    return "\n".join(f"{next(numerals)}、{line[1:]}" if line.startswith("§") else line for line in lines)


def drafts_for(*, incident, deadlines, zone: ZoneInfo, now: datetime) -> dict[int, str]:
    """A draft per deadline of the incident, by deadline id."""
    return {d.id: draft_report(incident=incident, clock_key=d.clock_key, label_zh=d.label_zh, zone=zone, now=now)
            for d in deadlines}
