"""Vendor, Certification, System, Contract and the per-system service levels of a contract."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incident_service.extensions import db


class VendorCategory(str, enum.Enum):
    system_development = "system_development"  # 系統發展類
    operations = "operations"  # 維運管理類
    cloud = "cloud"  # 雲端服務類
    consulting_training = "consulting_training"  # 顧問訓練類


class Vendor(db.Model):
    __tablename__ = "vendors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    tax_id: Mapped[str | None] = mapped_column(sa.String(8), unique=True)  # 統一編號, 8 digits
    category: Mapped[VendorCategory] = mapped_column(sa.Enum(VendorCategory, native_enum=False, length=40))
    service_location: Mapped[str | None] = mapped_column(sa.String(200))
    contact_name: Mapped[str | None] = mapped_column(sa.String(200))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(50))
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    # Third-party service providers (TSP) the vendor relies on: [{"name": ..., "service": ...}]
    subcontractors: Mapped[list] = mapped_column(sa.JSON, default=list)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)
    # Every UPDATE says WHERE version = <read>, and bumps it: two concurrent writers cannot both pass.
    __mapper_args__ = {"version_id_col": version}

    certifications: Mapped[list[Certification]] = relationship(
        back_populates="vendor", cascade="all, delete-orphan", order_by="Certification.expires_on"
    )
    contracts: Mapped[list[Contract]] = relationship(back_populates="vendor", order_by="Contract.starts_on")


class Certification(db.Model):
    __tablename__ = "vendor_certifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendors.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))  # e.g. ISO 27001
    expires_on: Mapped[date | None]

    vendor: Mapped[Vendor] = relationship(back_populates="certifications")


class System(db.Model):
    __tablename__ = "systems"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    is_core: Mapped[bool] = mapped_column(default=False)  # 核心系統: directly serves client trading
    # 即時報價: a real-time quote feed; its vendor owes a yearly primary/backup failover drill (seed 001 Art. 4).
    real_time_quotes: Mapped[bool] = mapped_column(default=False)
    tolerable_outage_minutes: Mapped[int | None]
    rto_minutes: Mapped[int | None]
    rpo_minutes: Mapped[int | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)
    # Every UPDATE says WHERE version = <read>, and bumps it: two concurrent writers cannot both pass.
    __mapper_args__ = {"version_id_col": version}


class ContractSystem(db.Model):
    """A system covered by a contract, with the RTO/RPO the vendor committed to for it (if it differs)."""

    __tablename__ = "contract_systems"

    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True)
    system_id: Mapped[int] = mapped_column(sa.ForeignKey("systems.id"), primary_key=True, index=True)
    rto_minutes: Mapped[int | None]
    rpo_minutes: Mapped[int | None]

    system: Mapped[System] = relationship(lazy="joined")
    contract: Mapped[Contract] = relationship(back_populates="covered")


class Contract(db.Model):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendors.id"), index=True)
    reference: Mapped[str] = mapped_column(sa.String(100))  # the contract number
    title: Mapped[str] = mapped_column(sa.String(200))
    scope: Mapped[str | None] = mapped_column(sa.Text)
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    availability_target: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 3))  # percent per month, e.g. 99.9
    vendor_notify_minutes: Mapped[int | None]  # the vendor must tell us within N minutes of knowing
    penalty_terms: Mapped[str | None] = mapped_column(sa.Text)
    audit_right: Mapped[bool] = mapped_column(default=False)
    subcontracting_allowed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)
    # Every UPDATE says WHERE version = <read>, and bumps it: two concurrent writers cannot both pass.
    __mapper_args__ = {"version_id_col": version}

    vendor: Mapped[Vendor] = relationship(back_populates="contracts")
    # Every reader of a contract measures against its systems: loaded with it, never one query per contract.
    covered: Mapped[list[ContractSystem]] = relationship(
        back_populates="contract", cascade="all, delete-orphan", order_by="ContractSystem.system_id", lazy="selectin"
    )
    # Which clauses of seed 001 Art. 4 it contains (vendors/clauses.py reads them against the catalogue).
    clauses: Mapped[list[ContractClause]] = relationship(
        cascade="all, delete-orphan", order_by="ContractClause.clause_key", lazy="selectin"
    )

    __table_args__ = (sa.UniqueConstraint("vendor_id", "reference", name="uq_contracts_vendor_reference"),)

    def service_level_for(self, system: System) -> tuple[int | None, int | None]:
        """The RTO and RPO (minutes) this contract holds the vendor to for a system."""
        return self.levels_for(system.id, system.rto_minutes, system.rpo_minutes)

    def levels_for(self, system_id: int, rto_minutes: int | None, rpo_minutes: int | None) -> tuple[int | None, int | None]:
        """The contract's own RTO/RPO for a covered system where it sets one, else the system's (given)."""
        for link in self.covered:
            if link.system_id == system_id:
                return (
                    link.rto_minutes if link.rto_minutes is not None else rto_minutes,
                    link.rpo_minutes if link.rpo_minutes is not None else rpo_minutes,
                )
        return rto_minutes, rpo_minutes


class ClauseStatus(str, enum.Enum):
    present = "present"
    absent = "absent"
    not_applicable = "not_applicable"


class ContractClause(db.Model):
    """What a contract says about one clause of the catalogue (``vendors/data/contract_clauses.toml``)."""

    __tablename__ = "contract_clauses"

    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True)
    clause_key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    status: Mapped[ClauseStatus] = mapped_column(sa.Enum(ClauseStatus, native_enum=False, length=20))
    section: Mapped[str | None] = mapped_column(sa.String(100))  # where the contract says it, e.g. 第12條
    note: Mapped[str | None] = mapped_column(sa.String(1000))
