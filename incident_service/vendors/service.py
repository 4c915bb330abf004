"""Use cases for vendors, systems and contracts. Each commits once; helpers only flush."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from incident_service.api_common import check_version
from incident_service.database import apply_changes
from incident_service.errors import Conflict, NotFound, ValidationFailed
from incident_service.vendors.catalogues import ClauseCatalogue
from incident_service.vendors.clauses import reconcile_linked_fields, record_clauses
from incident_service.vendors.models import Certification, Contract, ContractSystem, System, Vendor


# -- vendors -----------------------------------------------------------------------------------

def get_vendor(*, session: Session, vendor_id: int) -> Vendor:
    vendor = session.get(Vendor, vendor_id)
    if vendor is None:
        raise NotFound(f"Vendor {vendor_id} does not exist.")
    return vendor


def vendors_query(*, category=None, q: str | None = None, is_active: bool | None = None) -> sa.Select:
    stmt = sa.select(Vendor).options(selectinload(Vendor.certifications)).order_by(Vendor.name)
    if category is not None:
        stmt = stmt.where(Vendor.category == category)
    if is_active is not None:
        stmt = stmt.where(Vendor.is_active == is_active)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(sa.or_(Vendor.name.ilike(like), Vendor.tax_id.ilike(like)))
    return stmt


def _check_vendor_unique(session: Session, data: dict, vendor_id: int | None = None) -> None:
    errors: dict[str, list[str]] = {}
    for field in ("name", "tax_id"):
        value = data.get(field)
        if value is None:
            continue
        clash = session.scalar(sa.select(Vendor.id).where(getattr(Vendor, field) == value, Vendor.id != (vendor_id or 0)))
        if clash:
            errors[field] = [f"Vendor {clash} already has this {field.replace('_', ' ')}."]
    if errors:
        raise Conflict("Another vendor has the same name or tax id.", errors=errors, code="duplicate")


def _set_certifications(vendor: Vendor, certifications: list[dict]) -> None:
    """The vendor's certifications as given. One already held (same name) keeps its row, so the duties that watch
    its expiry keep following the same certificate; a renewal is a new end date on it."""
    held = {c.name: c for c in vendor.certifications}
    kept = []
    for given in certifications:
        cert = held.pop(given["name"], None) or Certification(name=given["name"])
        cert.expires_on = given.get("expires_on")
        kept.append(cert)
    vendor.certifications = kept


def create_vendor(*, session: Session, data: dict[str, Any], now: datetime) -> Vendor:
    data = dict(data)
    _check_vendor_unique(session, data)
    certifications = data.pop("certifications", [])
    vendor = Vendor(**data, created_at=now, updated_at=now)
    vendor.subcontractors = data.get("subcontractors") or []
    _set_certifications(vendor, certifications)
    session.add(vendor)
    session.commit()
    return vendor


def update_vendor(*, session: Session, vendor_id: int, data: dict[str, Any], expected_version: int | None, now: datetime) -> Vendor:
    vendor = get_vendor(session=session, vendor_id=vendor_id)
    check_version(vendor, expected_version)
    data = dict(data)
    _check_vendor_unique(session, data, vendor_id)
    certifications = data.pop("certifications", None)
    changes = apply_changes(vendor, data)
    if certifications is not None:
        _set_certifications(vendor, certifications)
        changes["certifications"] = ["", "replaced"]
    if changes:
        vendor.updated_at = now
    session.commit()
    return vendor


# -- systems -----------------------------------------------------------------------------------

def get_system(*, session: Session, system_id: int) -> System:
    system = session.get(System, system_id)
    if system is None:
        raise NotFound(f"System {system_id} does not exist.")
    return system


def systems_query(*, is_core: bool | None = None, q: str | None = None) -> sa.Select:
    stmt = sa.select(System).order_by(System.name)
    if is_core is not None:
        stmt = stmt.where(System.is_core == is_core)
    if q:
        stmt = stmt.where(System.name.ilike(f"%{q}%"))
    return stmt


def _check_system_unique(session: Session, name: str | None, system_id: int | None = None) -> None:
    if name is None:
        return
    clash = session.scalar(sa.select(System.id).where(System.name == name, System.id != (system_id or 0)))
    if clash:
        raise Conflict("Another system has this name.", errors={"name": [f"System {clash} already has this name."]}, code="duplicate")


def create_system(*, session: Session, data: dict[str, Any], now: datetime) -> System:
    _check_system_unique(session, data.get("name"))
    system = System(**data, created_at=now, updated_at=now)
    session.add(system)
    session.commit()
    return system


def update_system(*, session: Session, system_id: int, data: dict[str, Any], expected_version: int | None, now: datetime) -> System:
    system = get_system(session=session, system_id=system_id)
    check_version(system, expected_version)
    _check_system_unique(session, data.get("name"), system_id)
    if apply_changes(system, data):
        system.updated_at = now
    session.commit()
    return system


def load_systems(session: Session, system_ids: list[int], field: str = "system_ids") -> list[System]:
    """The systems named by id, in the order given; every unknown id is a field error."""
    unique_ids = list(dict.fromkeys(system_ids))
    found = {s.id: s for s in session.scalars(sa.select(System).where(System.id.in_(unique_ids)))} if unique_ids else {}
    missing = [i for i in unique_ids if i not in found]
    if missing:
        raise ValidationFailed({field: [f"System {i} does not exist." for i in missing]})
    return [found[i] for i in unique_ids]


# -- contracts ---------------------------------------------------------------------------------

def get_contract(*, session: Session, contract_id: int) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"Contract {contract_id} does not exist.")
    return contract


def contracts_query(*, vendor_id: int | None = None, system_id: int | None = None, active_on: date | None = None) -> sa.Select:
    stmt = sa.select(Contract).order_by(Contract.vendor_id, Contract.starts_on, Contract.id)
    if vendor_id is not None:
        stmt = stmt.where(Contract.vendor_id == vendor_id)
    if system_id is not None:
        stmt = stmt.where(Contract.covered.any(ContractSystem.system_id == system_id))
    if active_on is not None:
        stmt = stmt.where(Contract.starts_on <= active_on, sa.or_(Contract.ends_on.is_(None), Contract.ends_on >= active_on))
    return stmt


def _validate_contract(session: Session, contract: Contract, system_ids: list[int] | None, service_levels: list[dict] | None) -> None:
    errors: dict[str, list[str]] = {}
    if session.get(Vendor, contract.vendor_id) is None:
        errors["vendor_id"] = [f"Vendor {contract.vendor_id} does not exist."]
    if contract.ends_on is not None and contract.starts_on is not None and contract.ends_on < contract.starts_on:
        errors["ends_on"] = ["The contract cannot end before it starts."]
    if service_levels:
        covered = set(system_ids if system_ids is not None else [link.system_id for link in contract.covered])
        stray = [sl["system_id"] for sl in service_levels if sl["system_id"] not in covered]
        if stray:
            errors["service_levels"] = [f"System {i} is not among the contract's systems." for i in stray]
    if errors:
        raise ValidationFailed(errors)
    clash = session.scalar(
        sa.select(Contract.id).where(
            Contract.vendor_id == contract.vendor_id, Contract.reference == contract.reference, Contract.id != (contract.id or 0)
        )
    )
    if clash:
        raise Conflict("This vendor already has a contract with this reference.", errors={"reference": [f"Contract {clash} has it."]}, code="duplicate")


def _set_covered(session: Session, contract: Contract, system_ids: list[int] | None, service_levels: list[dict] | None) -> bool:
    if system_ids is None and service_levels is None:
        return False
    if system_ids is None:
        system_ids = [link.system_id for link in contract.covered]
    systems = load_systems(session, system_ids)
    levels = {sl["system_id"]: sl for sl in (service_levels or [])}
    if service_levels is None:  # keep the committed levels of systems that stay covered
        levels = {link.system_id: {"rto_minutes": link.rto_minutes, "rpo_minutes": link.rpo_minutes} for link in contract.covered}
    contract.covered = [
        ContractSystem(
            system=system,
            system_id=system.id,
            rto_minutes=levels.get(system.id, {}).get("rto_minutes"),
            rpo_minutes=levels.get(system.id, {}).get("rpo_minutes"),
        )
        for system in systems
    ]
    return True


def _set_clauses(contract: Contract, *, given: list[dict] | None, fields_given: set[str], catalogue: ClauseCatalogue) -> bool:
    """Record the clauses given and keep the contract's fields that repeat a clause consistent with them."""
    recorded = record_clauses(contract, given or [], catalogue)
    added = reconcile_linked_fields(contract, recorded, fields_given=fields_given,
                                    clauses_given={entry["key"] for entry in given or []})
    return bool(given) or bool(added)


def create_contract(*, session: Session, data: dict[str, Any], catalogue: ClauseCatalogue, now: datetime) -> Contract:
    data = dict(data)
    system_ids = data.pop("system_ids", [])
    service_levels = data.pop("service_levels", None)
    clauses = data.pop("clauses", None)
    contract = Contract(**data, created_at=now, updated_at=now)
    _validate_contract(session, contract, system_ids, service_levels)
    with session.no_autoflush:
        _set_covered(session, contract, system_ids, service_levels)
        _set_clauses(contract, given=clauses, fields_given=set(data), catalogue=catalogue)
    session.add(contract)
    session.commit()
    return contract


def update_contract(*, session: Session, contract_id: int, data: dict[str, Any], expected_version: int | None,
                    catalogue: ClauseCatalogue, now: datetime) -> Contract:
    contract = get_contract(session=session, contract_id=contract_id)
    check_version(contract, expected_version)
    data = dict(data)
    system_ids = data.pop("system_ids", None)
    service_levels = data.pop("service_levels", None)
    clauses = data.pop("clauses", None)
    with session.no_autoflush:
        changes = apply_changes(contract, data)
        _validate_contract(session, contract, system_ids, service_levels)
        if _set_covered(session, contract, system_ids, service_levels):
            changes["covered_systems"] = ["", "replaced"]
        if _set_clauses(contract, given=clauses, fields_given=set(data), catalogue=catalogue):
            changes["clauses"] = ["", "recorded"]
    if changes:
        contract.updated_at = now
    session.commit()
    return contract
