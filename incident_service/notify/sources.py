"""What to tell people about: the clock engine's notifications (reporting clocks and vendor duties, which include
contracts and certifications about to end), and what the engine scans besides (remediation overdue, a vendor's
notification duty breached).

Each becomes one event with a unique source key, fanned out in the same transaction; a key carries its
period (``remediation:12:overdue:2026-11-21`` reminds once a day; ``contract:3:expires:2027-01-31``
once per end date), so each fires once per period, across restarts and several engines.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from incident_service.incidents.derived import measuring_contract, vendor_notification
from incident_service.incidents.figures import contracts_by_vendor
from incident_service.incidents.models import Incident, IncidentStatus, Remediation
from incident_service.incidents.remediation import OPEN as OPEN_REMEDIATION
from incident_service.notify import messages
from incident_service.notify.models import NotifyEvent
from incident_service.notify.routing import Router
from incident_service.notify.settings import NotifySettings
from incident_service.reporting.models import Deadline, Notification


def _commit_or_yield(session: Session) -> bool:
    """Commit; a unique-key clash means another engine recorded the same event first: drop ours."""
    try:
        session.commit()
        return True
    except IntegrityError:
        session.rollback()
        return False


def route_new_notifications(*, session: Session, settings: NotifySettings, now: datetime, limit: int = 500) -> int:
    """Turn notifications the clock engine wrote into events and outbox rows, oldest first (commits).

    Returns how many notifications were routed.
    """
    routed = sa.select(NotifyEvent.id).where(NotifyEvent.notification_id == Notification.id)
    stmt = sa.select(Notification).where(~routed.exists()).order_by(Notification.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Notification)
    notifications = session.scalars(stmt).all()
    if not notifications:
        session.commit()
        return 0
    deadlines = {d.id: d for d in session.scalars(
        sa.select(Deadline).where(Deadline.id.in_({n.deadline_id for n in notifications})))}
    router = Router.load(session, settings=settings, now=now)
    for notification in notifications:
        deadline = deadlines[notification.deadline_id]
        event = messages.for_notification(notification, deadline, deadline.incident, zone=settings.zone,
                                          base_url=settings.base_url, now=now)
        router.fan_out(event, audience=list(notification.audience or []), reporter_id=notification.reporter_id)
    return len(notifications) if _commit_or_yield(session) else 0


def _candidates(session: Session, settings: NotifySettings, now: datetime):
    """(source key, build the event, fan-out arguments) for every other clock that is due now."""
    today = now.astimezone(settings.zone).date()
    base = settings.base_url
    overdue = session.scalars(
        sa.select(Remediation).options(joinedload(Remediation.incident), joinedload(Remediation.duty))
        .where(Remediation.status.in_(OPEN_REMEDIATION), Remediation.due_on < today).order_by(Remediation.id)
    ).all()
    for r in overdue:
        yield (f"remediation:{r.id}:overdue:{today}",
               lambda r=r: messages.for_remediation_overdue(r, today=today, zone=settings.zone, base_url=base, now=now),
               {"audience": ["reporter", "owner", "supervisors"] if r.incident else ["admins", "owner", "supervisors"],
                "reporter_id": r.incident.reported_by_id if r.incident else None, "owner": r.owner})
    # Only a known vendor awareness time measures the duty: a breach read off the occurrence time (a stand-in)
    # shows on the incident's figures but is never sent as a breach on its own.
    watched = session.scalars(
        sa.select(Incident).options(selectinload(Incident.systems))
        .where(Incident.status != IncidentStatus.closed, Incident.vendor_aware_at.is_not(None))
        .order_by(Incident.id)
    ).all()
    contracts = contracts_by_vendor(session, [i.vendor_id for i in watched])
    for incident in watched:
        contract, _basis = measuring_contract(incident, contracts.get(incident.vendor_id, []), settings.zone)
        if contract is None or contract.vendor_notify_minutes is None:
            continue
        figures = vendor_notification(incident, now, contract)
        if figures["breached"] and not figures["stand_in"]:
            yield (f"vendor_duty:incident:{incident.id}",
                   lambda i=incident, f=figures: messages.for_vendor_duty(i, f, base_url=base, now=now),
                   {"audience": ["reporter", "supervisors"], "reporter_id": incident.reported_by_id})


def scan_sources(*, session: Session, settings: NotifySettings, now: datetime) -> int:
    """Record an event for each overdue remediation (daily) and breached notification duty (once per incident).
    Contracts and certifications about to end are vendor duties on the clock. Commits; returns how many."""
    found: list[tuple[str, Callable[[], NotifyEvent], dict]] = list(_candidates(session, settings, now))
    if not found:
        session.commit()
        return 0
    keys = [key for key, _, _ in found]
    seen = set(session.scalars(sa.select(NotifyEvent.source_key).where(NotifyEvent.source_key.in_(keys))))
    new = [(build, route) for key, build, route in found if key not in seen]
    if not new:
        session.commit()
        return 0
    router = Router.load(session, settings=settings, now=now)
    for build, route in new:
        router.fan_out(build(), **route)
    return len(new) if _commit_or_yield(session) else 0


def record_audit_checkpoint(*, session: Session, settings: NotifySettings, anchor: dict, now: datetime) -> bool:
    """Queue a checkpoint of the audit trail for every active auditor (and any rule on ``audit_checkpoint``).
    Commits; False when it was queued already or nobody could be reached."""
    router = Router.load(session, settings=settings, now=now)
    rows = router.fan_out(messages.for_audit_checkpoint(anchor, now=now), audience=["auditors"])
    return _commit_or_yield(session) and bool(rows)
