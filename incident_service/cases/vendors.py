"""Changing a vendor's records (the vendor, its systems, its contracts): the vendor-area use case saves the record,
then the duties of every vendor it concerns follow (the engine's hourly sync is the safety net)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.cases.duties import resync
from incident_service.reporting.policy import PolicyRegistry
from incident_service.vendors import service
from incident_service.vendors.catalogues import ClauseCatalogue
from incident_service.vendors.models import Contract, ContractSystem, System, Vendor


def create_vendor(*, session: Session, data: dict[str, Any], registry: PolicyRegistry, now: datetime) -> Vendor:
    vendor = service.create_vendor(session=session, data=data, now=now)
    resync(session=session, vendor_ids=[vendor.id], registry=registry, now=now)
    return vendor


def update_vendor(*, session: Session, vendor_id: int, data: dict[str, Any], expected_version: int | None,
                  registry: PolicyRegistry, now: datetime) -> Vendor:
    vendor = service.update_vendor(session=session, vendor_id=vendor_id, data=data, expected_version=expected_version, now=now)
    resync(session=session, vendor_ids=[vendor.id], registry=registry, now=now)
    return vendor


def _vendors_covering(session: Session, system_id: int) -> set[int]:
    return set(session.scalars(sa.select(Contract.vendor_id).join(ContractSystem).where(ContractSystem.system_id == system_id)))


def create_system(*, session: Session, data: dict[str, Any], registry: PolicyRegistry, now: datetime) -> System:
    return service.create_system(session=session, data=data, now=now)  # no contract covers it yet


def update_system(*, session: Session, system_id: int, data: dict[str, Any], expected_version: int | None,
                  registry: PolicyRegistry, now: datetime) -> System:
    system = service.update_system(session=session, system_id=system_id, data=data, expected_version=expected_version, now=now)
    resync(session=session, vendor_ids=_vendors_covering(session, system.id), registry=registry, now=now)
    return system


def create_contract(*, session: Session, data: dict[str, Any], registry: PolicyRegistry, clauses: ClauseCatalogue,
                    now: datetime) -> Contract:
    contract = service.create_contract(session=session, data=data, catalogue=clauses, now=now)
    resync(session=session, vendor_ids=[contract.vendor_id], registry=registry, now=now)
    return contract


def update_contract(*, session: Session, contract_id: int, data: dict[str, Any], expected_version: int | None,
                    registry: PolicyRegistry, clauses: ClauseCatalogue, now: datetime) -> Contract:
    before = session.scalar(sa.select(Contract.vendor_id).where(Contract.id == contract_id))
    contract = service.update_contract(session=session, contract_id=contract_id, data=data,
                                       expected_version=expected_version, catalogue=clauses, now=now)
    resync(session=session, vendor_ids={before, contract.vendor_id} - {None}, registry=registry, now=now)
    return contract
