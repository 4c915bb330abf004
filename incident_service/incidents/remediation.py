"""Remediation actions (後續處理): owner, due date, evidence, and verification by a supervisor."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.api_common import check_version
from incident_service.database import apply_changes, jsonable
from incident_service.errors import Conflict, Forbidden, NotFound, ValidationFailed
from incident_service.incidents.models import Remediation, RemediationStatus
from incident_service.incidents.service import get_incident
from incident_service.incidents.timeline import record_event

OPEN = (RemediationStatus.planned, RemediationStatus.in_progress)
DEFAULT_ZONE = ZoneInfo("Asia/Taipei")


def is_overdue(remediation: Remediation, now: datetime, zone: ZoneInfo = DEFAULT_ZONE) -> bool:
    """Not done and its due date has passed in the firm's zone."""
    return remediation.status in OPEN and remediation.due_on < now.astimezone(zone).date()


def get_remediation(*, session: Session, remediation_id: int) -> Remediation:
    remediation = session.get(Remediation, remediation_id)
    if remediation is None:
        raise NotFound(f"Remediation {remediation_id} does not exist.")
    return remediation


def remediations_query(*, incident_id: int | None = None, status: RemediationStatus | None = None) -> sa.Select:
    stmt = sa.select(Remediation).order_by(Remediation.due_on, Remediation.id)
    if incident_id is not None:
        stmt = stmt.where(Remediation.incident_id == incident_id)
    if status is not None:
        stmt = stmt.where(Remediation.status == status)
    return stmt


def _refuse_verified(data: dict[str, Any]) -> None:
    if data.get("status") == RemediationStatus.verified:
        raise ValidationFailed({"status": ["A supervisor verifies an action with POST /remediations/{id}/verify."]})


def add_remediation(*, session: Session, incident_id: int, data: dict[str, Any], actor: str, now: datetime) -> Remediation:
    incident = get_incident(session=session, incident_id=incident_id)
    _refuse_verified(data)
    remediation = Remediation(incident_id=incident.id, **data, created_at=now, updated_at=now)
    if remediation.status == RemediationStatus.done:
        remediation.completed_at, remediation.completed_by = now, actor
    session.add(remediation)
    session.flush()
    record_event(session, incident_id=incident.id, actor=actor, kind="remediation", now=now,
                 summary=f"Remediation #{remediation.id} added: {remediation.title} (owner {remediation.owner}, due {remediation.due_on})",
                 changes={"remediation_id": [None, remediation.id], "title": [None, remediation.title],
                          "owner": [None, remediation.owner], "due_on": [None, jsonable(remediation.due_on)]})
    session.commit()
    return remediation


def update_remediation(*, session: Session, remediation_id: int, data: dict[str, Any], expected_version: int | None,
                       actor: str, now: datetime) -> Remediation:
    remediation = get_remediation(session=session, remediation_id=remediation_id)
    check_version(remediation, expected_version)
    _refuse_verified(data)
    if remediation.status == RemediationStatus.verified:
        raise Conflict("A verified action is final; add a new action instead.", code="verified")
    changes = apply_changes(remediation, data)
    if not changes:
        return remediation
    if "status" in changes:
        done = remediation.status == RemediationStatus.done
        remediation.completed_at, remediation.completed_by = (now, actor) if done else (None, None)
    remediation.updated_at = now
    record_event(session, incident_id=remediation.incident_id, actor=actor, kind="remediation", now=now,
                 summary=f"Remediation #{remediation.id} changed: " + ", ".join(sorted(changes)), changes=changes)
    session.commit()
    return remediation


def verify_remediation(*, session: Session, remediation_id: int, actor: str, now: datetime, note: str | None = None) -> Remediation:
    """A supervisor confirms the evidence; only an action marked done can be verified, and not by whoever marked it."""
    remediation = get_remediation(session=session, remediation_id=remediation_id)
    if remediation.status != RemediationStatus.done:
        raise Conflict(f"Only a done action can be verified; this one is {remediation.status.value}.", code="not_done")
    if remediation.completed_by == actor:
        raise Forbidden(f"{actor} marked this action done, so someone else verifies it (four eyes).",
                        errors={"verified_by": ["The person who marked the action done cannot verify it."]},
                        code="four_eyes")
    if not (remediation.evidence or "").strip():
        raise ValidationFailed({"evidence": ["Record the evidence before verifying."]})
    remediation.status = RemediationStatus.verified
    remediation.verified_by, remediation.verified_at = actor, now
    remediation.updated_at = now
    record_event(session, incident_id=remediation.incident_id, actor=actor, kind="remediation", now=now,
                 summary=f"Remediation #{remediation.id} verified" + (f": {note}" if note else ""),
                 changes={"status": ["done", "verified"]})
    session.commit()
    return remediation
