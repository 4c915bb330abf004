"""The supervisor's board: every running deadline of the open incidents, in one query, with its colour band.

A band is what the wall screen colours a row by: plenty of time, under the clock's first warning, overdue, or
met (recently, so the room sees a filing land). The page counts down from each row's due time against the
server's ``now`` sent with the rows; the browser's own clock is never read.

The feed is JSON rows only (the page builds its rows itself) with an ETag over what does not change by itself
with time, so a wall screen polling every 5 s gets ``304 Not Modified`` until something really changed.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.database import utc_iso
from incident_service.incidents.models import OPEN_STATUSES, Incident
from incident_service.reporting.models import DONE_STATES, RUNNING_STATES, Deadline, DeadlineState, Filing
from incident_service.reporting.policy import PolicyRegistry
from incident_service.vendors.models import Vendor

PLENTY, WARNING, OVERDUE, MET = "plenty", "warning", "overdue", "met"
BANDS = (OVERDUE, WARNING, PLENTY, MET)
BAND_ORDER = {OVERDUE: 0, WARNING: 1, PLENTY: 1, MET: 2}
# A met deadline stays on the board this long after its filing was recorded, then leaves it.
RECENTLY_MET = timedelta(minutes=30)
# What changes by itself as time passes: left out of the feed's ETag (the page counts it down itself).
MOVING_WITH_TIME = ("seconds_left", "band")


def warning_seconds(registry: PolicyRegistry, policy_key: str, clock_key: str) -> int | None:
    """The clock's first (largest) warning before its due time, in seconds; None if it has none."""
    policy = registry.get(policy_key)
    clock = policy.clock(clock_key) if policy else None
    if clock is None or not clock.warnings:
        return None
    return clock.warnings[0].minutes * 60


def band(state: DeadlineState, left: int | None, threshold: int | None) -> str | None:
    """The colour band of a deadline; None for a clock that is not running (waiting, waived, withdrawn)."""
    if state in DONE_STATES:
        return MET
    if state == DeadlineState.missed:
        return OVERDUE
    if state != DeadlineState.pending or left is None:
        return None
    if threshold is not None and left <= threshold:
        return WARNING
    return PLENTY


@dataclass(frozen=True)
class BoardRow:
    deadline_id: int
    incident_id: int
    incident_title: str
    severity: int
    vendor_id: int
    vendor_name: str
    policy: str
    clock: str
    label_zh: str
    label_en: str
    due_at: str  # ISO 8601, UTC
    due_epoch: float
    state: str
    seconds_left: int | None
    warning_seconds: int | None
    band: str
    filed_at: str | None


def board_query(*, now: datetime, vendor_id: int | None = None, min_severity: int | None = None) -> sa.Select:
    """Running deadlines of open incidents and those met in the last half hour, with their incident and vendor."""
    stmt = (
        sa.select(Deadline.id, Deadline.incident_id, Deadline.policy_key, Deadline.clock_key, Deadline.label_zh,
                  Deadline.label_en, Deadline.due_at, Deadline.state_at(now).label("state"), Incident.title,
                  Incident.severity, Incident.vendor_id, Vendor.name, Filing.submitted_at)
        .join(Incident, Incident.id == Deadline.incident_id)
        .join(Vendor, Vendor.id == Incident.vendor_id)
        .outerjoin(Filing, Filing.id == Deadline.filing_id)
        .where(Incident.status.in_(OPEN_STATUSES), Deadline.due_at.is_not(None),
               sa.or_(Deadline.state.in_(RUNNING_STATES),
                      sa.and_(Deadline.state.in_(DONE_STATES), Deadline.updated_at >= now - RECENTLY_MET)))
    )
    if vendor_id is not None:
        stmt = stmt.where(Incident.vendor_id == vendor_id)
    if min_severity is not None:
        stmt = stmt.where(Incident.severity >= min_severity)
    return stmt


def board_rows(*, session: Session, registry: PolicyRegistry, now: datetime, vendor_id: int | None = None,
               min_severity: int | None = None) -> list[BoardRow]:
    """The board's rows: overdue pinned on top, then by time left, met ones last. One query."""
    rows = []
    for (deadline_id, incident_id, policy, clock, label_zh, label_en, due_at, state, title, severity, vendor,
         vendor_name, filed_at) in session.execute(board_query(now=now, vendor_id=vendor_id, min_severity=min_severity)):
        state = DeadlineState(state)
        left = int((due_at - now).total_seconds() // 1) if state in RUNNING_STATES else None
        threshold = warning_seconds(registry, policy, clock)
        rows.append(BoardRow(
            deadline_id=deadline_id, incident_id=incident_id, incident_title=title, severity=severity, vendor_id=vendor,
            vendor_name=vendor_name, policy=policy, clock=clock, label_zh=label_zh, label_en=label_en,
            due_at=utc_iso(due_at), due_epoch=due_at.timestamp(), state=state.value, seconds_left=left,
            warning_seconds=threshold, band=band(state, left, threshold), filed_at=utc_iso(filed_at) if filed_at else None))
    rows.sort(key=lambda r: (BAND_ORDER[r.band], r.due_epoch, r.deadline_id))
    return rows


def band_counts(rows: list[BoardRow]) -> dict[str, int]:
    return {b: sum(r.band == b for r in rows) for b in BANDS}


def feed(rows: list[BoardRow], *, now: datetime, undelivered: int | None) -> tuple[dict[str, Any], str]:
    """The feed's JSON body and its ETag (over the rows without what moves with time, and the undelivered count)."""
    plain = [dict(vars(r)) for r in rows]  # flat rows of plain values: no deep copy needed
    steady = [{k: v for k, v in r.items() if k not in MOVING_WITH_TIME} for r in plain]
    etag = hashlib.sha1(json.dumps([steady, undelivered], sort_keys=True).encode()).hexdigest()
    body = {"server_now": utc_iso(now), "server_epoch": now.timestamp(), "counts": band_counts(rows),
            "undelivered": undelivered, "rows": plain}
    return body, etag
