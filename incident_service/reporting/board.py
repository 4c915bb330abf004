"""The supervisor's board: every running deadline of the open incidents, in one query, with its colour band.

A band is what the wall screen colours a row by: plenty of time, under the clock's first warning,
overdue, or met (recently, so the room sees a filing land). The page counts down from each row's
``seconds_left`` as computed here against the server's ``now``; the browser's own clock is never read.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, joinedload

from incident_service.database import jsonable
from incident_service.incidents.models import Incident
from incident_service.reporting.models import Deadline, DeadlineState
from incident_service.reporting.policy import PolicyRegistry
from incident_service.reporting.service import deadlines_query, effective_state, seconds_left

PLENTY, WARNING, OVERDUE, MET = "plenty", "warning", "overdue", "met"
BANDS = (OVERDUE, WARNING, PLENTY, MET)
# A met deadline stays on the board this long after its filing was recorded, then leaves it.
RECENTLY_MET = timedelta(minutes=30)
RUNNING = (DeadlineState.pending, DeadlineState.missed)
DONE = (DeadlineState.met, DeadlineState.met_late)


def warning_seconds(registry: PolicyRegistry, policy_key: str, clock_key: str) -> int | None:
    """The clock's first (largest) warning before its due time, in seconds; None if it has none."""
    policy = registry.get(policy_key)
    clock = policy.clock(clock_key) if policy else None
    if clock is None or not clock.warnings:
        return None
    return clock.warnings[0].minutes * 60


def band(state: DeadlineState, left: int | None, threshold: int | None) -> str | None:
    """The colour band of a deadline; None for a clock that is not running (waiting, waived, withdrawn)."""
    if state in DONE:
        return MET
    if state == DeadlineState.missed:
        return OVERDUE
    if state != DeadlineState.pending or left is None:
        return None
    if threshold is not None and left <= threshold:
        return WARNING
    return PLENTY


def board_query(*, now: datetime, vendor_id: int | None = None, min_severity: int | None = None) -> sa.Select:
    """Running deadlines of open incidents and those met in the last half hour, with incident and vendor."""
    stmt = deadlines_query(now=now, vendor_id=vendor_id, min_severity=min_severity, open_incidents_only=True)
    return stmt.where(
        Deadline.due_at.is_not(None),
        sa.or_(
            Deadline.state.in_(RUNNING),
            sa.and_(Deadline.state.in_(DONE), Deadline.updated_at >= now - RECENTLY_MET),
        ),
    ).options(contains_eager(Deadline.incident).joinedload(Incident.vendor), joinedload(Deadline.filing))


def board_rows(*, session: Session, registry: PolicyRegistry, now: datetime, vendor_id: int | None = None,
               min_severity: int | None = None) -> list[dict[str, Any]]:
    """The board's rows: overdue pinned on top, then by time left, met ones last. One query."""
    rows = []
    for deadline in session.scalars(board_query(now=now, vendor_id=vendor_id, min_severity=min_severity)).unique():
        state = effective_state(deadline, now)
        left = seconds_left(deadline, now)
        threshold = warning_seconds(registry, deadline.policy_key, deadline.clock_key)
        incident = deadline.incident
        rows.append((deadline.due_at, {
            "deadline_id": deadline.id,
            "incident_id": incident.id,
            "incident_title": incident.title,
            "severity": incident.severity,
            "vendor_id": incident.vendor_id,
            "vendor_name": incident.vendor.name,
            "policy": deadline.policy_key,
            "clock": deadline.clock_key,
            "label_zh": deadline.label_zh,
            "label_en": deadline.label_en,
            "due_at": jsonable(deadline.due_at),
            "state": state.value,
            "seconds_left": left,
            "warning_seconds": threshold,
            "band": band(state, left, threshold),
            "filed_at": jsonable(deadline.filing.submitted_at) if deadline.filing else None,
        }))
    order = {OVERDUE: 0, WARNING: 1, PLENTY: 1, MET: 2}
    rows.sort(key=lambda pair: (order[pair[1]["band"]], pair[0], pair[1]["deadline_id"]))
    return [row for _, row in rows]


def band_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {b: sum(r["band"] == b for r in rows) for b in BANDS}
