"""Figures derived from an incident's times and its contract, never typed in.

Each figure says why when it cannot be computed yet (service not restored, no contract, ...).
Pure functions: they take the incident and ``now`` and return plain dicts.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from incident_service.incidents.models import Incident


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 2)


def _service_levels(incident: Incident) -> list[tuple[Any, int | None, int | None]]:
    """(system, rto, rpo) per affected system: the contract's commitment where there is one."""
    contract = incident.contract
    return [(s, *(contract.service_level_for(s) if contract else (s.rto_minutes, s.rpo_minutes))) for s in incident.systems]


def outage(incident: Incident, now: datetime) -> dict[str, Any]:
    """Outage minutes against the RTO of each affected system."""
    result: dict[str, Any] = {"minutes": None, "ongoing": False, "rto_breached": None, "reason": None, "systems": []}
    if incident.service_down_at is None:
        result["reason"] = "The time the service went down is not recorded."
        return result
    end = incident.service_restored_at or now
    seconds = max((end - incident.service_down_at).total_seconds(), 0)
    result["minutes"] = round(seconds / 60, 2)
    result["ongoing"] = incident.service_restored_at is None
    if result["ongoing"]:
        result["reason"] = "The service is not restored yet: minutes so far."
    if not incident.systems:
        result["reason"] = (result["reason"] + " " if result["reason"] else "") + "No affected system is recorded, so no RTO applies."
    verdicts = []
    for system, rto, _ in _service_levels(incident):
        row = {"system_id": system.id, "name": system.name, "is_core": system.is_core, "rto_minutes": rto,
               "breached": None, "minutes_over": None, "reason": None,
               "tolerable_outage_minutes": system.tolerable_outage_minutes, "tolerable_outage_exceeded": None}
        if rto is None:
            row["reason"] = "No RTO is set for this system."
        else:
            over = seconds / 60 - rto
            if over > 0:
                row["breached"], row["minutes_over"] = True, round(over, 2)
            elif result["ongoing"]:
                row["reason"] = f"Not restored yet; {round(-over, 2)} minutes left within the RTO."
            else:
                row["breached"] = False
        if system.tolerable_outage_minutes is not None and (seconds / 60 > system.tolerable_outage_minutes or not result["ongoing"]):
            row["tolerable_outage_exceeded"] = seconds / 60 > system.tolerable_outage_minutes
        verdicts.append(row["breached"])
        result["systems"].append(row)
    if any(v is True for v in verdicts):
        result["rto_breached"] = True
    elif verdicts and all(v is False for v in verdicts):
        result["rto_breached"] = False
    return result


def data_loss(incident: Incident) -> dict[str, Any]:
    """Minutes of data lost against the RPO of each affected system."""
    result: dict[str, Any] = {"minutes": None, "rpo_breached": None, "reason": None, "systems": []}
    if incident.data_loss_from is None or incident.data_loss_to is None:
        result["reason"] = "No data-loss window is recorded (none lost, or not known yet)."
        return result
    minutes = _minutes(incident.data_loss_to - incident.data_loss_from)
    result["minutes"] = minutes
    verdicts = []
    for system, _, rpo in _service_levels(incident):
        row = {"system_id": system.id, "name": system.name, "rpo_minutes": rpo, "breached": None, "reason": None}
        if rpo is None:
            row["reason"] = "No RPO is set for this system."
        else:
            row["breached"] = minutes > rpo
        verdicts.append(row["breached"])
        result["systems"].append(row)
    if not incident.systems:
        result["reason"] = "No affected system is recorded, so no RPO applies."
    if any(v is True for v in verdicts):
        result["rpo_breached"] = True
    elif verdicts and all(v is False for v in verdicts):
        result["rpo_breached"] = False
    return result


def vendor_notification(incident: Incident, now: datetime) -> dict[str, Any]:
    """How long the vendor took to tell us, against its contractual duty to notify."""
    result: dict[str, Any] = {"delay_minutes": None, "duty_minutes": None, "breached": None, "measured_from": None, "reason": None}
    contract = incident.contract
    duty = contract.vendor_notify_minutes if contract else None
    result["duty_minutes"] = duty
    start, basis = incident.vendor_aware_at, "vendor_aware_at"
    if start is None:
        start, basis = incident.occurred_at, "occurred_at"
    if start is None:
        result["reason"] = "Neither when the vendor knew nor when the incident occurred is recorded."
        return result
    result["measured_from"] = basis
    if incident.vendor_notified_at is None:
        waited = _minutes(now - start)
        result["reason"] = f"The vendor has not notified us yet ({waited} minutes since {basis.replace('_', ' ')})."
        if duty is not None and waited > duty:
            result["breached"] = True
        return result
    delay = _minutes(incident.vendor_notified_at - start)
    result["delay_minutes"] = max(delay, 0.0)
    if contract is None:
        result["reason"] = "No contract is linked, so there is no duty to measure against."
    elif duty is None:
        result["reason"] = "The contract sets no notification duty."
    else:
        result["breached"] = delay > duty
    return result


def month_bounds(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar month (in the firm's zone) that contains ``moment``, as UTC-aware bounds."""
    local = moment.astimezone(zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def merged_outage_minutes(intervals: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> float:
    """Minutes within [start, end) covered by any interval; overlapping outages count once."""
    clipped = sorted((max(a, start), min(b, end)) for a, b in intervals if b > start and a < end)
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
    month_minutes = (end - start).total_seconds() / 60
    percent = round(100 * (1 - outage_minutes / month_minutes), 4)
    return {
        "month": start.strftime("%Y-%m"),
        "outage_minutes": outage_minutes,
        "availability_percent": percent,
        "target_percent": float(target) if target is not None else None,
        "breached": (percent < float(target)) if target is not None else None,
        "reason": None if target is not None else "The contract sets no availability target.",
    }
