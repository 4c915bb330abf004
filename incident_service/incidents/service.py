"""The incident's own rules: finding incidents, and what a valid incident is (times in order, awareness bounds,
a contract in force). The use cases that also move clocks live in ``incident_service.cases``."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.database import jsonable
from incident_service.errors import NotFound, ValidationFailed
from incident_service.incidents.derived import in_force_on, local_date
from incident_service.incidents.models import Incident, TimelineEvent
from incident_service.vendors.changes import VendorChange
from incident_service.vendors.models import Contract, Vendor

# Pairs of times that must come in this order: (earlier, later, message on the later field)
TIME_ORDER = [
    ("occurred_at", "detected_at", "Detection cannot precede the occurrence."),
    ("occurred_at", "aware_at", "Awareness cannot precede the occurrence."),
    ("occurred_at", "vendor_aware_at", "The vendor cannot know before the incident occurred."),
    ("vendor_aware_at", "vendor_notified_at", "The vendor cannot notify us before it knew."),
    ("service_down_at", "service_restored_at", "The service cannot be restored before it went down."),
    ("data_loss_from", "data_loss_to", "The end of the data-loss window cannot precede its start."),
    ("aware_at", "classified_at", "Classification cannot precede awareness."),
    ("aware_at", "impact_known_at", "The impact cannot be known before the firm was aware of the incident."),
]
TIME_FIELDS = ("occurred_at", "detected_at", "aware_at", "classified_at", "vendor_aware_at", "vendor_notified_at",
               "service_down_at", "service_restored_at", "data_loss_from", "data_loss_to", "impact_known_at")


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


def timeline_of(session: Session, incident_id: int) -> sa.Select:
    get_incident(session=session, incident_id=incident_id)
    return sa.select(TimelineEvent).where(TimelineEvent.incident_id == incident_id).order_by(TimelineEvent.id)


def impact_affected(incident: Incident) -> bool:
    """Trading or investors' rights are affected: the condition of the public notice."""
    return bool(incident.trading_affected or incident.investors_affected)


def _at(value: datetime) -> str:
    return jsonable(value)


def _blame(errors: dict[str, list[str]], touched: Collection[str], bound: str, message: str) -> None:
    """An awareness bound is broken: the error goes on the field the request changed (awareness unless only
    the bound itself changed), so the caller sees it beside what they typed."""
    field = bound if bound in touched and "aware_at" not in touched else "aware_at"
    errors[field].append(message)


def validate_incident(session: Session, incident: Incident, *, now: datetime, zone: ZoneInfo,
                      touched: Collection[str] = (), first_filing_at: datetime | None = None,
                      known_policies: Collection[str] | None = None) -> None:
    """Every rule that spans fields, checked on the incident as it would be saved (raises ValidationFailed).

    Awareness (知悉) has bounds: being told by the vendor is awareness, so it is never later than the vendor's
    notice, nor than the incident's recording, nor than any filing.
    """
    errors: dict[str, list[str]] = defaultdict(list)
    if session.get(Vendor, incident.vendor_id) is None:
        errors["vendor_id"].append(f"Vendor {incident.vendor_id} does not exist.")
    for field in TIME_FIELDS:
        value = getattr(incident, field)
        if value is not None and value > now:
            errors[field].append("This time is in the future.")
    for earlier, later, message in TIME_ORDER:
        a, b = getattr(incident, earlier), getattr(incident, later)
        if a is not None and b is not None and b < a:
            errors[later].append(message)
    aware = incident.aware_at
    if aware is not None:
        if incident.vendor_notified_at is not None and aware > incident.vendor_notified_at:
            _blame(errors, touched, "vendor_notified_at",
                   f"Awareness cannot be later than the vendor's notice (vendor_notified_at {_at(incident.vendor_notified_at)}): "
                   "being told by the vendor is awareness.")
        if incident.created_at is not None and aware > incident.created_at:
            errors["aware_at"].append(f"Awareness cannot be later than the moment the incident was recorded "
                                      f"(created_at {_at(incident.created_at)}).")
        if first_filing_at is not None and aware > first_filing_at:
            errors["aware_at"].append(f"Awareness cannot be later than a filing (submitted_at {_at(first_filing_at)}).")
    if incident.impact_known_at is not None and not impact_affected(incident):
        errors["impact_known_at"].append("Give the time the impact was known only when trading or investors' rights are affected.")
    if incident.service_restored_at is not None and incident.service_down_at is None:
        errors["service_down_at"].append("Give the time the service went down before the time it was restored.")
    if (incident.data_loss_from is None) != (incident.data_loss_to is None):
        errors["data_loss_to" if incident.data_loss_to is None else "data_loss_from"].append("Give both ends of the data-loss window.")
    if incident.contract_id is not None:
        contract = session.get(Contract, incident.contract_id)
        if contract is None:
            errors["contract_id"].append(f"Contract {incident.contract_id} does not exist.")
        elif contract.vendor_id != incident.vendor_id:
            errors["contract_id"].append(f"Contract {contract.id} belongs to another vendor.")
        elif aware is not None and not in_force_on(contract, local_date(aware, zone)):
            term = f"{contract.starts_on} to {contract.ends_on or 'open-ended'}"
            message = (f"Contract {contract.reference} is not in force on the day of awareness "
                       f"({local_date(aware, zone)}); it runs {term}.")
            errors["contract_id" if "contract_id" in touched or "aware_at" not in touched else "aware_at"].append(message)
    if incident.caused_by_change_id is not None:
        change = session.get(VendorChange, incident.caused_by_change_id)
        if change is None:
            errors["caused_by_change_id"].append(f"Vendor change {incident.caused_by_change_id} does not exist.")
        elif change.vendor_id != incident.vendor_id:
            errors["caused_by_change_id"].append(f"Vendor change {change.id} is another vendor's.")
        elif aware is not None and change.planned_start > aware:
            errors["caused_by_change_id"].append(
                f"Vendor change {change.id} was planned to start at {_at(change.planned_start)}, after the firm was "
                "aware of this incident: it cannot have caused it.")
    if known_policies is not None:
        unknown = [p for p in incident.policies or [] if p not in known_policies]
        if unknown:
            errors["policies"].append(f"Unknown policy: {', '.join(unknown)}. Known: {', '.join(sorted(known_policies))}.")
    if errors:
        raise ValidationFailed(dict(errors))
