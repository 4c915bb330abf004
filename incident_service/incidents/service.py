"""Use cases for incidents: open, change, correct awareness, close; and the figures read off them."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, lazyload, selectinload

from incident_service.api_common import check_version
from incident_service.database import apply_changes, jsonable
from incident_service.errors import Conflict, NotFound, ValidationFailed
from incident_service.incidents import derived
from incident_service.incidents.models import Incident, IncidentStatus, Remediation, RemediationStatus
from incident_service.incidents.timeline import record_event
from incident_service.reporting import service as clocks
from incident_service.reporting.policy import PolicyRegistry
from incident_service.vendors.models import Contract, ContractSystem, Vendor
from incident_service.vendors.service import load_systems

# Pairs of times that must come in this order: (earlier, later, message on the later field)
TIME_ORDER = [
    ("occurred_at", "detected_at", "Detection cannot precede the occurrence."),
    ("occurred_at", "aware_at", "Awareness cannot precede the occurrence."),
    ("occurred_at", "vendor_aware_at", "The vendor cannot know before the incident occurred."),
    ("vendor_aware_at", "vendor_notified_at", "The vendor cannot notify us before it knew."),
    ("service_down_at", "service_restored_at", "The service cannot be restored before it went down."),
    ("data_loss_from", "data_loss_to", "The end of the data-loss window cannot precede its start."),
    ("aware_at", "classified_at", "Classification cannot precede awareness."),
]
TIME_FIELDS = ("occurred_at", "detected_at", "aware_at", "classified_at", "vendor_aware_at", "vendor_notified_at",
               "service_down_at", "service_restored_at", "data_loss_from", "data_loss_to")


def get_incident(*, session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"Incident {incident_id} does not exist.")
    return incident


def incidents_query(*, vendor_id=None, contract_id=None, system_id=None, status=None, kind=None, severity=None,
                    min_severity=None, aware_from=None, aware_to=None, q=None) -> sa.Select:
    stmt = sa.select(Incident).order_by(Incident.aware_at.desc(), Incident.id.desc())
    filters = {
        Incident.vendor_id: vendor_id, Incident.contract_id: contract_id, Incident.status: status,
        Incident.kind: kind, Incident.severity: severity,
    }
    for column, value in filters.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if system_id is not None:
        stmt = stmt.where(Incident.systems.any(id=system_id))
    if min_severity is not None:
        stmt = stmt.where(Incident.severity >= min_severity)
    if aware_from is not None:
        stmt = stmt.where(Incident.aware_at >= aware_from)
    if aware_to is not None:
        stmt = stmt.where(Incident.aware_at < aware_to)
    if q:
        stmt = stmt.where(Incident.title.ilike(f"%{q}%"))
    return stmt


def _validate(session: Session, incident: Incident, registry: PolicyRegistry, now: datetime) -> None:
    """Every rule that spans fields, checked on the incident as it would be saved."""
    errors: dict[str, list[str]] = defaultdict(list)
    if session.get(Vendor, incident.vendor_id) is None:
        errors["vendor_id"].append(f"Vendor {incident.vendor_id} does not exist.")
    if incident.contract_id is not None:
        contract = session.get(Contract, incident.contract_id)
        if contract is None:
            errors["contract_id"].append(f"Contract {incident.contract_id} does not exist.")
        elif contract.vendor_id != incident.vendor_id:
            errors["contract_id"].append(f"Contract {contract.id} belongs to another vendor.")
    for field in TIME_FIELDS:
        value = getattr(incident, field)
        if value is not None and value > now:
            errors[field].append("This time is in the future.")
    for earlier, later, message in TIME_ORDER:
        a, b = getattr(incident, earlier), getattr(incident, later)
        if a is not None and b is not None and b < a:
            errors[later].append(message)
    if incident.service_restored_at is not None and incident.service_down_at is None:
        errors["service_down_at"].append("Give the time the service went down before the time it was restored.")
    if (incident.data_loss_from is None) != (incident.data_loss_to is None):
        errors["data_loss_to" if incident.data_loss_to is None else "data_loss_from"].append("Give both ends of the data-loss window.")
    unknown = [p for p in incident.policies or [] if registry.get(p) is None]
    if unknown:
        errors["policies"].append(f"Unknown policy: {', '.join(unknown)}. Known: {', '.join(registry.keys())}.")
    if errors:
        raise ValidationFailed(dict(errors))


def open_incident(*, session: Session, data: dict[str, Any], actor: str, registry: PolicyRegistry,
                  default_policies: list[str], now: datetime, reporter_id: int | None = None) -> Incident:
    """Record a new incident and start its clocks from the awareness time entered (not from now)."""
    data = dict(data)
    system_ids = data.pop("system_ids", [])
    data["policies"] = list(dict.fromkeys(data.get("policies") or default_policies))
    incident = Incident(**data, status=IncidentStatus.open, reported_by_id=reporter_id, created_at=now, updated_at=now)
    with session.no_autoflush:
        incident.systems = load_systems(session, system_ids)
        _validate(session, incident, registry, now)
    session.add(incident)
    session.flush()
    record_event(session, incident_id=incident.id, actor=actor, kind="created", now=now,
                 summary=f"Incident opened: {incident.title}",
                 changes={k: [None, jsonable(v)] for k, v in data.items() if v not in (None, False, "", [])})
    clocks.sync_deadlines(session=session, incident=incident, registry=registry, now=now)
    refresh_status(session=session, incident=incident, actor=actor, now=now)
    session.commit()
    return incident


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


def _close(session: Session, incident: Incident, now: datetime) -> None:
    open_clocks = clocks.unresolved_deadlines(session, incident.id)
    if open_clocks:
        raise Conflict(
            "Every clock needs a filing or a supervisor's waiver before the incident can be closed.",
            errors={"status": [f"{d.label_en} ({d.policy_key}) is {clocks.effective_state(d, now).value}" for d in open_clocks]},
            code="clocks_open",
        )
    incident.closed_at = now


def update_incident(*, session: Session, incident_id: int, data: dict[str, Any], expected_version: int | None,
                    actor: str, registry: PolicyRegistry, now: datetime) -> Incident:
    incident = get_incident(session=session, incident_id=incident_id)
    check_version(incident, expected_version)
    data = dict(data)
    if "aware_at" in data:
        raise ValidationFailed({"aware_at": ["Correct the awareness time with POST /incidents/{id}/awareness and say why."]})
    system_ids = data.pop("system_ids", None)
    status = data.pop("status", None)
    with session.no_autoflush:
        changes = apply_changes(incident, data)
        if system_ids is not None:
            before = [s.id for s in incident.systems]
            incident.systems = load_systems(session, system_ids)
            if before != [s.id for s in incident.systems]:
                changes["system_ids"] = [before, [s.id for s in incident.systems]]
        _validate(session, incident, registry, now)
        if status is not None and status != incident.status:
            if status == IncidentStatus.closed:
                _close(session, incident, now)
            elif incident.status == IncidentStatus.closed:
                incident.closed_at = None  # reopened
            changes["status"] = [incident.status.value, status.value]
            incident.status = status
    if not changes:
        return incident
    record_event(session, incident_id=incident.id, actor=actor, kind="updated", now=now,
                 summary="Changed " + ", ".join(sorted(changes)), changes=changes)
    clocks.sync_deadlines(session=session, incident=incident, registry=registry, now=now)
    if "status" not in changes:
        refresh_status(session=session, incident=incident, actor=actor, now=now)
    incident.updated_at = now
    incident.version += 1
    session.commit()
    return incident


def correct_awareness(*, session: Session, incident_id: int, aware_at: datetime, reason: str, actor: str,
                      registry: PolicyRegistry, now: datetime, expected_version: int | None = None) -> Incident:
    """Move the awareness time; every clock that starts from it moves too. On the timeline with who and why."""
    incident = get_incident(session=session, incident_id=incident_id)
    check_version(incident, expected_version)
    if incident.status == IncidentStatus.closed:
        raise Conflict("A closed incident's awareness time cannot be corrected; reopen it first.", code="closed")
    before = incident.aware_at
    with session.no_autoflush:
        incident.aware_at = aware_at
        _validate(session, incident, registry, now)
    if before == aware_at:
        return incident
    record_event(session, incident_id=incident.id, actor=actor, kind="awareness_corrected", now=now,
                 summary=f"Awareness time corrected: {reason.strip()}",
                 changes={"aware_at": [jsonable(before), jsonable(aware_at)], "reason": [None, reason.strip()]})
    clocks.sync_deadlines(session=session, incident=incident, registry=registry, now=now)
    incident.updated_at = now
    incident.version += 1
    session.commit()
    return incident


def timeline_of(session: Session, incident_id: int):
    from incident_service.incidents.models import TimelineEvent

    get_incident(session=session, incident_id=incident_id)
    return sa.select(TimelineEvent).where(TimelineEvent.incident_id == incident_id).order_by(TimelineEvent.id)


# -- derived figures --------------------------------------------------------------------------------

def _outage_intervals(session: Session, contract_ids: list[int], start: datetime, end: datetime,
                      now: datetime) -> dict[int, list[tuple[datetime, datetime]]]:
    """Every outage of these contracts that overlaps [start, end), by contract (one query)."""
    rows = session.execute(
        sa.select(Incident.contract_id, Incident.service_down_at, Incident.service_restored_at).where(
            Incident.contract_id.in_(contract_ids),
            Incident.service_down_at.is_not(None),
            Incident.service_down_at < end,
            sa.or_(Incident.service_restored_at.is_(None), Incident.service_restored_at > start),
        )
    ).all() if contract_ids else []
    intervals: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for contract_id, down, restored in rows:
        intervals[contract_id].append((down, restored or now))
    return intervals


def _availability_figure(contract: Contract, intervals, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    minutes = derived.merged_outage_minutes(intervals, start, min(end, max(now, start)))
    figure = derived.availability(minutes, start, end, contract.availability_target)
    if now < end:
        figure["month_complete"] = False
    return figure


def contract_availability(session: Session, contract: Contract, moment: datetime, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """The contract's availability in the calendar month containing ``moment``, from all its outages."""
    start, end = derived.month_bounds(moment, zone)
    intervals = _outage_intervals(session, [contract.id], start, end, now)[contract.id]
    return _availability_figure(contract, intervals, start, end, now)


def incident_figures(*, session: Session, incident: Incident, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    figures = {
        "outage": derived.outage(incident, now),
        "data_loss": derived.data_loss(incident),
        "vendor_notification": derived.vendor_notification(incident, now),
    }
    if incident.contract is None:
        figures["availability"] = {"reason": "No contract is linked, so there is no availability target."}
    elif incident.service_down_at is None:
        figures["availability"] = {"reason": "The time the service went down is not recorded."}
    else:
        figures["availability"] = contract_availability(session, incident.contract, incident.service_down_at, now, zone)
    return figures


# -- a vendor's history, for auditors -------------------------------------------------------------

def vendor_history(*, session: Session, vendor_id: int, now: datetime, zone: ZoneInfo,
                   aware_from: datetime | None = None, aware_to: datetime | None = None) -> dict[str, Any]:
    """Every incident of a vendor with its figures, on-time rate per clock, breaches and availability."""
    from incident_service.reporting.models import Deadline, DeadlineState
    from incident_service.vendors.service import get_vendor

    vendor = get_vendor(session=session, vendor_id=vendor_id)
    # Only what the figures need, without re-joining the vendor on every row.
    stmt = incidents_query(vendor_id=vendor_id, aware_from=aware_from, aware_to=aware_to).options(
        lazyload(Incident.vendor),
        selectinload(Incident.systems),
        selectinload(Incident.contract).selectinload(Contract.covered).joinedload(ContractSystem.system),
        selectinload(Incident.remediations),
    )
    incidents = session.scalars(stmt).unique().all()
    ids = [i.id for i in incidents]
    deadlines_by_incident: dict[int, list[Deadline]] = defaultdict(list)
    if ids:
        deadlines = sa.select(Deadline).where(Deadline.incident_id.in_(ids)).order_by(Deadline.due_at).options(
            lazyload(Deadline.incident), lazyload(Deadline.filing))
        for d in session.scalars(deadlines):
            deadlines_by_incident[d.incident_id].append(d)
    per_clock: dict[tuple[str, str], dict[str, Any]] = {}
    rows, rto_breaches, rpo_breaches, notify_breaches, open_remediation = [], 0, 0, 0, 0
    months: dict[tuple[int, str], tuple[Contract, datetime, datetime]] = {}
    for incident in incidents:
        figures = {
            "outage": derived.outage(incident, now),
            "data_loss": derived.data_loss(incident),
            "vendor_notification": derived.vendor_notification(incident, now),
        }
        rto_breaches += figures["outage"]["rto_breached"] is True
        rpo_breaches += figures["data_loss"]["rpo_breached"] is True
        notify_breaches += figures["vendor_notification"]["breached"] is True
        open_remediation += sum(r.status not in (RemediationStatus.verified, RemediationStatus.cancelled) for r in incident.remediations)
        states = []
        for d in deadlines_by_incident[incident.id]:
            state = clocks.effective_state(d, now)
            states.append({"policy": d.policy_key, "clock": d.clock_key, "label_en": d.label_en, "label_zh": d.label_zh,
                           "due_at": jsonable(d.due_at), "state": state.value})
            tally = per_clock.setdefault((d.policy_key, d.clock_key), {
                "policy": d.policy_key, "clock": d.clock_key, "label_en": d.label_en, "label_zh": d.label_zh,
                "met": 0, "met_late": 0, "missed": 0, "pending": 0, "waived": 0})
            if state.value in tally:
                tally[state.value] += 1
        if incident.contract is not None and incident.service_down_at is not None:
            start, end = derived.month_bounds(incident.service_down_at, zone)
            months.setdefault((incident.contract.id, start.strftime("%Y-%m")), (incident.contract, start, end))
        rows.append({
            "id": incident.id, "title": incident.title, "kind": incident.kind.value, "severity": incident.severity,
            "status": incident.status.value, "aware_at": jsonable(incident.aware_at), "contract_id": incident.contract_id,
            "system_ids": [s.id for s in incident.systems], "deadlines": states, "derived": figures,
            "open_remediations": sum(r.status not in (RemediationStatus.verified, RemediationStatus.cancelled) for r in incident.remediations),
        })
    availability = []
    if months:
        # One query for every outage of the vendor's contracts over the months its incidents touch.
        first, last = min(m[1] for m in months.values()), max(m[2] for m in months.values())
        intervals = _outage_intervals(session, sorted({c.id for c, _, _ in months.values()}), first, last, now)
        for contract, start, end in months.values():
            availability.append({"contract_id": contract.id, "contract": contract.reference,
                                 **_availability_figure(contract, intervals[contract.id], start, end, now)})
    for tally in per_clock.values():
        decided = tally["met"] + tally["met_late"] + tally["missed"]
        tally["on_time_rate"] = round(tally["met"] / decided, 4) if decided else None
    return {
        "vendor": {"id": vendor.id, "name": vendor.name, "category": vendor.category.value},
        "period": {"aware_from": jsonable(aware_from), "aware_to": jsonable(aware_to)},
        "summary": {
            "incidents": len(incidents), "rto_breaches": rto_breaches, "rpo_breaches": rpo_breaches,
            "vendor_notification_breaches": notify_breaches, "open_remediations": open_remediation,
            "clocks": sorted(per_clock.values(), key=lambda t: (t["policy"], t["clock"])),
            "availability": sorted(availability, key=lambda m: (m["contract_id"], m["month"])),
        },
        "incidents": rows,
    }
