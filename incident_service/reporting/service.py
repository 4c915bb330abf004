"""The clock rules: which deadlines an incident has, when each is due, and what stops it."""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service import timefmt
from incident_service.database import jsonable
from incident_service.errors import Conflict, Forbidden, NotFound, ValidationFailed
from incident_service.incidents.models import OPEN_STATUSES, Incident, IncidentStatus
from incident_service.incidents.timeline import record_event
from incident_service.reporting.models import OPEN_STATES, Deadline, DeadlineState, Filing
from incident_service.reporting.clock_rules import cancel_alerts, new_state, schedule_alerts
from incident_service.reporting.policy import INCIDENT_EVENTS, Clock, Policy, PolicyRegistry, StartRule


# -- computing the deadlines of an incident --------------------------------------------------------

def _rule_start(rule: StartRule, policy: Policy, incident: Incident, filings: list[Filing]) -> datetime | None:
    if rule.start in INCIDENT_EVENTS:
        return getattr(incident, INCIDENT_EVENTS[rule.start])
    kind = rule.start.removeprefix("filing:")
    # Only this policy's own filings start its clocks: a report to one regulator is not a report to another.
    times = sorted(f.submitted_at for f in filings if f.kind == kind and f.policy_key == policy.key)
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
    matching = [f for f in filings if f.kind == clock.stopped_by and f.policy_key == policy.key]
    return min(matching, key=lambda f: (f.submitted_at, f.id or 0), default=None)


def _refresh(session: Session, deadline: Deadline, clock: Clock, policy: Policy, incident: Incident,
             filings: list[Filing], applies: bool, zone: ZoneInfo, now: datetime) -> None:
    filing = _stopping_filing(clock, policy, filings)
    if applies:
        started_at, due_at = compute_due(clock, policy, incident, filings, zone)
    else:  # a clock that stopped applying keeps the due time it ran to: a miss against it stays a miss
        started_at, due_at = deadline.started_at, deadline.due_at
    state = new_state(deadline, filing=filing, applies=applies, due_at=due_at,
                       closed=incident.status == IncidentStatus.closed, now=now)
    deadline.label_zh, deadline.label_en, deadline.stopped_by = clock.label_zh, clock.label_en, clock.stopped_by
    deadline.started_at, deadline.due_at = started_at, due_at
    deadline.filing_id = filing.id if filing else None
    if state != deadline.state:
        deadline.state = state
    deadline.updated_at = now
    session.flush()
    if deadline.state == DeadlineState.pending or (deadline.state == DeadlineState.missed and due_at):
        cancel_alerts(session, deadline, keep_due=due_at)
        schedule_alerts(session, deadline, clock, now)
    else:
        cancel_alerts(session, deadline)


def sync_deadlines(*, session: Session, incident: Incident, registry: PolicyRegistry, now: datetime) -> list[Deadline]:
    """Bring the incident's deadlines and their alert instants in line with its fields and filings.

    Called after every change to an incident; flushes, never commits. A deadline of a policy the incident no
    longer runs is refreshed as a clock that no longer applies (withdrawn, unless it was already missed).
    """
    session.flush()
    filings = list(session.scalars(sa.select(Filing).where(Filing.incident_id == incident.id)))
    existing = {
        (d.policy_key, d.clock_key): d
        for d in session.scalars(sa.select(Deadline).where(Deadline.incident_id == incident.id))
    }
    running = list(dict.fromkeys(incident.policies or []))
    result: list[Deadline] = []
    for policy_key in running + sorted({p for p, _ in existing if p not in running}):
        policy = registry.get(policy_key)
        if policy is None:  # a policy file was removed: its deadlines stay as they are
            continue
        for clock in policy.clocks:
            deadline = existing.pop((policy.key, clock.key), None)
            applies = policy_key in running and clock.applies.holds_for(incident)
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
    session.flush()
    return result


# -- what changed: each deadline whose outcome moved goes on the timeline ---------------------------------

def outcomes(session: Session, incident_id: int, now: datetime) -> dict[int, tuple[DeadlineState, datetime | None]]:
    """Each deadline's state as of ``now`` and its due time, to compare after a change."""
    return {d.id: (d.state_at(now), d.due_at) for d in incident_deadlines(session, incident_id)}


def record_outcome_changes(session: Session, *, incident_id: int, before: dict[int, tuple[DeadlineState, datetime | None]],
                           actor: str, now: datetime, cause: str) -> list[str]:
    """One timeline event per deadline whose state changed (``initial: met → met_late``); returns the lines."""
    lines = []
    for deadline in incident_deadlines(session, incident_id):
        old_state, old_due = before.get(deadline.id, (None, None))
        new_state = deadline.state_at(now)
        if old_state == new_state:
            continue
        old = old_state.value if old_state else "—"
        line = f"{deadline.clock_key} ({deadline.policy_key}): {old} → {new_state.value}"
        lines.append(line)
        record_event(session, incident_id=incident_id, actor=actor, kind="deadline_outcome", now=now,
                     summary=f"{deadline.label_en} ({deadline.policy_key}): {old} → {new_state.value} — {cause}",
                     changes={"deadline_id": [deadline.id, deadline.id], "state": [old_state.value if old_state else None, new_state.value],
                              "due_at": [jsonable(old_due), jsonable(deadline.due_at)]})
    return lines


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
        stmt = stmt.where(Deadline.in_state(state, now))
    if vendor_id is not None:
        stmt = stmt.where(Incident.vendor_id == vendor_id)
    if incident_id is not None:
        stmt = stmt.where(Deadline.incident_id == incident_id)
    if min_severity is not None:
        stmt = stmt.where(Incident.severity >= min_severity)
    if open_incidents_only:
        stmt = stmt.where(Incident.status.in_(OPEN_STATUSES))
    overdue_first = sa.case((Deadline.in_state(DeadlineState.missed, now), 0), else_=1)
    return stmt.order_by(overdue_first, Deadline.due_at.is_(None), Deadline.due_at, Deadline.id)


def get_deadline(*, session: Session, deadline_id: int) -> Deadline:
    deadline = session.get(Deadline, deadline_id)
    if deadline is None:
        raise NotFound(f"Deadline {deadline_id} does not exist.")
    return deadline


# -- filings, waivers and justifications -----------------------------------------------------------------

def filing_kinds(incident: Incident, registry: PolicyRegistry, deadlines: list[Deadline] | None = None) -> dict[str, list[str]]:
    """Filing kinds that stop a clock of the incident, with the policies that have them.

    The incident's policies give them; a missed deadline of a clock that no longer applies can still be
    filed late, so it adds its own kind and policy.
    """
    kinds: dict[str, list[str]] = {}

    def add(kind: str, policy_key: str) -> None:
        kinds.setdefault(kind, [])
        if policy_key not in kinds[kind]:
            kinds[kind].append(policy_key)

    for key in incident.policies or []:
        policy = registry.get(key)
        for clock in policy.clocks if policy else ():
            add(clock.stopped_by, policy.key)
    for d in deadlines or ():
        if d.state == DeadlineState.missed:
            add(d.stopped_by, d.policy_key)
    return kinds


def closure_clocks(policy: Policy | None, kind: str) -> list[Clock]:
    """The clocks this filing kind stops that say the incident is over (a closure, a final report)."""
    return [c for c in (policy.clocks if policy else ()) if c.stopped_by == kind and c.requires_recovery]


def _still_down(incident: Incident) -> bool:
    return incident.service_down_at is not None and incident.service_restored_at is None


def record_filing(*, session: Session, incident_id: int, data: dict[str, Any], actor: str, registry: PolicyRegistry,
                  now: datetime, may_backdate: bool = False, backdate_minutes: int = 60) -> Filing:
    """Record a filed report; it stops its own policy's clock (met at or before due, met late after).

    The policy must be named when more than one of the incident's policies has this kind of report. A filing
    recorded more than ``backdate_minutes`` after its stated submission needs ``may_backdate`` (a supervisor);
    both times are kept.
    """
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"Incident {incident_id} does not exist.")
    if incident.status == IncidentStatus.closed:
        raise Conflict("The incident is closed: no filing can be recorded on it. Reopen it first.", code="closed")
    kind, policy_key, submitted_at = data["clock"], data.get("policy"), data["submitted_at"]
    kinds = filing_kinds(incident, registry, incident_deadlines(session, incident.id))
    errors: dict[str, list[str]] = {}
    candidates = kinds.get(kind, [])
    if not candidates:
        errors["clock"] = [f"This incident has no clock stopped by {kind!r}; it has: {', '.join(sorted(kinds)) or 'none'}."]
    elif policy_key is None and len(candidates) > 1:
        errors["policy"] = [f"This incident runs more than one policy with {kind!r}: name the one it was filed under "
                            f"({', '.join(candidates)})."]
    elif policy_key is not None and policy_key not in candidates:
        errors["policy"] = [f"{kind!r} is filed under {', '.join(candidates)} for this incident."]
    policy_key = policy_key or (candidates[0] if len(candidates) == 1 else None)
    if policy_key and closure_clocks(registry.get(policy_key), kind) and _still_down(incident):
        errors.setdefault("clock", []).append(
            f"The service is still down (since {jsonable(incident.service_down_at)}): record when it was restored "
            f"(service_restored_at) before the {kind} report.")
    if submitted_at > now:
        errors["submitted_at"] = ["A filing cannot be submitted in the future."]
    elif submitted_at < incident.aware_at:
        errors["submitted_at"] = [f"A filing cannot precede the awareness time ({jsonable(incident.aware_at)})."]
    if errors:
        raise ValidationFailed(errors)
    late_by = now - submitted_at
    if late_by > timedelta(minutes=backdate_minutes) and not may_backdate:
        raise Forbidden(
            f"This filing is recorded {math.floor(late_by.total_seconds() / 60)} minutes after it was submitted; "
            f"a supervisor records filings more than {backdate_minutes} minutes old.",
            errors={"submitted_at": [f"More than {backdate_minutes} minutes ago: a supervisor must record it."]},
            code="backdated_filing",
        )
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
    backdated = f" (recorded {jsonable(now)})" if late_by > timedelta(minutes=backdate_minutes) else ""
    record_event(
        session, incident_id=incident.id, actor=actor, kind="filing", now=now,
        summary=f"Filed {kind} ({policy_key}){f' ref {filing.reference}' if filing.reference else ''}, submitted "
                f"{jsonable(submitted_at)}{backdated} — {outcome}",
        changes={"filing_id": [None, filing.id], "policy": [None, policy_key], "submitted_at": [None, jsonable(submitted_at)],
                 "recorded_at": [None, jsonable(now)]},
    )
    return filing


def waive_deadline(*, session: Session, deadline_id: int, reason: str, actor: str, now: datetime, zone: ZoneInfo) -> Deadline:
    """A supervisor records, before the due time, why no filing is owed for this clock; it stops the clock.

    After the due time a miss cannot be waived (it would vanish from the on-time rate): it can only be explained.
    """
    deadline = get_deadline(session=session, deadline_id=deadline_id)
    reason = (reason or "").strip()
    if deadline.state not in OPEN_STATES:
        raise Conflict(f"This deadline is already {deadline.state.value}; nothing to waive.", code="not_open")
    if deadline.due_at is not None and now > deadline.due_at:
        raise Conflict(
            f"The due time passed at {timefmt.local(deadline.due_at, zone)} ({zone.key}) without a filing: a missed "
            "deadline stays missed and cannot be waived. Record the late filing, and add a justification if there is one.",
            errors={"deadline": ["past due: add a justification instead of a waiver"]},
            code="past_due",
        )
    if not reason:
        raise ValidationFailed({"reason": ["Say why no filing is owed."]})
    deadline.state = DeadlineState.waived
    deadline.waived_by, deadline.waived_at, deadline.waiver_reason = actor, now, reason
    deadline.updated_at = now
    cancel_alerts(session, deadline)
    record_event(
        session, incident_id=deadline.incident_id, actor=actor, kind="waiver", now=now,
        summary=f"Waived {deadline.label_en} ({deadline.policy_key}) before its due time: {reason}",
        changes={"deadline_id": [deadline.id, deadline.id], "state": ["open", "waived"]},
    )
    return deadline


def justify_deadline(*, session: Session, deadline_id: int, reason: str, actor: str, now: datetime) -> Deadline:
    """After the due time, a supervisor explains a miss (or a late filing). The miss stays a miss everywhere."""
    deadline = get_deadline(session=session, deadline_id=deadline_id)
    reason = (reason or "").strip()
    state = deadline.state_at(now)
    if state not in (DeadlineState.missed, DeadlineState.met_late):
        raise Conflict(f"Only a missed or late deadline is justified; this one is {state.value}.", code="not_missed")
    if deadline.justification:
        raise Conflict(f"This miss was already justified by {deadline.justified_by}; the justification stands as recorded.",
                       code="already_justified")
    if not reason:
        raise ValidationFailed({"reason": ["Say why the deadline was missed."]})
    deadline.justification, deadline.justified_by, deadline.justified_at = reason, actor, now
    record_event(
        session, incident_id=deadline.incident_id, actor=actor, kind="justification", now=now,
        summary=f"Justified the {state.value.replace('_', ' ')} {deadline.label_en} ({deadline.policy_key}): {reason}",
        changes={"deadline_id": [deadline.id, deadline.id], "justification": [None, reason]},
    )
    return deadline


def filings_of(session: Session, incident_id: int) -> list[Filing]:
    return list(session.scalars(sa.select(Filing).where(Filing.incident_id == incident_id).order_by(Filing.submitted_at, Filing.id)))
