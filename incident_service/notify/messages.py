"""The words of each message, in Traditional Chinese and English: what, which incident, which clock,
the due time in the firm's zone, the time left, and a link. Pure functions returning an unsaved event."""
from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from incident_service.database import jsonable
from incident_service.incidents.models import Incident, Remediation
from incident_service.notify.models import EventKind, NotifyEvent
from incident_service.reporting.models import AlertStage, Deadline, Notification
from incident_service.timefmt import local, span
from incident_service.vendors.models import Certification, Contract

_TAG = {
    EventKind.warning: ("提醒", "Warning"),
    EventKind.escalation: ("逾期升級", "Escalation"),
    EventKind.remediation_overdue: ("後續處理逾期", "Remediation overdue"),
    EventKind.vendor_duty_breached: ("廠商通知義務違反", "Vendor notification duty breached"),
    EventKind.contract_expiring: ("合約即將到期", "Contract expiring"),
    EventKind.certification_expiring: ("認證即將到期", "Certification expiring"),
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


def for_notification(notification: Notification, deadline: Deadline, incident: Incident, *, zone: ZoneInfo,
                     base_url: str, now: datetime) -> NotifyEvent:
    """A clock engine warning or escalation. Time left is as of when the engine raised it."""
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


def for_contract_expiring(contract: Contract, *, today: date, base_url: str, now: datetime) -> NotifyEvent:
    days = (contract.ends_on - today).days
    vendor = contract.vendor.name
    zh = f"廠商 {vendor} 的合約 {contract.reference}「{contract.title}」將於 {contract.ends_on} 到期，剩餘 {days} 天。"
    en = f"Contract {contract.reference} \"{contract.title}\" with {vendor} ends on {contract.ends_on}; {days} day(s) left."
    return _event(EventKind.contract_expiring, f"contract:{contract.id}:expires:{contract.ends_on}",
                  head=f"{vendor} {contract.reference}: {contract.ends_on}", zh=zh, en=en, now=now,
                  link=f"{base_url}/vendors/{contract.vendor_id}", vendor=vendor, contract_id=contract.id,
                  reference=contract.reference, ends_on=contract.ends_on, days_left=days)


def for_certification_expiring(cert: Certification, *, today: date, base_url: str, now: datetime) -> NotifyEvent:
    days = (cert.expires_on - today).days
    vendor = cert.vendor.name
    zh = f"廠商 {vendor} 的認證 {cert.name} 將於 {cert.expires_on} 到期，剩餘 {days} 天。"
    en = f"{vendor}'s certification {cert.name} expires on {cert.expires_on}; {days} day(s) left."
    # Keyed by vendor and name, not row id: editing a vendor rewrites its certification rows.
    name_key = hashlib.sha1(cert.name.encode()).hexdigest()[:12]
    return _event(EventKind.certification_expiring, f"certification:{cert.vendor_id}:{name_key}:expires:{cert.expires_on}",
                  head=f"{vendor} {cert.name}: {cert.expires_on}", zh=zh, en=en, now=now,
                  link=f"{base_url}/vendors/{cert.vendor_id}", vendor=vendor, certification=cert.name,
                  expires_on=cert.expires_on, days_left=days)
