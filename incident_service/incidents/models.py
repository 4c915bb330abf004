"""Incident, TimelineEvent (append-only) and Remediation."""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incident_service.extensions import db
from incident_service.vendors.changes import VendorChange
from incident_service.vendors.duties import VendorDuty
from incident_service.vendors.models import Contract, System, Vendor


class IncidentKind(str, enum.Enum):
    security = "security"  # 資安事件
    outage = "outage"  # 服務中斷


class IncidentStatus(str, enum.Enum):
    open = "open"
    reported = "reported"
    recovered = "recovered"
    closed = "closed"


# Not closed, written so the status index serves it (``!= closed`` makes PostgreSQL read every incident).
OPEN_STATUSES = (IncidentStatus.open, IncidentStatus.reported, IncidentStatus.recovered)


incident_systems = sa.Table(
    "incident_systems",
    db.metadata,
    sa.Column("incident_id", sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("system_id", sa.ForeignKey("systems.id"), primary_key=True, index=True),
)


class Incident(db.Model):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[IncidentKind] = mapped_column(sa.Enum(IncidentKind, native_enum=False, length=20))
    severity: Mapped[int]  # 1 (low) .. 4 (most severe), as the Cyber Security Management Act's levels
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[IncidentStatus] = mapped_column(
        sa.Enum(IncidentStatus, native_enum=False, length=20), default=IncidentStatus.open, index=True
    )
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendors.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    # The vendor change that caused it, when one did (seed 003 case 1: an OS update that re-enabled a firewall rule).
    caused_by_change_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vendor_changes.id"), index=True)
    # Reporting policies whose clocks this incident runs (keys of policy files).
    policies: Mapped[list] = mapped_column(sa.JSON, default=list)

    occurred_at: Mapped[datetime | None]
    detected_at: Mapped[datetime | None]
    aware_at: Mapped[datetime] = mapped_column(index=True)  # 知悉: starts the reporting clock
    # The day of awareness in the firm's zone: which contract was in force, in SQL as in Python.
    aware_on: Mapped[date]
    classified_at: Mapped[datetime | None]  # when classified as major (DORA's clock start)
    vendor_aware_at: Mapped[datetime | None]  # when the vendor itself knew
    vendor_notified_at: Mapped[datetime | None]  # when the vendor told us
    service_down_at: Mapped[datetime | None]
    service_restored_at: Mapped[datetime | None]
    data_loss_from: Mapped[datetime | None]
    data_loss_to: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    trading_affected: Mapped[bool] = mapped_column(default=False)
    investors_affected: Mapped[bool] = mapped_column(default=False)
    # When the firm learnt that trading or investors' rights are affected: starts the public notice's clock.
    impact_known_at: Mapped[datetime | None]
    clients_affected: Mapped[int | None]
    estimated_loss_ntd: Mapped[int | None] = mapped_column(sa.BigInteger)

    root_cause: Mapped[str | None] = mapped_column(sa.Text)
    bcp_invoked: Mapped[bool] = mapped_column(default=False)
    failover_performed: Mapped[bool] = mapped_column(default=False)
    response_notes: Mapped[str | None] = mapped_column(sa.Text)
    # Customer measures (seed 003: 第一時間公告, 引導投資人採用替代方式下單, 妥善處理客訴), carried by the drafts.
    customer_notice: Mapped[str | None] = mapped_column(sa.Text)
    alternative_channels: Mapped[str | None] = mapped_column(sa.Text)
    complaint_handling: Mapped[str | None] = mapped_column(sa.Text)
    # The investor-facing public notice (即時公告), pre-filled from the incident and edited before it is filed.
    public_notice_text: Mapped[str | None] = mapped_column(sa.Text)
    reporting_contact: Mapped[str | None] = mapped_column(sa.String(200))  # default: REPORTING_CONTACT

    # The reportability decision: is this a major security incident under the firm's criteria?
    major_incident: Mapped[bool | None]
    major_criteria: Mapped[list] = mapped_column(sa.JSON, default=list)  # keys of the criteria met
    major_decided_by: Mapped[str | None] = mapped_column(sa.String(120))
    major_decided_at: Mapped[datetime | None]
    major_decision_reason: Mapped[str | None] = mapped_column(sa.Text)

    reported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)
    # Every UPDATE says WHERE version = <read>, and bumps it: two concurrent writers cannot both pass.
    __mapper_args__ = {"version_id_col": version}

    vendor: Mapped[Vendor] = relationship(lazy="joined")
    contract: Mapped[Contract | None] = relationship()
    caused_by_change: Mapped[VendorChange | None] = relationship()
    systems: Mapped[list[System]] = relationship(secondary=incident_systems, order_by="System.id")
    timeline: Mapped[list[TimelineEvent]] = relationship(
        back_populates="incident", order_by="TimelineEvent.id", viewonly=True
    )
    remediations: Mapped[list[Remediation]] = relationship(
        back_populates="incident", order_by="Remediation.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("severity BETWEEN 1 AND 4", name="severity_range"),
        sa.Index("ix_incidents_vendor_aware", "vendor_id", "aware_at"),
        # Outages of a vendor over a window (availability, months touched).
        sa.Index("ix_incidents_vendor_down", "vendor_id", "service_down_at"),
    )


class TimelineEvent(db.Model):
    """One change or filing on an incident. Rows are only ever inserted."""

    __tablename__ = "timeline_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(40))  # created, updated, filing, awareness_corrected, ...
    summary: Mapped[str] = mapped_column(sa.String(500))
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # {field: [old, new]}

    incident: Mapped[Incident] = relationship(back_populates="timeline")


@event.listens_for(TimelineEvent, "before_update")
def _timeline_is_append_only(mapper, connection, target):  # noqa: ARG001
    raise RuntimeError("timeline events are append-only")


class RemediationAction(str, enum.Enum):
    stress_test = "stress_test"  # wider stress test
    resource_allocation = "resource_allocation"
    code_review = "code_review"
    patch_process = "patch_process"  # change to the patch / update process
    vendor_penalty = "vendor_penalty"  # penalty claim against the vendor
    performance = "performance"
    other = "other"


class RemediationStatus(str, enum.Enum):
    planned = "planned"
    in_progress = "in_progress"
    done = "done"  # done by its owner, waiting to be verified
    verified = "verified"
    cancelled = "cancelled"


class Remediation(db.Model):
    """A follow-up action: after an incident, or a finding of a vendor duty (an audit, a review)."""

    __tablename__ = "remediations"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    duty_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vendor_duties.id", ondelete="CASCADE"), index=True)
    action: Mapped[RemediationAction] = mapped_column(sa.Enum(RemediationAction, native_enum=False, length=40))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    owner: Mapped[str] = mapped_column(sa.String(120))
    due_on: Mapped[date]
    status: Mapped[RemediationStatus] = mapped_column(
        sa.Enum(RemediationStatus, native_enum=False, length=20), default=RemediationStatus.planned, index=True
    )
    evidence: Mapped[str | None] = mapped_column(sa.Text)
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(sa.String(120))  # who marked it done: may not verify it
    verified_by: Mapped[str | None] = mapped_column(sa.String(120))
    verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)
    # Every UPDATE says WHERE version = <read>, and bumps it: two concurrent writers cannot both pass.
    __mapper_args__ = {"version_id_col": version}

    incident: Mapped[Incident | None] = relationship(back_populates="remediations")
    duty: Mapped[VendorDuty | None] = relationship()

    __table_args__ = (sa.CheckConstraint("(incident_id IS NULL) <> (duty_id IS NULL)", name="one_subject"),)
