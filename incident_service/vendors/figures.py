"""Per-vendor figures for the vendor list, in a fixed number of queries whatever the number of incidents.

Counts are aggregated in SQL; RTO and RPO breaches need each incident's outage against each affected
system's committed RTO/RPO, so one query returns those pairs as plain tuples and Python applies the same
rule as ``incidents.derived`` (outage minutes over the RTO; data-loss minutes over the RPO).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.incidents.models import Incident, IncidentStatus, Remediation, RemediationStatus, incident_systems
from incident_service.reporting.models import Deadline, DeadlineState
from incident_service.vendors.models import ContractSystem, System

DECIDED = ("met", "met_late", "missed")


def _empty() -> dict[str, Any]:
    return {"incidents": 0, "open_incidents": 0, "rto_breaches": 0, "rpo_breaches": 0, "open_remediations": 0, "clocks": {}}


def _effective_state(now: datetime) -> sa.ColumnElement[str]:
    """The deadline's state as of ``now`` in SQL (pending past due reads as missed, as effective_state says)."""
    raw = sa.type_coerce(Deadline.state, sa.String)
    return sa.case((sa.and_(raw == DeadlineState.pending.value, Deadline.due_at < now), DeadlineState.missed.value), else_=raw)


def breaches(session: Session, *, now: datetime, vendor_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """RTO and RPO breaches per vendor: one query over (incident, affected system, committed RTO/RPO)."""
    stmt = (
        sa.select(
            Incident.id, Incident.vendor_id, Incident.service_down_at, Incident.service_restored_at,
            Incident.data_loss_from, Incident.data_loss_to,
            sa.func.coalesce(ContractSystem.rto_minutes, System.rto_minutes),
            sa.func.coalesce(ContractSystem.rpo_minutes, System.rpo_minutes),
        )
        .join(incident_systems, incident_systems.c.incident_id == Incident.id)
        .join(System, System.id == incident_systems.c.system_id)
        .outerjoin(ContractSystem, sa.and_(ContractSystem.contract_id == Incident.contract_id, ContractSystem.system_id == System.id))
        .where(sa.or_(Incident.service_down_at.is_not(None), Incident.data_loss_from.is_not(None)))
    )
    if vendor_ids is not None:
        stmt = stmt.where(Incident.vendor_id.in_(vendor_ids))
    rto: dict[int, int] = {}
    rpo: dict[int, int] = {}
    vendor_of: dict[int, int] = {}
    for incident_id, vendor_id, down, restored, loss_from, loss_to, rto_minutes, rpo_minutes in session.execute(stmt):
        vendor_of[incident_id] = vendor_id
        if down is not None and rto_minutes is not None:
            outage = max(((restored or now) - down).total_seconds(), 0) / 60
            rto[incident_id] = rto.get(incident_id, 0) or int(outage - rto_minutes > 0)
        if loss_from is not None and loss_to is not None and rpo_minutes is not None:
            lost = round((loss_to - loss_from).total_seconds() / 60, 2)
            rpo[incident_id] = rpo.get(incident_id, 0) or int(lost > rpo_minutes)
    out: dict[int, dict[str, int]] = defaultdict(lambda: {"rto_breaches": 0, "rpo_breaches": 0})
    for incident_id, vendor_id in vendor_of.items():
        out[vendor_id]["rto_breaches"] += rto.get(incident_id, 0)
        out[vendor_id]["rpo_breaches"] += rpo.get(incident_id, 0)
    return dict(out)


def clock_order(registry) -> dict[tuple[str, str], tuple[str, int]]:
    """(policy, clock) → sort key: policies by key, clocks as their policy file lists them (initial first)."""
    return {(key, c.key): (key, n) for key in registry.keys() for n, c in enumerate(registry.get(key).clocks)}


def vendor_figures(*, session: Session, now: datetime, vendor_ids: list[int] | None = None,
                   registry=None) -> dict[int, dict[str, Any]]:
    """Incidents, open incidents, on-time rate per clock, RTO/RPO breaches and open remediation, by vendor id."""
    figures: dict[int, dict[str, Any]] = defaultdict(_empty)

    def scoped(stmt):
        return stmt.where(Incident.vendor_id.in_(vendor_ids)) if vendor_ids is not None else stmt

    counts = scoped(sa.select(
        Incident.vendor_id, sa.func.count(),
        sa.func.sum(sa.case((Incident.status != IncidentStatus.closed, 1), else_=0)),
    ).group_by(Incident.vendor_id))
    for vendor_id, total, still_open in session.execute(counts):
        figures[vendor_id]["incidents"] = total
        figures[vendor_id]["open_incidents"] = int(still_open or 0)

    state = _effective_state(now).label("state")
    per_clock = scoped(
        sa.select(Incident.vendor_id, Deadline.policy_key, Deadline.clock_key, sa.func.min(Deadline.label_zh),
                  sa.func.min(Deadline.label_en), state, sa.func.count())
        .join(Incident, Incident.id == Deadline.incident_id)
        .group_by(Incident.vendor_id, Deadline.policy_key, Deadline.clock_key, state)
    )
    for vendor_id, policy, clock, label_zh, label_en, clock_state, n in session.execute(per_clock):
        tally = figures[vendor_id]["clocks"].setdefault((policy, clock), {
            "policy": policy, "clock": clock, "label_zh": label_zh, "label_en": label_en,
            "met": 0, "met_late": 0, "missed": 0, "pending": 0, "waived": 0})
        if clock_state in tally:
            tally[clock_state] += n

    for vendor_id, found in breaches(session, now=now, vendor_ids=vendor_ids).items():
        figures[vendor_id].update(found)

    still_open = (RemediationStatus.planned, RemediationStatus.in_progress, RemediationStatus.done)
    remediation = scoped(
        sa.select(Incident.vendor_id, sa.func.count()).select_from(Remediation).join(Incident, Incident.id == Remediation.incident_id)
        .where(Remediation.status.in_(still_open)).group_by(Incident.vendor_id)
    )
    for vendor_id, n in session.execute(remediation):
        figures[vendor_id]["open_remediations"] = n

    order = clock_order(registry) if registry is not None else {}
    for entry in figures.values():
        clocks = sorted(entry["clocks"].values(), key=lambda t: order.get((t["policy"], t["clock"]), (t["policy"], 99, t["clock"])))
        for tally in clocks:
            decided = sum(tally[s] for s in DECIDED)
            tally["on_time_rate"] = round(tally["met"] / decided, 4) if decided else None
        entry["clocks"] = clocks
    return dict(figures)
