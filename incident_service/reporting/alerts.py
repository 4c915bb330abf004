"""Firing the warning and escalation instants that are due: the clock engine's one use case.

Exactly once, across restarts and several engine processes: due alert rows are claimed by one
conditional UPDATE (on PostgreSQL over ``FOR UPDATE SKIP LOCKED``) and their notifications are
written in the same transaction; a notification's unique ``alert_id`` is the last line of defence.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from incident_service.reporting.models import (
    AlertStage,
    AlertState,
    Deadline,
    DeadlineAlert,
    DeadlineState,
    Notification,
)
from incident_service.timefmt import local, span


def claim_due_alerts(session: Session, *, now: datetime, engine_id: str, limit: int) -> list[int]:
    """Mark up to ``limit`` due alerts as fired by this engine and return their ids (in due order)."""
    due = (
        sa.select(DeadlineAlert.id)
        .where(DeadlineAlert.state == AlertState.scheduled, DeadlineAlert.fire_at <= now)
        .order_by(DeadlineAlert.fire_at, DeadlineAlert.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = session.execute(
        sa.update(DeadlineAlert)
        .where(DeadlineAlert.id.in_(due.scalar_subquery()), DeadlineAlert.state == AlertState.scheduled)
        .values(state=AlertState.fired, fired_at=now, fired_by=engine_id)
        .returning(DeadlineAlert.id),
        execution_options={"synchronize_session": False},
    ).scalars().all()
    return list(claimed)


def _messages(alert: DeadlineAlert, deadline: Deadline, left: int, zone: ZoneInfo) -> tuple[str, str]:
    due = local(deadline.due_at, zone)
    if deadline.duty is not None:
        vendor = deadline.duty.vendor.name
        if alert.stage == AlertStage.warning:
            return (f"Vendor duty — {vendor}: {deadline.label_en} is due at {due} ({zone.key}); {span(left)} left."[:500],
                    f"廠商義務 — {vendor}：{deadline.label_zh}應於 {due} 前完成，剩餘 {span(left, 'zh')}。"[:500])
        return (f"OVERDUE — vendor duty {vendor}: {deadline.label_en} was due at {due} ({zone.key}) and is not done."[:500],
                f"逾期 — 廠商義務 {vendor}：{deadline.label_zh}應於 {due} 前完成，尚未完成。"[:500])
    incident = deadline.incident
    policy = deadline.policy_key
    if alert.stage == AlertStage.warning:
        en = (f"Incident #{incident.id} {incident.title}: {deadline.label_en} ({policy}) is due at {due} "
              f"({zone.key}); {span(left)} left.")
        zh = (f"事件 #{incident.id} {incident.title}：{deadline.label_zh}（{policy}）應於 {due} 前完成，"
              f"剩餘 {span(left, 'zh')}。")
    else:
        en = (f"OVERDUE — incident #{incident.id} {incident.title}: {deadline.label_en} ({policy}) was due at "
              f"{due} ({zone.key}) and no filing is recorded.")
        zh = (f"逾期 — 事件 #{incident.id} {incident.title}：{deadline.label_zh}（{policy}）應於 {due} 前完成，"
              f"尚未記錄通報。")
    return en[:500], zh[:500]


def _audience(deadline: Deadline, stage: AlertStage) -> list[str]:
    """A report's clock warns its reporter and escalates to the supervisors too; a vendor duty warns the admins, who
    keep the vendor records, and escalates to the supervisors too."""
    first = "admins" if deadline.duty is not None else "reporter"
    return [first] if stage == AlertStage.warning else [first, "supervisors"]


def fire_due_alerts(*, session: Session, now: datetime, engine_id: str, zone: ZoneInfo,
                    limit: int = 500) -> tuple[int, list[Notification]]:
    """Claim up to ``limit`` due alerts and write their notifications in one transaction (commits).

    Returns how many were claimed and the notifications written (stale warnings are claimed but say nothing).
    """
    ids = claim_due_alerts(session, now=now, engine_id=engine_id, limit=limit)
    if not ids:
        session.commit()
        return 0, []
    alerts = session.scalars(
        sa.select(DeadlineAlert)
        .where(DeadlineAlert.id.in_(ids))
        .options(joinedload(DeadlineAlert.deadline).joinedload(Deadline.incident),
                 joinedload(DeadlineAlert.deadline).joinedload(Deadline.duty))
        .order_by(DeadlineAlert.fire_at, DeadlineAlert.id)
    ).all()
    # A warning overtaken by a later warning of the same deadline that is also due says nothing new.
    latest_warning: dict[int, datetime] = {}
    for alert in alerts:
        if alert.stage == AlertStage.warning:
            latest_warning[alert.deadline_id] = max(alert.fire_at, latest_warning.get(alert.deadline_id, alert.fire_at))
    created: list[Notification] = []
    for alert in alerts:
        deadline = alert.deadline
        still_open = deadline.state in (DeadlineState.pending, DeadlineState.missed) and deadline.due_at == alert.due_at
        if alert.stage == AlertStage.warning:
            stale = alert.due_at <= now or alert.fire_at < latest_warning[alert.deadline_id]
        else:
            stale = False
        if not still_open or stale:
            alert.state = AlertState.skipped
            continue
        left = int((alert.due_at - now).total_seconds())
        en, zh = _messages(alert, deadline, left, zone)
        duty = deadline.duty
        notification = Notification(
            alert_id=alert.id, incident_id=deadline.incident_id, deadline_id=deadline.id,
            duty_id=deadline.duty_id, vendor_id=duty.vendor_id if duty else deadline.incident.vendor_id,
            policy_key=deadline.policy_key, clock_key=deadline.clock_key, stage=alert.stage,
            audience=_audience(deadline, alert.stage),
            reporter_id=deadline.incident.reported_by_id if deadline.incident else None, due_at=alert.due_at,
            fire_at=alert.fire_at, created_at=now, seconds_left=left, message_en=en, message_zh=zh,
        )
        session.add(notification)
        created.append(notification)
        if alert.stage == AlertStage.escalation and deadline.state == DeadlineState.pending:
            deadline.state = DeadlineState.missed
            deadline.updated_at = now
    session.commit()
    return len(ids), created


def notifications_query(*, incident_id: int | None = None, stage: AlertStage | None = None,
                        since: datetime | None = None, vendor_id: int | None = None, duty_id: int | None = None) -> sa.Select:
    stmt = sa.select(Notification).order_by(Notification.created_at.desc(), Notification.id.desc())
    if incident_id is not None:
        stmt = stmt.where(Notification.incident_id == incident_id)
    if vendor_id is not None:
        stmt = stmt.where(Notification.vendor_id == vendor_id)
    if duty_id is not None:
        stmt = stmt.where(Notification.duty_id == duty_id)
    if stage is not None:
        stmt = stmt.where(Notification.stage == stage)
    if since is not None:
        stmt = stmt.where(Notification.created_at >= since)
    return stmt
