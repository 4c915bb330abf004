"""Per-vendor figures for auditors, computed by SQL aggregates over indexed columns: incidents, on-time rate per
clock, RTO / RPO / notification breaches, open remediation, and the availability of each contract per month.

A fixed number of queries whatever the number of incidents; the rules are the ones in ``incidents.derived`` and
``Deadline.state_at`` in their SQL form, and ``on_time_rate`` below.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.incidents import derived
from incident_service.incidents.models import Incident, IncidentStatus, Remediation, RemediationStatus, incident_systems
from incident_service.reporting.models import Deadline, DeadlineState
from incident_service.vendors.models import Contract, ContractSystem, System

OPEN_REMEDIATION = (RemediationStatus.planned, RemediationStatus.in_progress, RemediationStatus.done)


def on_time_rate(met: int, met_late: int, missed: int) -> float | None:
    """The one rule for "on time": met over every deadline decided (met, met late, missed). A justified miss is
    still a miss; a clock waived before its due time owed nothing and is not counted."""
    decided = met + met_late + missed
    return round(met / decided, 4) if decided else None


@dataclass
class ClockTally:
    policy: str
    clock: str
    label_zh: str
    label_en: str
    met: int = 0
    met_late: int = 0
    missed: int = 0
    pending: int = 0
    waived: int = 0
    justified: int = 0  # misses (or late filings) explained after the due time: still counted as such

    @property
    def on_time_rate(self) -> float | None:
        return on_time_rate(self.met, self.met_late, self.missed)


@dataclass
class MonthAvailability:
    contract_id: int
    contract: str  # its reference
    month: str  # YYYY-MM in the firm's zone
    outage_minutes: float
    availability_percent: float
    target_percent: float | None
    breached: bool | None
    month_complete: bool
    reason: str | None = None


@dataclass
class VendorSummary:
    incidents: int = 0
    open_incidents: int = 0
    rto_breaches: int = 0
    rpo_breaches: int = 0
    vendor_notification_breaches: int = 0
    change_caused: int = 0  # incidents caused by a vendor change
    open_remediations: int = 0
    clocks: list[ClockTally] = field(default_factory=list)
    availability: list[MonthAvailability] = field(default_factory=list)


def _scope(stmt: sa.Select, vendor_ids: list[int] | None, aware_from: datetime | None, aware_to: datetime | None) -> sa.Select:
    if vendor_ids is not None:
        stmt = stmt.where(Incident.vendor_id.in_(vendor_ids))
    if aware_from is not None:
        stmt = stmt.where(Incident.aware_at >= aware_from)
    if aware_to is not None:
        stmt = stmt.where(Incident.aware_at < aware_to)
    return stmt


def _breaching_incidents(now: datetime, kind: str) -> sa.Select:
    """(vendor_id, incidents with at least one affected system past its RTO, or its RPO)."""
    rto = sa.func.coalesce(ContractSystem.rto_minutes, System.rto_minutes)
    rpo = sa.func.coalesce(ContractSystem.rpo_minutes, System.rpo_minutes)
    breach = (derived.rto_breached(derived.outage_minutes_sql(now), rto) if kind == "rto"
              else derived.rpo_breached(derived.data_loss_minutes_sql(), rpo))
    known = Incident.service_down_at.is_not(None) if kind == "rto" else Incident.data_loss_from.is_not(None)
    return (
        sa.select(Incident.vendor_id, sa.func.count(sa.distinct(Incident.id)))
        .join(incident_systems, incident_systems.c.incident_id == Incident.id)
        .join(System, System.id == incident_systems.c.system_id)
        .outerjoin(ContractSystem, sa.and_(ContractSystem.contract_id == derived.measured_contract_id_sql(),
                                           ContractSystem.system_id == System.id))
        .where(known, breach)
        .group_by(Incident.vendor_id)
    )


def vendor_summaries(*, session: Session, now: datetime, zone: ZoneInfo, vendor_ids: list[int] | None = None,
                     aware_from: datetime | None = None, aware_to: datetime | None = None, clock_order=None,
                     with_availability: bool = False) -> dict[int, VendorSummary]:
    """The figures of each vendor (or of those given) over the incidents aware in the period."""
    summaries: dict[int, VendorSummary] = defaultdict(VendorSummary)
    for vendor_id in vendor_ids or []:  # a vendor without incidents still has (empty) figures
        summaries[vendor_id]

    def scoped(stmt: sa.Select) -> sa.Select:
        return _scope(stmt, vendor_ids, aware_from, aware_to)

    counts = scoped(sa.select(Incident.vendor_id, sa.func.count(),
                              sa.func.sum(sa.case((Incident.status != IncidentStatus.closed, 1), else_=0)),
                              sa.func.count(Incident.caused_by_change_id))
                    .group_by(Incident.vendor_id))
    for vendor_id, total, still_open, by_change in session.execute(counts):
        summary = summaries[vendor_id]
        summary.incidents, summary.open_incidents, summary.change_caused = total, int(still_open or 0), by_change

    state = Deadline.state_at(now).label("state")
    tallies = scoped(
        sa.select(Incident.vendor_id, Deadline.policy_key, Deadline.clock_key, sa.func.min(Deadline.label_zh),
                  sa.func.min(Deadline.label_en), state, sa.func.count(), sa.func.count(Deadline.justification))
        .join(Incident, Incident.id == Deadline.incident_id)
        .group_by(Incident.vendor_id, Deadline.policy_key, Deadline.clock_key, state)
    )
    by_clock: dict[int, dict[tuple[str, str], ClockTally]] = defaultdict(dict)
    for vendor_id, policy, clock, label_zh, label_en, clock_state, n, justified in session.execute(tallies):
        tally = by_clock[vendor_id].setdefault((policy, clock), ClockTally(policy, clock, label_zh, label_en))
        if clock_state in ("met", "met_late", "missed", "pending", "waived"):
            setattr(tally, clock_state, getattr(tally, clock_state) + n)
        if clock_state in ("missed", "met_late"):
            tally.justified += justified

    for kind in ("rto", "rpo"):
        for vendor_id, n in session.execute(scoped(_breaching_incidents(now, kind))):
            setattr(summaries[vendor_id], f"{kind}_breaches", n)

    duty = (sa.select(Contract.vendor_notify_minutes).where(Contract.id == derived.measured_contract_id_sql())
            .correlate(Incident).scalar_subquery())
    late = scoped(
        sa.select(Incident.vendor_id, sa.func.count())
        .where(sa.func.coalesce(Incident.vendor_aware_at, Incident.occurred_at).is_not(None),
               derived.notification_delay_minutes_sql(now) > duty)
        .group_by(Incident.vendor_id)
    )
    for vendor_id, n in session.execute(late):
        summaries[vendor_id].vendor_notification_breaches = n

    remediation = scoped(
        sa.select(Incident.vendor_id, sa.func.count()).select_from(Remediation)
        .join(Incident, Incident.id == Remediation.incident_id)
        .where(Remediation.status.in_(OPEN_REMEDIATION)).group_by(Incident.vendor_id)
    )
    for vendor_id, n in session.execute(remediation):
        summaries[vendor_id].open_remediations = n

    order = clock_order or {}
    for vendor_id, tallies_of_vendor in by_clock.items():
        summaries[vendor_id].clocks = sorted(
            tallies_of_vendor.values(), key=lambda t: order.get((t.policy, t.clock), (t.policy, 99, t.clock)))
    if with_availability:
        for vendor_id in (vendor_ids if vendor_ids is not None else list(summaries)):
            summaries[vendor_id].availability = monthly_availability(
                session=session, vendor_id=vendor_id, now=now, zone=zone, aware_from=aware_from, aware_to=aware_to)
    return dict(summaries)


def outage_islands(session: Session, *, vendor_id: int, now: datetime, start: datetime | None = None,
                   end: datetime | None = None) -> list[tuple[int, datetime, datetime]]:
    """(contract, from, to) of each stretch of time in which a contract was down, overlapping outages merged
    in SQL (window functions), for the outages of the vendor's incidents that overlap [start, end)."""
    ended = derived.outage_end_sql(now)
    outages = (
        sa.select(derived.measured_contract_id_sql().label("contract_id"), Incident.service_down_at.label("down"),
                  ended.label("ended"))
        .where(Incident.vendor_id == vendor_id, Incident.service_down_at.is_not(None))
    )
    if end is not None:
        outages = outages.where(Incident.service_down_at < end)
    if start is not None:
        outages = outages.where(ended > start)
    o = outages.subquery()
    order = (o.c.down, o.c.ended)
    reach = sa.func.max(o.c.ended).over(partition_by=o.c.contract_id, order_by=order, rows=(None, -1))
    marked = sa.select(o, sa.case((reach >= o.c.down, 0), else_=1).label("starts")).where(o.c.contract_id.is_not(None)).subquery()
    island = sa.func.sum(marked.c.starts).over(partition_by=marked.c.contract_id, order_by=(marked.c.down, marked.c.ended),
                                                rows=(None, 0))
    numbered = sa.select(marked.c.contract_id, marked.c.down, marked.c.ended, island.label("island")).subquery()
    merged = (sa.select(numbered.c.contract_id, sa.func.min(numbered.c.down), sa.func.max(numbered.c.ended))
              .group_by(numbered.c.contract_id, numbered.c.island)
              .order_by(numbered.c.contract_id, sa.func.min(numbered.c.down)))
    return [(contract_id, a, b) for contract_id, a, b in session.execute(merged)]


def monthly_availability(*, session: Session, vendor_id: int, now: datetime, zone: ZoneInfo,
                         aware_from: datetime | None = None, aware_to: datetime | None = None) -> list[MonthAvailability]:
    """Each contract's availability in every month (firm's zone) of the period in which it was down; an outage
    crossing a month's end counts in both months."""
    islands = outage_islands(session, vendor_id=vendor_id, now=now, start=aware_from, end=aware_to)
    minutes: dict[tuple[int, datetime, datetime], float] = defaultdict(float)
    for contract_id, down, ended in islands:
        ended = min(ended, now)  # nothing counts beyond now
        for month_start, month_end in derived.months_touched(down, ended, zone):
            if (aware_to is not None and month_start >= aware_to) or (aware_from is not None and month_end <= aware_from):
                continue
            # Islands never overlap, so a month's outage is the sum of their overlaps with it.
            overlap = min(ended, month_end).timestamp() - max(down, month_start).timestamp()
            minutes[(contract_id, month_start, month_end)] += max(overlap, 0) / 60
    if not minutes:
        return []
    contracts = {c.id: c for c in session.scalars(sa.select(Contract).where(Contract.id.in_({k[0] for k in minutes})))}
    rows = []
    for (contract_id, month_start, month_end), outage in sorted(minutes.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        contract = contracts[contract_id]
        figure = derived.availability(round(outage, 2), month_start, month_end, contract.availability_target)
        rows.append(MonthAvailability(contract_id=contract_id, contract=contract.reference, month=figure["month"],
                                      outage_minutes=figure["outage_minutes"], availability_percent=figure["availability_percent"],
                                      target_percent=figure["target_percent"], breached=figure["breached"],
                                      month_complete=now >= month_end, reason=figure["reason"]))
    return rows


def clock_order(registry) -> dict[tuple[str, str], tuple[str, int]]:
    """(policy, clock) → sort key: policies by key, clocks as their policy file lists them (initial first)."""
    return {(key, c.key): (key, n) for key in registry.keys() for n, c in enumerate(registry.get(key).clocks)}
