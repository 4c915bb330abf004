"""Figures that need more than one incident: the contracts incidents are measured against, and a contract's
monthly availability from every outage measured against it. Read-only; a fixed number of queries for any
number of incidents."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from incident_service.incidents import derived
from incident_service.incidents.models import Incident
from incident_service.phrases import N_
from incident_service.vendors.models import Contract


def contracts_by_vendor(session: Session, vendor_ids: Iterable[int]) -> dict[int, list[Contract]]:
    """Every contract of these vendors, with the systems each covers (two queries)."""
    found: dict[int, list[Contract]] = defaultdict(list)
    ids = sorted(set(vendor_ids))
    if not ids:
        return found
    stmt = (sa.select(Contract).where(Contract.vendor_id.in_(ids))
            .options(selectinload(Contract.covered)).order_by(Contract.starts_on, Contract.id))
    for contract in session.scalars(stmt):
        found[contract.vendor_id].append(contract)
    return found


def outage_intervals(session: Session, contract_ids: Iterable[int], start: datetime, end: datetime,
                     now: datetime) -> dict[int, list[tuple[datetime, datetime]]]:
    """Every outage overlapping [start, end) measured against each of these contracts, by contract id (one query).

    An incident linked to a contract counts against it; one without counts against the vendor's contract in force
    on its day of awareness that covers an affected system; a closed incident is never an ongoing outage.
    """
    intervals: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    wanted = sorted(set(contract_ids))
    if not wanted:
        return intervals
    measured = derived.measured_contract_id_sql()
    ended = derived.outage_end_sql(now)
    vendors = sa.select(Contract.vendor_id).where(Contract.id.in_(wanted))
    rows = session.execute(
        sa.select(measured, Incident.service_down_at, ended).where(
            Incident.vendor_id.in_(vendors), Incident.service_down_at.is_not(None),
            Incident.service_down_at < end, ended > start, measured.in_(wanted))
    )
    for contract_id, down, until in rows:
        intervals[contract_id].append((down, until))
    return intervals


def month_availability(contract: Contract, intervals: list[tuple[datetime, datetime]], start: datetime, end: datetime,
                       now: datetime) -> dict[str, Any]:
    """The contract's availability in one calendar month [start, end), counting outages only up to now."""
    minutes = derived.merged_outage_minutes(intervals, start, min(end, max(now, start)))
    figure = derived.availability(minutes, start, end, contract.availability_target)
    figure["month_complete"] = now >= end
    return figure


def figures_for(incidents: list[Incident], *, session: Session, now: datetime, zone: ZoneInfo) -> dict[int, dict[str, Any]]:
    """The derived figures of each incident, by id: outage vs RTO, data loss vs RPO, the vendor's notification delay
    and the availability of every month the outage touched, each against the contract the incident is measured by
    (which the figures name). A fixed number of queries for any number of incidents."""
    vendor_contracts = contracts_by_vendor(session, (i.vendor_id for i in incidents))
    measured: dict[int, tuple[Contract | None, dict[str, Any]]] = {
        i.id: derived.measuring_contract(i, vendor_contracts.get(i.vendor_id, []), zone) for i in incidents}
    months = {i.id: derived.months_touched(i.service_down_at, derived.outage_end(i, now), zone)
              for i in incidents if i.service_down_at is not None and measured[i.id][0] is not None}
    intervals: dict[int, list[tuple[datetime, datetime]]] = {}
    if months:
        first = min(m[0][0] for m in months.values())
        last = max(m[-1][1] for m in months.values())
        intervals = outage_intervals(session, {measured[i][0].id for i in months}, first, last, now)
    figures = {}
    for incident in incidents:
        contract, basis = measured[incident.id]
        figure: dict[str, Any] = {
            "contract": basis,
            "outage": derived.outage(incident, now, contract),
            "data_loss": derived.data_loss(incident, contract),
            "vendor_notification": derived.vendor_notification(incident, now, contract),
        }
        if contract is None:
            figure["availability"] = {"reason": basis["reason"] or N_("No contract applies, so there is no availability target."),
                                      "months": []}
        elif incident.service_down_at is None:
            figure["availability"] = {"reason": N_("The time the service went down is not recorded."), "months": []}
        else:
            per_month = [month_availability(contract, intervals.get(contract.id, []), a, b, now) for a, b in months[incident.id]]
            # The month the outage began stays at the top level; every month it touched is listed.
            figure["availability"] = {**per_month[0], "months": per_month}
        figures[incident.id] = figure
    return figures


def incident_figures(*, session: Session, incident: Incident, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """The derived figures of one incident (see ``figures_for``)."""
    return figures_for([incident], session=session, now=now, zone=zone)[incident.id]
