"""A vendor duty: one occurrence of an obligation the firm owes about a vendor (the yearly audit, the six-monthly
access review, the SLA report, the failover drill, a certificate about to expire, the audit after a serious
incident, the termination checklist). Its clock is a ``reporting`` deadline like any reporting clock; this record
says what it is about and how it was completed."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incident_service.extensions import db
from incident_service.vendors.models import Certification, Contract, Vendor


class DutySubject(str, enum.Enum):
    vendor = "vendor"
    contract = "contract"
    certification = "certification"
    incident = "incident"  # the audit owed after a serious vendor incident


class VendorDuty(db.Model):
    __tablename__ = "vendor_duties"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendors.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))  # the duty policy's key: annual_audit, access_review, ...
    subject: Mapped[DutySubject] = mapped_column(sa.Enum(DutySubject, native_enum=False, length=20))
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    certification_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vendor_certifications.id", ondelete="SET NULL"))
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    # "vendor:3", "contract:7", "certification:9", "incident:12": never NULL, so it can be unique with the anchor.
    subject_ref: Mapped[str] = mapped_column(sa.String(60))
    # What this occurrence counts from: the last completion, the subject's start, its end date, or the event.
    anchor_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(sa.String(120))
    recorded_at: Mapped[datetime | None]  # when the completion was entered here
    evidence: Mapped[str | None] = mapped_column(sa.String(500))  # a reference: report number, file, ticket
    findings: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    vendor: Mapped[Vendor] = relationship(lazy="joined")
    contract: Mapped[Contract | None] = relationship()
    certification: Mapped[Certification | None] = relationship()

    __table_args__ = (
        # One occurrence per duty, subject and anchor: a second engine or a repeated sync never makes two.
        sa.UniqueConstraint("kind", "subject_ref", "anchor_at", name="uq_vendor_duties_occurrence"),
        sa.Index("ix_vendor_duties_open", "vendor_id", "kind", "completed_at"),
    )


def subject_ref(subject: DutySubject, subject_id: int) -> str:
    return f"{subject.value}:{subject_id}"
