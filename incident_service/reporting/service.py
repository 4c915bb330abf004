"""The clock rules: which deadlines an incident has, when each is due, and what stops it."""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.errors import Conflict, NotFound, ValidationFailed
from incident_service.incidents.models import Incident, IncidentStatus
from incident_service.incidents.timeline import record_event
from incident_service.reporting.models import (
    OPEN_STATES,
    AlertStage,
    AlertState,
    Deadline,
    DeadlineAlert,
    DeadlineState,
    Filing,
)
from incident_service.reporting.policy import INCIDENT_EVENTS, Clock, Policy, PolicyRegistry, StartRule


# -- reading a deadline against the clock ---------------------------------------------------------

def effective_state(deadline: Deadline, now: datetime) -> DeadlineState:
    """The state as of ``now``: a pending deadline past its due time is missed even before the engine ran."""
    if deadline.state in (DeadlineState.pending, DeadlineState.missed) and deadline.due_at is not None:
        return DeadlineState.missed if now > deadline.due_at else DeadlineState.pending
    return deadline.state


def seconds_left(deadline: Deadline, now: datetime) -> int | None:
    """Whole seconds to the due time (negative once overdue); None when the clock is stopped or not started."""
    if deadline.due_at is None or deadline.state not in (DeadlineState.pending, DeadlineState.missed):
        return None
    return math.floor((deadline.due_at - now).total_seconds())


def state_condition(state: DeadlineState, now: datetime) -> sa.ColumnElement[bool]:
    """SQL for "has this effective state at ``now``" (the same rule as effective_state)."""
    if state == DeadlineState.pending:
        return sa.and_(Deadline.state == DeadlineState.pending, Deadline.due_at >= now)
    if state == DeadlineState.missed:
        return sa.or_(
            sa.and_(Deadline.state == DeadlineState.missed, Deadline.due_at < now),
            sa.and_(Deadline.state == DeadlineState.pending, Deadline.due_at < now),
        )
    return Deadline.state == state


# -- computing the deadlines of an incident --------------------------------------------------------

def _rule_start(rule: StartRule, policy: Policy, incident: Incident, filings: list[Filing]) -> datetime | None:
    if rule.start in INCIDENT_EVENTS:
        return getattr(incident, INCIDENT_EVENTS[rule.start])
    kind = rule.start.removeprefix("filing:")
    times = sorted(f.submitted_at for f in filings if f.kind == kind and f.policy_key in (None, policy.key))
    if not times:
        return None
    return times[0] if rule.filing == "first" else times[-1]


def compute_due(clock: Clock, policy: Policy, incident: Incident, filings: list[Filing], zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """(started_at, due_at) of a clock: the earliest due time among the rules whose start is known."""
    best: tuple[datetime, datetime] | None = None
    for rule in clock.rules:
        start = _rule_start(rule, policy, incident, filings)
        if start is None:
            continue
        due = rule.duration.after(start, zone)
        if best is None or due < best[1]:
            best = (start, due)
    return best if best else (None, None)


def _stopping_filing(clock: Clock, policy: Policy, filings: list[Filing]) -> Filing | None:
    matching = [f for f in filings if f.kind == clock.stopped_by and f.policy_key in (None, policy.key)]
    return min(matching, key=lambda f: (f.submitted_at, f.id or 0), default=None)


def _cancel_alerts(session: Session, deadline: Deadline, *, keep_due: datetime | None = None) -> None:
    stmt = sa.update(DeadlineAlert).where(
        DeadlineAlert.deadline_id == deadline.id, DeadlineAlert.state == AlertState.scheduled
    )
    if keep_due is not None:
        stmt = stmt.where(DeadlineAlert.due_at != keep_due)
    session.execute(stmt.values(state=AlertState.cancelled), execution_options={"synchronize_session": False})


def _schedule_alerts(session: Session, deadline: Deadline, clock: Clock, now: datetime) -> None:
    """Alert rows for the deadline's current due time, unless they exist already.

    A warning whose instant is already past is not sent late with a stale "10 minutes left":
    only the latest past warning fires (at once), and none when the due time itself has passed;
    the escalation at the due time always fires.
    """
    due = deadline.due_at
    existing = set(
        session.execute(
            sa.select(DeadlineAlert.stage, DeadlineAlert.offset_minutes).where(
                DeadlineAlert.deadline_id == deadline.id, DeadlineAlert.due_at == due
            )
        ).all()
    )
    instants = [(AlertStage.warning, w.minutes, due - timedelta(minutes=w.minutes)) for w in clock.warnings]
    past_warnings = [i for i in instants if i[2] <= now]
    latest_past = max(past_warnings, key=lambda i: i[2]) if past_warnings and due > now else None
    if clock.escalate:
        instants.append((AlertStage.escalation, 0, due))
    for stage, offset, fire_at in instants:
        if (stage, offset) in existing:
            continue
        skipped = stage == AlertStage.warning and fire_at <= now and (stage, offset, fire_at) != latest_past
        session.add(
            DeadlineAlert(
                deadline_id=deadline.id,
                stage=stage,
                offset_minutes=offset,
                due_at=due,
                fire_at=fire_at,
                state=AlertState.skipped if skipped else AlertState.scheduled,
            )
        )


def _refresh(session: Session, deadline: Deadline, clock: Clock, policy: Policy, incident: Incident,
             filings: list[Filing], applies: bool, zone: ZoneInfo, now: datetime) -> None:
    started_at, due_at = compute_due(clock, policy, incident, filings, zone)
    filing = _stopping_filing(clock, policy, filings)
    deadline.label_zh, deadline.label_en, deadline.stopped_by = clock.label_zh, clock.label_en, clock.stopped_by
    deadline.started_at, deadline.due_at = started_at, due_at
    deadline.filing_id = filing.id if filing else None
    if filing is not None:
        late = due_at is not None and filing.submitted_at > due_at
        new_state = DeadlineState.met_late if late else DeadlineState.met
    elif deadline.state == DeadlineState.waived:
        new_state = DeadlineState.waived
    elif not applies or incident.status == IncidentStatus.closed:
        new_state = DeadlineState.withdrawn if not applies else deadline.state
    elif due_at is None:
        new_state = DeadlineState.waiting
    elif deadline.state == DeadlineState.missed and now > due_at:
        new_state = DeadlineState.missed
    else:
        new_state = DeadlineState.pending
    if new_state != deadline.state:
        deadline.state = new_state
    deadline.updated_at = now
    session.flush()
    if deadline.state == DeadlineState.pending or (deadline.state == DeadlineState.missed and due_at):
        _cancel_alerts(session, deadline, keep_due=due_at)
        _schedule_alerts(session, deadline, clock, now)
    else:
        _cancel_alerts(session, deadline)


def sync_deadlines(*, session: Session, incident: Incident, registry: PolicyRegistry, now: datetime) -> list[Deadline]:
    """Bring the incident's deadlines and their alert instants in line with its fields and filings.

    Called after every change to an incident; flushes, never commits.
    """
    session.flush()
    filings = list(session.scalars(sa.select(Filing).where(Filing.incident_id == incident.id)))
    existing = {
        (d.policy_key, d.clock_key): d
        for d in session.scalars(sa.select(Deadline).where(Deadline.incident_id == incident.id))
    }
    result: list[Deadline] = []
    for policy_key in incident.policies or []:
        policy = registry.get(policy_key)
        if policy is None:  # a policy file was removed: its deadlines stay as they are
            continue
        for clock in policy.clocks:
            deadline = existing.pop((policy.key, clock.key), None)
            applies = clock.applies.holds_for(incident)
            if deadline is None:
                if not applies:
                    continue
                deadline = Deadline(
                    incident_id=incident.id, policy_key=policy.key, clock_key=clock.key, label_zh=clock.label_zh,
                    label_en=clock.label_en, stopped_by=clock.stopped_by, state=DeadlineState.waiting,
                    created_at=now, updated_at=now,
                )
                session.add(deadline)
                session.flush()
            _refresh(session, deadline, clock, policy, incident, filings, applies, registry.zone, now)
            result.append(deadline)
    for orphan in existing.values():  # the incident no longer runs this policy
        if orphan.state in OPEN_STATES:
            orphan.state = DeadlineState.withdrawn
            orphan.updated_at = now
            _cancel_alerts(session, orphan)
    session.flush()
    return result


# -- queries -----------------------------------------------------------------------------------

def incident_deadlines(session: Session, incident_id: int) -> list[Deadline]:
    return list(
        session.scalars(
            sa.select(Deadline).where(Deadline.incident_id == incident_id).order_by(Deadline.due_at.is_(None), Deadline.due_at, Deadline.id)
        )
    )


def unresolved_deadlines(session: Session, incident_id: int) -> list[Deadline]:
    """Deadlines that still owe a filing or a waiver: closing the incident is refused while any remain."""
    return [d for d in incident_deadlines(session, incident_id) if d.state in OPEN_STATES]


def deadlines_query(*, now: datetime, state: DeadlineState | None = None, vendor_id: int | None = None,
                    incident_id: int | None = None, min_severity: int | None = None,
                    open_incidents_only: bool = False) -> sa.Select:
    """The board: overdue first, then by time left."""
    stmt = sa.select(Deadline).join(Deadline.incident)
    if state is not None:
        stmt = stmt.where(state_condition(state, now))
    if vendor_id is not None:
        stmt = stmt.where(Incident.vendor_id == vendor_id)
    if incident_id is not None:
        stmt = stmt.where(Deadline.incident_id == incident_id)
    if min_severity is not None:
        stmt = stmt.where(Incident.severity >= min_severity)
    if open_incidents_only:
        stmt = stmt.where(Incident.status != IncidentStatus.closed)
    overdue_first = sa.case((state_condition(DeadlineState.missed, now), 0), else_=1)
    return stmt.order_by(overdue_first, Deadline.due_at.is_(None), Deadline.due_at, Deadline.id)


def get_deadline(*, session: Session, deadline_id: int) -> Deadline:
    deadline = session.get(Deadline, deadline_id)
    if deadline is None:
        raise NotFound(f"Deadline {deadline_id} does not exist.")
    return deadline


# -- filings and waivers ---------------------------------------------------------------------------

def filing_kinds(incident: Incident, registry: PolicyRegistry) -> dict[str, list[str]]:
    """Filing kinds that stop a clock of the incident, with the policies that have them."""
    kinds: dict[str, list[str]] = {}
    for key in incident.policies or []:
        policy = registry.get(key)
        for clock in policy.clocks if policy else ():
            kinds.setdefault(clock.stopped_by, [])
            if policy.key not in kinds[clock.stopped_by]:
                kinds[clock.stopped_by].append(policy.key)
    return kinds


def record_filing(*, session: Session, incident_id: int, data: dict[str, Any], actor: str, registry: PolicyRegistry,
                  now: datetime) -> Filing:
    """Record a filed report; it stops the clocks it answers (met at or before due, met late after)."""
    from incident_service.incidents.service import get_incident, refresh_status

    incident = get_incident(session=session, incident_id=incident_id)
    kind, policy_key, submitted_at = data["clock"], data.get("policy"), data["submitted_at"]
    kinds = filing_kinds(incident, registry)
    errors: dict[str, list[str]] = {}
    if kind not in kinds:
        errors["clock"] = [f"This incident has no clock stopped by {kind!r}; it has: {', '.join(sorted(kinds)) or 'none'}."]
    elif policy_key is not None and policy_key not in kinds[kind]:
        errors["policy"] = [f"{kind!r} is filed under {', '.join(kinds[kind])} for this incident."]
    if submitted_at > now:
        errors["submitted_at"] = ["A filing cannot be submitted in the future."]
    elif submitted_at < incident.aware_at:
        errors["submitted_at"] = ["A filing cannot precede the awareness time."]
    if errors:
        raise ValidationFailed(errors)
    filing = Filing(
        incident_id=incident.id, kind=kind, policy_key=policy_key, submitted_at=submitted_at,
        submitted_by=data.get("submitted_by") or actor, reference=data.get("reference"), text=data.get("text"),
        recorded_at=now, recorded_by=actor,
    )
    session.add(filing)
    session.flush()
    deadlines = sync_deadlines(session=session, incident=incident, registry=registry, now=now)
    stopped = [d for d in deadlines if d.filing_id == filing.id]
    outcome = ", ".join(f"{d.label_en}: {d.state.value}" for d in stopped) or "no open clock"
    record_event(
        session, incident_id=incident.id, actor=actor, kind="filing", now=now,
        summary=f"Filed {kind}{f' ({policy_key})' if policy_key else ''}"
                f"{f' ref {filing.reference}' if filing.reference else ''} — {outcome}",
        changes={"filing_id": [None, filing.id], "submitted_at": [None, submitted_at.isoformat()]},
    )
    refresh_status(session=session, incident=incident, actor=actor, now=now)
    incident.updated_at = now
    incident.version += 1
    session.commit()
    return filing


def waive_deadline(*, session: Session, deadline_id: int, reason: str, actor: str, registry: PolicyRegistry,
                   now: datetime) -> Deadline:
    """A supervisor records why no filing is owed for this clock; it stops the clock."""
    deadline = get_deadline(session=session, deadline_id=deadline_id)
    if deadline.state not in OPEN_STATES:
        raise Conflict(f"This deadline is already {deadline.state.value}; nothing to waive.", code="not_open")
    if not reason.strip():
        raise ValidationFailed({"reason": ["Say why no filing is owed."]})
    deadline.state = DeadlineState.waived
    deadline.waived_by, deadline.waived_at, deadline.waiver_reason = actor, now, reason.strip()
    deadline.updated_at = now
    _cancel_alerts(session, deadline)
    record_event(
        session, incident_id=deadline.incident_id, actor=actor, kind="waiver", now=now,
        summary=f"Waived {deadline.label_en} ({deadline.policy_key}): {reason.strip()}",
        changes={"deadline_id": [deadline.id, deadline.id], "state": ["open", "waived"]},
    )
    deadline.incident.version += 1
    deadline.incident.updated_at = now
    session.commit()
    return deadline


def filings_of(session: Session, incident_id: int) -> list[Filing]:
    return list(session.scalars(sa.select(Filing).where(Filing.incident_id == incident_id).order_by(Filing.submitted_at, Filing.id)))
