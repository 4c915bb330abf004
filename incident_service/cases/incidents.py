"""Opening, changing, correcting and closing an incident: every change moves its clocks, and every deadline
whose outcome changed goes on the timeline."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from incident_service.api_common import check_version
from incident_service.database import apply_changes, jsonable
from incident_service.errors import Conflict, ValidationFailed
from incident_service.incidents.catalogues import Catalogues
from incident_service.incidents.derived import local_date
from incident_service.incidents.models import Incident, IncidentStatus, RemediationStatus
from incident_service.incidents.service import get_incident, impact_affected, validate_incident
from incident_service.incidents.timeline import record_event
from incident_service.reporting import service as clocks
from incident_service.reporting.duties import sync_vendor_duties
from incident_service.reporting.models import Filing
from incident_service.reporting.policy import PolicyRegistry
from incident_service.vendors.service import load_systems

OPEN_REMEDIATION = (RemediationStatus.planned, RemediationStatus.in_progress, RemediationStatus.done)


def _first_filing_at(filings: list[Filing]) -> datetime | None:
    return min((f.submitted_at for f in filings), default=None)


def _impact_filing_at(incident: Incident, registry: PolicyRegistry, filings: list[Filing]) -> datetime | None:
    """The first filing of a report whose clock starts when the impact became known (the public notice):
    the impact cannot have been learnt after it was announced."""
    kinds = set()
    for key in incident.policies or []:
        policy = registry.get(key)
        for clock in policy.clocks if policy else ():
            if any(rule.start == "impact_known" for rule in clock.rules):
                kinds.add((policy.key, clock.stopped_by))
    return min((f.submitted_at for f in filings if (f.policy_key, f.kind) in kinds), default=None)


def _validate(session: Session, incident: Incident, registry: PolicyRegistry, now: datetime, touched: set[str],
              filings: list[Filing]) -> None:
    try:
        validate_incident(session, incident, now=now, zone=registry.zone, touched=touched,
                          first_filing_at=_first_filing_at(filings), known_policies=registry.keys())
        announced = _impact_filing_at(incident, registry, filings)
        if incident.impact_known_at is not None and announced is not None and incident.impact_known_at > announced:
            raise ValidationFailed({"impact_known_at": [
                f"The impact cannot have been learnt after the public notice was filed (submitted_at {jsonable(announced)})."]})
    except ValidationFailed:
        session.rollback()
        raise


def refresh_status(*, session: Session, incident: Incident, actor: str, now: datetime) -> None:
    """Move the status forward when the facts say so: filed → reported; restored → recovered."""
    new = incident.status
    if new == IncidentStatus.open and clocks.filings_of(session, incident.id):
        new = IncidentStatus.reported
    if new in (IncidentStatus.open, IncidentStatus.reported) and incident.service_restored_at is not None:
        new = IncidentStatus.recovered
    if new != incident.status:
        record_event(session, incident_id=incident.id, actor=actor, kind="status", now=now,
                     summary=f"Status {incident.status.value} → {new.value}",
                     changes={"status": [incident.status.value, new.value]})
        incident.status = new


def touch(incident: Incident, now: datetime) -> None:
    """The incident changed (a field, a clock, a filing): a new version for optimistic locking."""
    incident.updated_at = now


def _move_clocks(session: Session, incident: Incident, registry: PolicyRegistry, before: dict, *, actor: str, now: datetime,
                 cause: str) -> None:
    """After a change: the clocks follow, each outcome that moved goes on the timeline, and the version moves."""
    clocks.sync_deadlines(session=session, incident=incident, registry=registry, now=now)
    clocks.record_outcome_changes(session, incident_id=incident.id, before=before, actor=actor, now=now, cause=cause)
    touch(incident, now)


def open_incident(*, session: Session, data: dict[str, Any], actor: str, registry: PolicyRegistry,
                  default_policies: list[str], now: datetime, reporter_id: int | None = None) -> Incident:
    """Record a new incident and start its clocks from the awareness time entered (not from now)."""
    data = dict(data)
    system_ids = data.pop("system_ids", [])
    data["policies"] = list(dict.fromkeys(data.get("policies") or default_policies))
    incident = Incident(**data, status=IncidentStatus.open, reported_by_id=reporter_id, created_at=now, updated_at=now)
    incident.aware_on = local_date(incident.aware_at, registry.zone)
    if impact_affected(incident) and incident.impact_known_at is None:
        # Told at entry that trading is affected: known since awareness (a late entry gets no fresh 30 minutes).
        incident.impact_known_at = incident.aware_at
    with session.no_autoflush:
        incident.systems = load_systems(session, system_ids)
        _validate(session, incident, registry, now, set(data) | {"system_ids"}, [])
    session.add(incident)
    session.flush()
    record_event(session, incident_id=incident.id, actor=actor, kind="created", now=now,
                 summary=f"Incident opened: {incident.title}",
                 changes={k: [None, jsonable(v)] for k, v in data.items() if v not in (None, False, "", [])})
    clocks.sync_deadlines(session=session, incident=incident, registry=registry, now=now)
    refresh_status(session=session, incident=incident, actor=actor, now=now)
    sync_vendor_duties(session=session, vendor_id=incident.vendor_id, registry=registry, now=now)  # an audit may be owed
    session.commit()
    return incident


def _follow_the_impact(incident: Incident, data: dict[str, Any], was_affected: bool, now: datetime,
                       changes: dict[str, list[Any]]) -> None:
    """``impact_known_at`` is set when a flag turns true (now, unless given) and cleared when both turn false."""
    affected = impact_affected(incident)
    if "impact_known_at" in data:
        return
    if affected and not was_affected:
        changes["impact_known_at"] = [jsonable(incident.impact_known_at), jsonable(now)]
        incident.impact_known_at = now
    elif not affected and incident.impact_known_at is not None:
        changes["impact_known_at"] = [jsonable(incident.impact_known_at), None]
        incident.impact_known_at = None


def _close(session: Session, incident: Incident, now: datetime, confirm_open_remediation: bool) -> str:
    """Refuse to close while the service is down, a clock is unresolved, or remediation is open unconfirmed.

    Returns what the timeline should say about the remediation still open.
    """
    if incident.service_down_at is not None and incident.service_restored_at is None:
        raise Conflict(
            "The service is still down: record when it was restored before closing the incident.",
            errors={"service_restored_at": [f"down since {jsonable(incident.service_down_at)}; not restored yet"]},
            code="service_down",
        )
    open_clocks = clocks.unresolved_deadlines(session, incident.id)
    if open_clocks:
        raise Conflict(
            "Every clock needs a filing or a supervisor's waiver before the incident can be closed.",
            errors={"status": [f"{d.label_en} ({d.policy_key}) is {d.state_at(now).value}" for d in open_clocks]},
            code="clocks_open",
        )
    still_open = [r for r in incident.remediations if r.status in OPEN_REMEDIATION]
    if still_open and not confirm_open_remediation:
        raise Conflict(
            f"{len(still_open)} remediation action(s) are still open: confirm that the incident closes with them open.",
            errors={"confirm_open_remediation": [f"#{r.id} {r.title} ({r.status.value})" for r in still_open]},
            code="remediation_open",
        )
    incident.closed_at = now
    if still_open:
        return " with open remediation " + ", ".join(f"#{r.id}" for r in still_open) + " (confirmed)"
    return ""


def update_incident(*, session: Session, incident_id: int, data: dict[str, Any], expected_version: int | None,
                    actor: str, registry: PolicyRegistry, now: datetime, confirm_open_remediation: bool = False) -> Incident:
    """Change an incident's fields (or close or reopen it); its clocks follow.

    Changing the policies it runs needs a ``reason`` (the HTTP layer lets only a supervisor do it).
    """
    incident = get_incident(session=session, incident_id=incident_id)
    check_version(incident, expected_version)
    data = dict(data)
    if "aware_at" in data:
        raise ValidationFailed({"aware_at": ["Correct the awareness time with POST /incidents/{id}/awareness and say why."]})
    reason = (data.pop("reason", None) or "").strip()
    system_ids = data.pop("system_ids", None)
    status = data.pop("status", None)
    if incident.status == IncidentStatus.closed and (data or system_ids is not None) and status != IncidentStatus.open:
        raise Conflict("The incident is closed: reopen it before changing it.", code="closed")
    touched = set(data) | ({"system_ids"} if system_ids is not None else set())
    filings = clocks.filings_of(session, incident.id)
    before = clocks.outcomes(session, incident.id, now)
    was_affected = impact_affected(incident)
    closing_note = ""
    with session.no_autoflush:
        changes = apply_changes(incident, data)
        if system_ids is not None:
            old_ids = [s.id for s in incident.systems]
            incident.systems = load_systems(session, system_ids)
            if old_ids != [s.id for s in incident.systems]:
                changes["system_ids"] = [old_ids, [s.id for s in incident.systems]]
        if "policies" in changes and not reason:
            session.rollback()
            raise ValidationFailed({"reason": ["Say why the incident's reporting policies change."]})
        _follow_the_impact(incident, data, was_affected, now, changes)
        _validate(session, incident, registry, now, touched, filings)
        if status is not None and status != incident.status:
            if status == IncidentStatus.closed:
                try:
                    closing_note = _close(session, incident, now, confirm_open_remediation)
                except Conflict:
                    session.rollback()
                    raise
            elif incident.status == IncidentStatus.closed:
                incident.closed_at = None  # reopened
            changes["status"] = [incident.status.value, status.value]
            incident.status = status
    if not changes:
        return incident
    if "policies" in changes:
        old, new = changes["policies"]
        record_event(session, incident_id=incident.id, actor=actor, kind="policies_changed", now=now,
                     summary=f"Reporting policies {', '.join(old or [])} → {', '.join(new or [])}: {reason}",
                     changes={"policies": [old, new], "reason": [None, reason]})
    summary = "Changed " + ", ".join(sorted(changes))
    if "status" in changes:
        summary = (f"Closed{closing_note}" if status == IncidentStatus.closed else "Reopened") + (
            f"; changed {', '.join(sorted(k for k in changes if k != 'status'))}" if len(changes) > 1 else "")
    record_event(session, incident_id=incident.id, actor=actor, kind="updated", now=now, summary=summary, changes=changes)
    _move_clocks(session, incident, registry, before, actor=actor, now=now, cause="after " + ", ".join(sorted(changes)) + " changed")
    if "status" not in changes:
        refresh_status(session=session, incident=incident, actor=actor, now=now)
    if {"severity", "vendor_id"} & set(changes):  # the audit owed after a serious incident follows
        for vendor_id in {incident.vendor_id, *(changes.get("vendor_id") or [])} - {None}:
            sync_vendor_duties(session=session, vendor_id=vendor_id, registry=registry, now=now)
    session.commit()
    return incident


def correct_awareness(*, session: Session, incident_id: int, aware_at: datetime, reason: str, actor: str,
                      registry: PolicyRegistry, now: datetime, expected_version: int | None = None) -> Incident:
    """Move the awareness time, within its bounds; every clock that starts from it moves too.

    On the timeline: who, why, and each deadline whose outcome changed (``initial: met → met_late``).
    """
    incident = get_incident(session=session, incident_id=incident_id)
    check_version(incident, expected_version)
    if incident.status == IncidentStatus.closed:
        raise Conflict("A closed incident's awareness time cannot be corrected; reopen it first.", code="closed")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": ["Say why the awareness time changes."]})
    previous = incident.aware_at
    if previous == aware_at:
        return incident
    filings = clocks.filings_of(session, incident.id)
    before = clocks.outcomes(session, incident.id, now)
    changes: dict[str, list[Any]] = {"aware_at": [jsonable(previous), jsonable(aware_at)], "reason": [None, reason]}
    with session.no_autoflush:
        incident.aware_at, incident.aware_on = aware_at, local_date(aware_at, registry.zone)
        if incident.impact_known_at is not None and incident.impact_known_at < aware_at:
            # The impact cannot be known before awareness: it moves with it.
            changes["impact_known_at"] = [jsonable(incident.impact_known_at), jsonable(aware_at)]
            incident.impact_known_at = aware_at
        _validate(session, incident, registry, now, {"aware_at"}, filings)
    direction = "earlier" if aware_at < previous else "later"
    record_event(session, incident_id=incident.id, actor=actor, kind="awareness_corrected", now=now,
                 summary=f"Awareness time corrected {direction}: {reason}", changes=changes)
    _move_clocks(session, incident, registry, before, actor=actor, now=now, cause="awareness time corrected")
    session.commit()
    return incident


def decide_reportability(*, session: Session, incident_id: int, major: bool, criteria: list[str], reason: str,
                         actor: str, registry: PolicyRegistry, catalogues: Catalogues, now: datetime,
                         expected_version: int | None = None) -> Incident:
    """A supervisor records whether the incident is a major security incident under the firm's criteria.

    A major incident counts as classified from this decision (DORA's classification clock starts), unless a
    classification time is already recorded.
    """
    incident = get_incident(session=session, incident_id=incident_id)
    check_version(incident, expected_version)
    if incident.status == IncidentStatus.closed:
        raise Conflict("The incident is closed: reopen it before deciding its reportability.", code="closed")
    known = catalogues.criterion_keys()
    criteria = list(dict.fromkeys(criteria or []))
    errors: dict[str, list[str]] = {}
    unknown = [c for c in criteria if c not in known]
    if unknown:
        errors["criteria"] = [f"Unknown criterion: {', '.join(unknown)}. Known: {', '.join(known)}."]
    elif major and not criteria:
        errors["criteria"] = ["Name the criteria the incident meets."]
    if not (reason or "").strip():
        errors["reason"] = ["Say how the decision was reached."]
    if errors:
        raise ValidationFailed(errors)
    before = clocks.outcomes(session, incident.id, now)
    changes = {"major_incident": [incident.major_incident, major], "major_criteria": [incident.major_criteria or [], criteria]}
    incident.major_incident, incident.major_criteria = major, criteria
    incident.major_decided_by, incident.major_decided_at, incident.major_decision_reason = actor, now, reason.strip()
    if major and incident.classified_at is None:
        changes["classified_at"] = [None, jsonable(now)]
        incident.classified_at = now
    verdict = "a major security incident" if major else "not a major security incident"
    record_event(session, incident_id=incident.id, actor=actor, kind="reportability", now=now,
                 summary=f"Decided {verdict}" + (f" ({', '.join(criteria)})" if criteria else "") + f": {reason.strip()}",
                 changes=changes)
    _move_clocks(session, incident, registry, before, actor=actor, now=now, cause="reportability decided")
    session.commit()
    return incident
