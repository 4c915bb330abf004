"""Figures derived from an incident's times and its contract, never typed in: the one home of each rule.

Each figure says why when it cannot be computed yet (service not restored, no contract, ...). Pure functions:
they take the incident and ``now`` and return plain dicts. The rules aggregated over many incidents also have
their SQL form at the end of this module, beside the Python one.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from incident_service.database import UTCDateTime, minutes_between
from incident_service.phrases import N_, join
from incident_service.incidents.models import Incident, incident_systems
from incident_service.vendors.models import Contract, ContractSystem


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 2)


def _join(*reasons: str | None) -> str | None:
    return join(*reasons)


# -- which contract an incident is measured against ---------------------------------------------------

def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def in_force_on(contract: Any, day: date) -> bool:
    """The contract's term covers this day (an open-ended contract runs on)."""
    return contract.starts_on <= day and (contract.ends_on is None or day <= contract.ends_on)


def contract_in_force(contracts: Iterable[Any], *, system_ids: Iterable[int], day: date) -> Any | None:
    """The vendor's contract in force on ``day`` that covers the affected systems (most of them, then the newest)."""
    wanted = set(system_ids)
    best, best_key = None, None
    for contract in contracts:
        if not in_force_on(contract, day):
            continue
        covered = len(wanted & {link.system_id for link in contract.covered})
        if not covered:
            continue
        key = (covered, contract.starts_on, -contract.id)
        if best_key is None or key > best_key:
            best, best_key = contract, key
    return best


def measuring_contract(incident: Incident, contracts: Iterable[Any], zone: ZoneInfo) -> tuple[Any | None, dict[str, Any]]:
    """The contract the incident is measured against, and a note saying which and why.

    The linked contract when there is one; otherwise the vendor's contract in force on the day of awareness
    that covers an affected system (the figures say so).
    """
    if incident.contract is not None:
        c = incident.contract
        return c, {"contract_id": c.id, "reference": c.reference, "basis": "linked", "reason": None}
    day = incident.aware_on or local_date(incident.aware_at, zone)
    found = contract_in_force(contracts, system_ids=[s.id for s in incident.systems], day=day)
    if found is None:
        return None, {"contract_id": None, "reference": None, "basis": None,
                      "reason": N_("No contract is linked, and none of the vendor's contracts in force on %(day)s covers an affected system.", day=str(day))}
    return found, {"contract_id": found.id, "reference": found.reference, "basis": "in_force",
                   "reason": N_("No contract is linked: measured against %(reference)s, in force on %(day)s and covering an affected system.",
                              reference=found.reference, day=str(day))}


def service_level(system: Any, contract: Any | None) -> tuple[int | None, int | None]:
    """(RTO, RPO) in minutes for a system: the contract's commitment where it sets one, else the system's own."""
    if contract is None:
        return system.rto_minutes, system.rpo_minutes
    return contract.service_level_for(system)


def _service_levels(incident: Incident, contract: Any | None) -> list[tuple[Any, int | None, int | None]]:
    return [(s, *service_level(s, contract)) for s in incident.systems]


def rto_breached(outage_minutes: float, rto_minutes: int | None) -> bool | None:
    """The one rule for "RTO breached": the outage lasted longer than the recovery time objective."""
    return None if rto_minutes is None else outage_minutes > rto_minutes


def rpo_breached(lost_minutes: float, rpo_minutes: int | None) -> bool | None:
    """The one rule for "RPO breached": more data was lost than the recovery point objective allows."""
    return None if rpo_minutes is None else lost_minutes > rpo_minutes


# -- the figures -----------------------------------------------------------------------------------------

def is_closed(incident: Incident) -> bool:
    return getattr(incident.status, "value", incident.status) == "closed"


def outage_end(incident: Incident, now: datetime) -> datetime | None:
    """When the outage ended: its restoration, else now while it goes on. A closed incident is never an
    ongoing outage: without a restoration time its outage ends when it was closed."""
    if incident.service_down_at is None:
        return None
    if incident.service_restored_at is not None:
        return incident.service_restored_at
    if is_closed(incident) and incident.closed_at is not None:
        return incident.closed_at
    return now


def outage(incident: Incident, now: datetime, contract: Any | None) -> dict[str, Any]:
    """Outage minutes against the RTO of each affected system (the contract's commitment where it sets one)."""
    result: dict[str, Any] = {"minutes": None, "ongoing": False, "rto_breached": None, "reason": None, "systems": []}
    end = outage_end(incident, now)
    minutes = None
    if end is None:
        result["reason"] = N_("The time the service went down is not recorded.")
    else:
        minutes = max((end - incident.service_down_at).total_seconds(), 0) / 60
        result["minutes"] = round(minutes, 2)
        result["ongoing"] = incident.service_restored_at is None and not is_closed(incident)
        if result["ongoing"]:
            result["reason"] = N_("The service is not restored yet: minutes so far.")
        elif incident.service_restored_at is None:
            result["reason"] = N_("Closed without a restoration time: counted until the incident was closed.")
        if not incident.systems:
            result["reason"] = _join(result["reason"], N_("No affected system is recorded, so no RTO applies."))
    verdicts = []
    for system, rto, _ in _service_levels(incident, contract):
        row = {"system_id": system.id, "name": system.name, "is_core": system.is_core, "rto_minutes": rto,
               "breached": None, "minutes_over": None, "reason": None,
               "tolerable_outage_minutes": system.tolerable_outage_minutes, "tolerable_outage_exceeded": None}
        if rto is None:
            row["reason"] = N_("No RTO is set for this system.")
        elif minutes is None:
            row["reason"] = N_("No down time is recorded.")
        elif rto_breached(minutes, rto):
            row["breached"], row["minutes_over"] = True, round(minutes - rto, 2)
        elif result["ongoing"]:
            row["reason"] = N_("Not restored yet; %(minutes)s minutes left within the RTO.", minutes=round(rto - minutes, 2))
        else:
            row["breached"] = False
        tolerable = system.tolerable_outage_minutes
        if tolerable is not None and minutes is not None and (minutes > tolerable or not result["ongoing"]):
            row["tolerable_outage_exceeded"] = minutes > tolerable
        verdicts.append(row["breached"])
        result["systems"].append(row)
    if any(v is True for v in verdicts):
        result["rto_breached"] = True
    elif verdicts and all(v is False for v in verdicts):
        result["rto_breached"] = False
    return result


def data_loss(incident: Incident, contract: Any | None) -> dict[str, Any]:
    """Minutes of data lost against the RPO of each affected system."""
    result: dict[str, Any] = {"minutes": None, "rpo_breached": None, "reason": None, "systems": []}
    minutes = None
    if incident.data_loss_from is None or incident.data_loss_to is None:
        result["reason"] = N_("No data-loss window is recorded (none lost, or not known yet).")
    else:
        minutes = _minutes(incident.data_loss_to - incident.data_loss_from)
        result["minutes"] = minutes
        if not incident.systems:
            result["reason"] = N_("No affected system is recorded, so no RPO applies.")
    verdicts = []
    for system, _, rpo in _service_levels(incident, contract):
        row = {"system_id": system.id, "name": system.name, "rpo_minutes": rpo,
               "breached": None if minutes is None else rpo_breached(minutes, rpo),
               "reason": N_("No RPO is set for this system.") if rpo is None else None}
        verdicts.append(row["breached"])
        result["systems"].append(row)
    if any(v is True for v in verdicts):
        result["rpo_breached"] = True
    elif minutes is not None and verdicts and all(v is False for v in verdicts):
        result["rpo_breached"] = False
    return result


def vendor_notification(incident: Incident, now: datetime, contract: Any | None) -> dict[str, Any]:
    """How long the vendor took to tell us after it knew, against its contractual duty to notify.

    Measured from ``vendor_aware_at``; when that is missing, ``occurred_at`` stands in (and the figure says so):
    a breach read off the stand-in is shown but never sent as a breach message on its own.
    """
    result: dict[str, Any] = {"delay_minutes": None, "duty_minutes": None, "breached": None, "measured_from": None,
                              "stand_in": False, "reason": None}
    duty = contract.vendor_notify_minutes if contract is not None else None
    result["duty_minutes"] = duty
    start, basis = incident.vendor_aware_at, "vendor_aware_at"
    if start is None:
        start, basis = incident.occurred_at, "occurred_at"
    if start is None:
        result["reason"] = N_("Neither when the vendor knew nor when the incident occurred is recorded.")
        return result
    result["measured_from"] = basis
    stand_in = None
    if basis == "occurred_at":
        result["stand_in"] = True
        stand_in = N_("When the vendor knew is not recorded: the occurrence time stands in for it.")
    if incident.vendor_notified_at is None:
        waited = _minutes(now - start)
        waiting = (N_("The vendor has not notified us yet (%(minutes)s minutes since it knew).", minutes=waited)
                   if basis == "vendor_aware_at" else
                   N_("The vendor has not notified us yet (%(minutes)s minutes since it occurred).", minutes=waited))
        result["reason"] = _join(stand_in, waiting)
        if duty is not None and waited > duty:
            result["breached"] = True
        return result
    delay = _minutes(incident.vendor_notified_at - start)
    result["delay_minutes"] = max(delay, 0.0)
    if contract is None:
        result["reason"] = _join(stand_in, N_("No contract applies, so there is no duty to measure against."))
    elif duty is None:
        result["reason"] = _join(stand_in, N_("The contract sets no notification duty."))
    else:
        result["breached"] = delay > duty
        result["reason"] = stand_in
    return result


def month_bounds(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar month (in the firm's zone) that contains ``moment``, as aware bounds [start, end)."""
    local = moment.astimezone(zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start.replace(tzinfo=None) + timedelta(days=32)).replace(day=1)
    return start, following.replace(tzinfo=zone)


def months_touched(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """Every calendar month (firm's zone) that the span [start, end] touches, in order: an outage crossing
    midnight at a month's end counts in both months."""
    months = [month_bounds(start, zone)]
    while months[-1][1] < end:
        months.append(month_bounds(months[-1][1], zone))
    return months


def merged_outage_minutes(intervals: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> float:
    """Minutes within [start, end) covered by any interval; overlapping outages count once."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # same-zone subtraction would ignore DST shifts
    clipped = sorted((max(a.astimezone(UTC), start), min(b.astimezone(UTC), end)) for a, b in intervals if b > start and a < end)
    total, cur_a, cur_b = 0.0, None, None
    for a, b in clipped:
        if cur_b is None or a > cur_b:
            if cur_b is not None:
                total += (cur_b - cur_a).total_seconds()
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_b is not None:
        total += (cur_b - cur_a).total_seconds()
    return round(total / 60, 2)


def availability(outage_minutes: float, start: datetime, end: datetime, target: Decimal | None) -> dict[str, Any]:
    month_minutes = (end.timestamp() - start.timestamp()) / 60
    percent = round(100 * (1 - outage_minutes / month_minutes), 4)
    return {
        "month": start.strftime("%Y-%m"),
        "outage_minutes": outage_minutes,
        "availability_percent": percent,
        "target_percent": float(target) if target is not None else None,
        "breached": (percent < float(target)) if target is not None else None,
        "reason": None if target is not None else N_("The contract sets no availability target."),
    }


# -- the same rules as SQL expressions over the incidents table, for aggregates over many incidents ---------
# Each mirrors the Python rule above it in meaning; tests/incidents/test_sql_rules.py holds them to the same answers.

def measured_contract_id_sql() -> sa.ColumnElement[int]:
    """The contract an incident is measured against (``measuring_contract``): the linked one, else the vendor's
    contract in force on the day of awareness covering the most affected systems, then the newest, then the first."""
    covering = (
        sa.select(ContractSystem.contract_id)
        .join(Contract, Contract.id == ContractSystem.contract_id)
        .join(incident_systems, incident_systems.c.system_id == ContractSystem.system_id)
        .where(incident_systems.c.incident_id == Incident.id, Contract.vendor_id == Incident.vendor_id,
               Contract.starts_on <= Incident.aware_on,
               sa.or_(Contract.ends_on.is_(None), Contract.ends_on >= Incident.aware_on))
        .group_by(ContractSystem.contract_id, Contract.starts_on)
        .order_by(sa.func.count().desc(), Contract.starts_on.desc(), ContractSystem.contract_id)
        .limit(1)
        .correlate(Incident)
        .scalar_subquery()
    )
    return sa.func.coalesce(Incident.contract_id, covering)


def outage_end_sql(now: datetime) -> sa.ColumnElement[datetime]:
    """``outage_end``: the restoration, else the closure of a closed incident, else now."""
    closed_at = sa.case((Incident.status == "closed", Incident.closed_at), else_=None)
    return sa.func.coalesce(Incident.service_restored_at, closed_at, sa.literal(now, UTCDateTime()), type_=UTCDateTime())


def outage_minutes_sql(now: datetime) -> sa.ColumnElement[float]:
    return minutes_between(Incident.service_down_at, outage_end_sql(now))


def data_loss_minutes_sql() -> sa.ColumnElement[float]:
    return minutes_between(Incident.data_loss_from, Incident.data_loss_to)


def notification_delay_minutes_sql(now: datetime) -> sa.ColumnElement[float]:
    """``vendor_notification``'s delay: from when the vendor knew (occurred_at standing in) to its notice, or now."""
    start = sa.func.coalesce(Incident.vendor_aware_at, Incident.occurred_at, type_=UTCDateTime())
    end = sa.func.coalesce(Incident.vendor_notified_at, sa.literal(now, UTCDateTime()), type_=UTCDateTime())
    return minutes_between(start, end)
