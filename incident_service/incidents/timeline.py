"""Appending to an incident's timeline: every change and filing, with who and when."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from incident_service.incidents.models import TimelineEvent


def record_event(
    session: Session,
    *,
    incident_id: int,
    actor: str,
    kind: str,
    summary: str,
    now: datetime,
    changes: dict | None = None,
) -> TimelineEvent:
    """Add one event (flushes, does not commit: the use case owns the transaction)."""
    event = TimelineEvent(
        incident_id=incident_id, actor=actor, kind=kind, summary=summary[:500], changes=changes or {}, at=now
    )
    session.add(event)
    return event
