"""Recording a filing, waiving a clock before its due time, and justifying a miss after it: each changes the
incident's record (status, version) as well as its clocks."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from incident_service.cases.incidents import refresh_status, touch
from incident_service.incidents.service import get_incident
from incident_service.reporting import service as clocks
from incident_service.reporting.models import Deadline, Filing
from incident_service.reporting.policy import PolicyRegistry


def record_filing(*, session: Session, incident_id: int, data: dict[str, Any], actor: str, registry: PolicyRegistry,
                  now: datetime, may_backdate: bool = False, backdate_minutes: int = 60) -> Filing:
    """Record a filed report: it stops its own policy's clock, and the incident counts as reported."""
    filing = clocks.record_filing(session=session, incident_id=incident_id, data=data, actor=actor, registry=registry,
                                  now=now, may_backdate=may_backdate, backdate_minutes=backdate_minutes)
    incident = get_incident(session=session, incident_id=incident_id)
    refresh_status(session=session, incident=incident, actor=actor, now=now)
    touch(incident, now)
    session.commit()
    return filing


def waive_deadline(*, session: Session, deadline_id: int, reason: str, actor: str, registry: PolicyRegistry,
                   now: datetime) -> Deadline:
    """A supervisor says, before the due time, why no filing is owed for this clock."""
    deadline = clocks.waive_deadline(session=session, deadline_id=deadline_id, reason=reason, actor=actor, now=now,
                                     zone=registry.zone)
    touch(deadline.incident, now)
    session.commit()
    return deadline


def justify_deadline(*, session: Session, deadline_id: int, reason: str, actor: str, now: datetime) -> Deadline:
    """A supervisor explains a miss after the due time; it stays a miss in every on-time rate."""
    deadline = clocks.justify_deadline(session=session, deadline_id=deadline_id, reason=reason, actor=actor, now=now)
    touch(deadline.incident, now)
    session.commit()
    return deadline
