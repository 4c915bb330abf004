"""The words of each message, in Traditional Chinese and English: what, which incident, which clock,
the due time in the firm's zone, the time left, and a link. Pure functions returning an unsaved event."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from incident_service.database import jsonable
from incident_service.incidents.models import Incident, Remediation
from incident_service.notify.models import EventKind, NotifyEvent
from incident_service.reporting.models import AlertStage, Deadline, Notification
from incident_service.timefmt import local, span

_TAG = {
    EventKind.warning: ("提醒", "Warning"),
    EventKind.escalation: ("逾期升級", "Escalation"),
    EventKind.remediation_overdue: ("後續處理逾期", "Remediation overdue"),
    EventKind.vendor_duty_breached: ("廠商通知義務違反", "Vendor notification duty breached"),
    EventKind.audit_checkpoint: ("稽核軌跡檢查點", "Audit trail checkpoint"),
}


def incident_link(base_url: str, incident_id: int) -> str:
    return f"{base_url}/incidents/{incident_id}"


def _left(seconds: int) -> tuple[str, str]:
    if seconds > 0:
        return f"剩餘 {span(seconds, 'zh')}", f"{span(seconds)} left"
    if seconds == 0:
        return "現在到期", "due now"
    return f"已逾期 {span(seconds, 'zh')}", f"overdue by {span(seconds)}"


def _event(kind: EventKind, source_key: str, *, head: str, zh: str, en: str, link: str | None, now: datetime,
           **fields: Any) -> NotifyEvent:
    zh_tag, en_tag = _TAG[kind]
    facts = {"event": kind.value, "source": source_key, **{k: jsonable(v) for k, v in fields.items()}, "link": link}
    tail_zh = f"\n連結：{link}" if link else ""
    tail_en = f"\nLink: {link}" if link else ""
    return NotifyEvent(
        source_key=source_key, kind=kind, subject=f"[{zh_tag} {en_tag}] {head}"[:300],
        text_zh=zh + tail_zh, text_en=en + tail_en, link=link, facts=facts, created_at=now,
        incident_id=fields.get("incident_id"), clock_key=fields.get("clock"), severity=fields.get("severity"),
        due_at=fields.get("due_at"), seconds_left=fields.get("seconds_left"), notification_id=fields.get("notification_id"),
    )


def vendor_link(base_url: str, vendor_id: int, tab: str | None = None) -> str:
    return f"{base_url}/vendors/{vendor_id}" + (f"?tab={tab}" if tab else "")


def for_duty_notification(notification: Notification, deadline: Deadline, *, zone: ZoneInfo, base_url: str,
                          now: datetime) -> NotifyEvent:
    """A vendor duty's warning or escalation (the yearly audit, the access review, ...)."""
    kind = EventKind.warning if notification.stage == AlertStage.warning else EventKind.escalation
    due = f"{local(notification.due_at, zone)} ({zone.key})"
    left_zh, left_en = _left(notification.seconds_left)
    vendor = deadline.duty.vendor
    if kind == EventKind.warning:
        zh = f"廠商 {vendor.name}：{deadline.label_zh}應於 {due} 前完成，{left_zh}。"
        en = f"Vendor {vendor.name}: {deadline.label_en} is due at {due}; {left_en}."
    else:
        zh = f"廠商 {vendor.name}：{deadline.label_zh}應於 {due} 前完成，尚未完成，{left_zh}。"
        en = f"Vendor {vendor.name}: {deadline.label_en} was due at {due} and is not done; {left_en}."
    return _event(kind, f"notification:{notification.id}", head=f"{vendor.name} — {deadline.label_zh} {deadline.label_en}: {left_en}",
                  zh=zh, en=en, now=now, link=vendor_link(base_url, vendor.id, "duties"), vendor_id=vendor.id,
                  vendor=vendor.name, duty_id=deadline.duty_id, clock=notification.clock_key, policy=notification.policy_key,
                  clock_label_zh=deadline.label_zh, clock_label_en=deadline.label_en, due_at=notification.due_at,
                  due_at_local=local(notification.due_at, zone, "%Y-%m-%dT%H:%M%z"), seconds_left=notification.seconds_left,
                  notification_id=notification.id, stage=notification.stage.value)


def for_notification(notification: Notification, deadline: Deadline, incident: Incident | None, *, zone: ZoneInfo,
                     base_url: str, now: datetime) -> NotifyEvent:
    """A clock engine warning or escalation. Time left is as of when the engine raised it."""
    if incident is None:
        return for_duty_notification(notification, deadline, zone=zone, base_url=base_url, now=now)
    kind = EventKind.warning if notification.stage == AlertStage.warning else EventKind.escalation
    due = f"{local(notification.due_at, zone)} ({zone.key})"
    left_zh, left_en = _left(notification.seconds_left)
    what_zh, what_en = f"{deadline.label_zh}（{deadline.policy_key}）", f"{deadline.label_en} ({deadline.policy_key})"
    if kind == EventKind.warning:
        zh = f"事件 #{incident.id}「{incident.title}」：{what_zh}應於 {due} 前完成，{left_zh}。"
        en = f"Incident #{incident.id} \"{incident.title}\": {what_en} is due at {due}; {left_en}."
    else:
        zh = f"事件 #{incident.id}「{incident.title}」：{what_zh}應於 {due} 前完成，尚未記錄通報，{left_zh}。"
        en = f"Incident #{incident.id} \"{incident.title}\": {what_en} was due at {due} and no filing is recorded; {left_en}."
    head = f"#{incident.id} {incident.title} — {deadline.label_zh} {deadline.label_en}: {left_en}"
    return _event(kind, f"notification:{notification.id}", head=head, zh=zh, en=en, now=now,
                  link=incident_link(base_url, incident.id), incident_id=incident.id, incident_title=incident.title,
                  severity=incident.severity, clock=notification.clock_key, policy=notification.policy_key,
                  clock_label_zh=deadline.label_zh, clock_label_en=deadline.label_en, due_at=notification.due_at,
                  due_at_local=local(notification.due_at, zone, "%Y-%m-%dT%H:%M%z"), seconds_left=notification.seconds_left,
                  notification_id=notification.id, stage=notification.stage.value)


def for_remediation_overdue(remediation: Remediation, *, today: date, zone: ZoneInfo, base_url: str,
                            now: datetime) -> NotifyEvent:
    incident = remediation.incident
    days = (today - remediation.due_on).days
    if incident is None:  # a finding of a vendor duty (an audit, a review)
        vendor = remediation.duty.vendor
        zh = (f"廠商 {vendor.name} 的後續處理 #{remediation.id}「{remediation.title}」（負責人 {remediation.owner}）"
              f"應於 {remediation.due_on} 完成，已逾期 {days} 天。")
        en = (f"Vendor {vendor.name}: remediation #{remediation.id} \"{remediation.title}\" (owner {remediation.owner}) "
              f"was due on {remediation.due_on}; {days} day(s) overdue.")
        return _event(EventKind.remediation_overdue, f"remediation:{remediation.id}:overdue:{today}",
                      head=f"{vendor.name} {remediation.title}: {days} day(s) overdue", zh=zh, en=en, now=now,
                      link=vendor_link(base_url, vendor.id, "duties"), vendor_id=vendor.id, vendor=vendor.name,
                      remediation_id=remediation.id, owner=remediation.owner, due_on=remediation.due_on, days_overdue=days)
    zh = (f"事件 #{incident.id}「{incident.title}」的後續處理 #{remediation.id}「{remediation.title}」"
          f"（負責人 {remediation.owner}）應於 {remediation.due_on} 完成，已逾期 {days} 天。")
    en = (f"Incident #{incident.id} \"{incident.title}\": remediation #{remediation.id} \"{remediation.title}\" "
          f"(owner {remediation.owner}) was due on {remediation.due_on}; {days} day(s) overdue.")
    return _event(EventKind.remediation_overdue, f"remediation:{remediation.id}:overdue:{today}",
                  head=f"#{incident.id} {remediation.title}: {days} day(s) overdue", zh=zh, en=en, now=now,
                  link=incident_link(base_url, incident.id), incident_id=incident.id, incident_title=incident.title,
                  severity=incident.severity, remediation_id=remediation.id, owner=remediation.owner,
                  due_on=remediation.due_on, days_overdue=days)


def for_vendor_duty(incident: Incident, figures: dict[str, Any], *, base_url: str, now: datetime) -> NotifyEvent:
    vendor, duty = incident.vendor.name, figures["duty_minutes"]
    delay = figures["delay_minutes"]
    if delay is None:
        zh_delay, en_delay = "至今仍未通知", "it has still not notified us"
    else:
        zh_delay, en_delay = f"實際延遲 {delay} 分鐘", f"it took {delay} minutes"
    zh = f"事件 #{incident.id}「{incident.title}」：廠商 {vendor} 依合約應於知悉後 {duty} 分鐘內通知本公司，{zh_delay}。"
    en = (f"Incident #{incident.id} \"{incident.title}\": vendor {vendor} must notify us within {duty} minutes of "
          f"knowing under its contract; {en_delay}.")
    return _event(EventKind.vendor_duty_breached, f"vendor_duty:incident:{incident.id}",
                  head=f"#{incident.id} {incident.title}: {vendor}", zh=zh, en=en, now=now,
                  link=incident_link(base_url, incident.id), incident_id=incident.id, incident_title=incident.title,
                  severity=incident.severity, vendor=vendor, duty_minutes=duty, delay_minutes=delay)


def for_audit_checkpoint(anchor: dict[str, Any], *, now: datetime) -> NotifyEvent:
    """A signed checkpoint of the audit trail's head: the auditors keep the mail, outside our database."""
    line = f"seq={anchor['seq']} hash={anchor['hash']} at={anchor['at']} hmac={anchor['hmac']}"
    zh = (f"稽核軌跡檢查點（請保存本郵件）：第 {anchor['seq']} 筆，雜湊 {anchor['hash']}。\n{line}\n"
          "以 flask --app wsgi audit verify --anchors <資料夾> 驗證。")
    en = (f"Audit trail checkpoint (keep this mail): entry #{anchor['seq']}, hash {anchor['hash']}.\n{line}\n"
          "Check it with flask --app wsgi audit verify --anchors <folder>.")
    return _event(EventKind.audit_checkpoint, f"audit-checkpoint:{anchor['seq']}:{anchor['hash'][:16]}",
                  head=f"#{anchor['seq']} {anchor['hash'][:16]}…", zh=zh, en=en, link=None, now=now,
                  anchor=dict(anchor))
