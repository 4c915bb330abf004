"""Vendor changes (updates, patches, migrations) and the market's hours: seed 001 Art. 4-1-(5)-7 forbids system
updates before the open and during the trading session. A change planned in that window is refused unless it is an
emergency, which a supervisor approves; every change is approved by a supervisor other than its requester. An
incident may name the change that caused it (seed 003 case 1: an OS update re-enabled a firewall rule)."""
from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from incident_service.api_common import check_version
from incident_service.database import apply_changes
from incident_service.errors import Conflict, Forbidden, NotFound, ValidationFailed
from incident_service.extensions import db
from incident_service.phrases import N_
from incident_service.vendors.catalogues import TradingCalendar
from incident_service.vendors.models import System, Vendor
from incident_service.vendors.service import load_systems

LONGEST_CHANGE = timedelta(days=31)


class ChangeState(str, enum.Enum):
    proposed = "proposed"  # waiting for a supervisor's approval
    approved = "approved"
    done = "done"
    cancelled = "cancelled"


vendor_change_systems = sa.Table(
    "vendor_change_systems",
    db.metadata,
    sa.Column("change_id", sa.ForeignKey("vendor_changes.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("system_id", sa.ForeignKey("systems.id"), primary_key=True, index=True),
)


class VendorChange(db.Model):
    __tablename__ = "vendor_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendors.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    rollback_plan: Mapped[str] = mapped_column(sa.Text)
    planned_start: Mapped[datetime]
    planned_end: Mapped[datetime]
    emergency: Mapped[bool] = mapped_column(default=False)
    emergency_reason: Mapped[str | None] = mapped_column(sa.Text)
    # Whether the plan touches the no-update window (before the open to the close of a trading day): kept so lists
    # and the vendor page need no calendar, and an inspector sees what was approved knowingly.
    in_market_hours: Mapped[bool] = mapped_column(default=False)
    state: Mapped[ChangeState] = mapped_column(sa.Enum(ChangeState, native_enum=False, length=20), index=True)
    requested_by: Mapped[str] = mapped_column(sa.String(120))
    approved_by: Mapped[str | None] = mapped_column(sa.String(120))
    approved_at: Mapped[datetime | None]
    approval_note: Mapped[str | None] = mapped_column(sa.Text)
    closed_at: Mapped[datetime | None]  # done or cancelled
    closed_by: Mapped[str | None] = mapped_column(sa.String(120))
    outcome: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)
    # Every UPDATE says WHERE version = <read>, and bumps it: two concurrent writers cannot both pass.
    __mapper_args__ = {"version_id_col": version}

    vendor: Mapped[Vendor] = relationship(lazy="joined")
    systems: Mapped[list[System]] = relationship(secondary=vendor_change_systems, order_by="System.id", lazy="selectin")

    __table_args__ = (sa.Index("ix_vendor_changes_vendor_start", "vendor_id", "planned_start"),)


def get_change(*, session: Session, change_id: int) -> VendorChange:
    change = session.get(VendorChange, change_id)
    if change is None:
        raise NotFound(f"Vendor change {change_id} does not exist.")
    return change


def changes_query(*, vendor_id: int | None = None, state: ChangeState | None = None,
                  planned_from: datetime | None = None, planned_to: datetime | None = None) -> sa.Select:
    stmt = sa.select(VendorChange).order_by(VendorChange.planned_start.desc(), VendorChange.id.desc())
    if vendor_id is not None:
        stmt = stmt.where(VendorChange.vendor_id == vendor_id)
    if state is not None:
        stmt = stmt.where(VendorChange.state == state)
    if planned_from is not None:
        stmt = stmt.where(VendorChange.planned_end > planned_from)
    if planned_to is not None:
        stmt = stmt.where(VendorChange.planned_start < planned_to)
    return stmt


def _check_plan(change: VendorChange, calendar: TradingCalendar) -> None:
    """The plan's own rules; sets ``in_market_hours``. A plan in the no-update window that is not an emergency is
    refused (422 ``market_hours``), naming the window."""
    errors: dict[str, list[str]] = {}
    if change.planned_end <= change.planned_start:
        errors["planned_end"] = [N_("A change ends after it starts.")]
    elif change.planned_end - change.planned_start > LONGEST_CHANGE:
        errors["planned_end"] = [N_("Plan a change of at most 31 days; split a longer one.")]
    if change.emergency and not (change.emergency_reason or "").strip():
        errors["emergency_reason"] = [N_("An emergency change says why it cannot wait for the market to close.")]
    if not (change.title or "").strip():
        errors["title"] = [N_("Give the change a title, or a description.")]
    windows = calendar.windows_overlapping(change.planned_start, change.planned_end) if "planned_end" not in errors else []
    change.in_market_hours = bool(windows)
    if windows and not change.emergency:
        window = windows[0]
        errors["planned_start"] = [N_(
            "Planned inside the market's no-update window %(day)s %(start)s–%(end)s (%(zone)s), a trading day: no vendor "
            "update before the open or during the session (seed 001 Art. 4). Plan it outside, or mark it an emergency "
            "for a supervisor to approve.", day=window.day.isoformat(), start=window.starts_at.strftime("%H:%M"),
            end=window.ends_at.strftime("%H:%M"), zone=window.starts_at.tzinfo.key)]
        raise ValidationFailed(errors, message="The change is planned inside market hours.", code="market_hours")
    if errors:
        raise ValidationFailed(errors)


def _with_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """What an integration may leave out (``../shared/API.md`` names vendor, systems, times, description, emergency):
    the title is the description's first line, an emergency's reason its description, no rollback plan an empty one."""
    data = dict(data)
    description = (data.get("description") or "").strip()
    if not (data.get("title") or "").strip() and description:
        data["title"] = description.splitlines()[0][:200]
    if data.get("emergency") and not (data.get("emergency_reason") or "").strip() and description:
        data["emergency_reason"] = description
    data["rollback_plan"] = data.get("rollback_plan") or ""
    return data


def plan_change(*, session: Session, data: dict[str, Any], calendar: TradingCalendar, actor: str,
                now: datetime) -> VendorChange:
    """Record a planned vendor change, waiting for a supervisor's approval. Commits once."""
    data = _with_defaults(data)
    system_ids = data.pop("system_ids", [])
    if session.get(Vendor, data["vendor_id"]) is None:
        raise ValidationFailed({"vendor_id": [f"Vendor {data['vendor_id']} does not exist."]})
    change = VendorChange(**data, state=ChangeState.proposed, requested_by=actor, created_at=now, updated_at=now)
    change.systems = load_systems(session, system_ids)
    _check_plan(change, calendar)
    session.add(change)
    session.commit()
    return change


def update_change(*, session: Session, change_id: int, data: dict[str, Any], expected_version: int | None,
                  calendar: TradingCalendar, now: datetime) -> VendorChange:
    """Change the plan while it waits for approval (the rules are checked again). Commits once."""
    change = get_change(session=session, change_id=change_id)
    check_version(change, expected_version)
    if change.state != ChangeState.proposed:
        raise Conflict(f"This change is {change.state.value}; only a proposed change can be re-planned "
                       "(cancel it and plan a new one).", code="not_proposed")
    data = dict(data)
    system_ids = data.pop("system_ids", None)
    with session.no_autoflush:
        changes = apply_changes(change, data)
        if system_ids is not None:
            change.systems = load_systems(session, system_ids)
            changes["systems"] = ["", "replaced"]
        _check_plan(change, calendar)
    if changes:
        change.updated_at = now
    session.commit()
    return change


def approve_change(*, session: Session, change_id: int, actor: str, note: str | None, calendar: TradingCalendar,
                   now: datetime) -> VendorChange:
    """A supervisor approves a proposed change: not their own, and a plan inside market hours only as an emergency
    (the calendar is read again, so a holiday added since is honoured). Commits once."""
    change = get_change(session=session, change_id=change_id)
    if change.state != ChangeState.proposed:
        raise Conflict(f"This change is {change.state.value}, not waiting for approval.", code="not_proposed")
    if change.requested_by == actor:
        raise Forbidden(f"{actor} requested this change, so another supervisor approves it (four eyes).",
                        errors={"approved_by": ["The requester cannot approve their own change."]}, code="own_change")
    _check_plan(change, calendar)
    change.state, change.approved_by, change.approved_at, change.approval_note = ChangeState.approved, actor, now, note
    change.updated_at = now
    session.commit()
    return change


def close_change(*, session: Session, change_id: int, state: ChangeState, outcome: str | None, actor: str,
                 now: datetime) -> VendorChange:
    """Record that an approved change was done, or that a change was cancelled. Commits once."""
    change = get_change(session=session, change_id=change_id)
    if state == ChangeState.done and change.state != ChangeState.approved:
        raise Conflict(f"Only an approved change can be done; this one is {change.state.value}.", code="not_approved")
    if state == ChangeState.cancelled and change.state not in (ChangeState.proposed, ChangeState.approved):
        raise Conflict(f"This change is already {change.state.value}.", code="change_closed")
    if state not in (ChangeState.done, ChangeState.cancelled):
        raise ValidationFailed({"state": ["A change is closed as done or cancelled."]})
    change.state, change.closed_at, change.closed_by, change.outcome = state, now, actor, outcome
    change.updated_at = now
    session.commit()
    return change
