"""The mechanics every clock shares, an incident's report or a vendor duty: its state from what stopped it, whether it
still applies and its due time; and the alert instants the engine claims (warnings before, the escalation at due)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.reporting.duty_policy import DutyPolicy
from incident_service.reporting.models import AlertStage, AlertState, Deadline, DeadlineAlert, DeadlineState, Filing
from incident_service.reporting.policy import Clock
from incident_service.reporting.wakeup import wake_clock


class Stop(Protocol):
    """What stops a clock: a filing, or a duty's completion; only when it happened matters here."""

    submitted_at: datetime


def past_due_unfiled(deadline: Deadline, now: datetime) -> bool:
    """Missed as of ``now``: running, and its due time has passed."""
    return deadline.state_at(now) == DeadlineState.missed


def cancel_alerts(session: Session, deadline: Deadline, *, keep_due: datetime | None = None) -> None:
    stmt = sa.update(DeadlineAlert).where(
        DeadlineAlert.deadline_id == deadline.id, DeadlineAlert.state == AlertState.scheduled
    )
    if keep_due is not None:
        stmt = stmt.where(DeadlineAlert.due_at != keep_due)
    session.execute(stmt.values(state=AlertState.cancelled), execution_options={"synchronize_session": False})


def schedule_alerts(session: Session, deadline: Deadline, clock: Clock | DutyPolicy, now: datetime) -> None:
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
    scheduled = False
    for stage, offset, fire_at in instants:
        if (stage, offset) in existing:
            continue
        skipped = stage == AlertStage.warning and fire_at <= now and (stage, offset, fire_at) != latest_past
        scheduled = scheduled or not skipped
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
    if scheduled:
        wake_clock(session)  # the engines sleep until the next due instant: this one may be earlier


def new_state(deadline: Deadline, *, filing: Filing | Stop | None, applies: bool, due_at: datetime | None,
               closed: bool, now: datetime) -> DeadlineState:
    """What a deadline's state is, given its filing, whether its clock still applies, and its due time.

    A miss is history: once a deadline passed unfiled, it stays missed (a late filing makes it met_late);
    neither a waiver, nor the condition turning false, nor the policy being dropped erases it.
    """
    if filing is not None:
        return DeadlineState.met_late if due_at is not None and filing.submitted_at > due_at else DeadlineState.met
    if deadline.waived_at is not None:
        # A waiver holds only if it was given before the due time (a later correction may move the due time).
        if due_at is None or deadline.waived_at <= due_at:
            return DeadlineState.waived
        return DeadlineState.missed
    if not applies:
        return DeadlineState.missed if past_due_unfiled(deadline, now) else DeadlineState.withdrawn
    if closed:
        return deadline.state
    if due_at is None:
        return DeadlineState.waiting
    if deadline.state == DeadlineState.missed and now > due_at:
        return DeadlineState.missed
    return DeadlineState.pending
