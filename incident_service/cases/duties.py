"""Vendor duties as use cases: completing one (its findings become remediation actions), reviewing a vendor's
access (which completes the access review), ending a contract (its checklist and clock), and keeping a vendor's
duties in line after its records change."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incident_service.database import jsonable
from incident_service.errors import Conflict, NotFound, ValidationFailed
from incident_service.incidents.models import Remediation, RemediationAction, RemediationStatus
from incident_service.reporting.duties import sync_vendor_duties, vendors_owing_duties
from incident_service.reporting.policy import PolicyRegistry
from incident_service.vendors import access, termination as terminations
from incident_service.vendors.access import AccessGrant, AccessReview, AccessReviewItem
from incident_service.vendors.duties import VendorDuty
from incident_service.vendors.models import Contract, Vendor


def get_duty(*, session: Session, duty_id: int) -> VendorDuty:
    duty = session.get(VendorDuty, duty_id)
    if duty is None:
        raise NotFound(f"Duty {duty_id} does not exist.")
    return duty


def resync(*, session: Session, vendor_ids: list[int] | set[int], registry: PolicyRegistry, now: datetime) -> None:
    """After a change to vendors' records: their duties follow (commits)."""
    for vendor_id in sorted(set(vendor_ids)):
        sync_vendor_duties(session=session, vendor_id=vendor_id, registry=registry, now=now)
    session.commit()


def sync_all_duties(*, session: Session, registry: PolicyRegistry, now: datetime) -> int:
    """The engine's hourly pass: every vendor's duties brought in line (new occurrences as time passes, such as a
    certificate entering its warning window). One vendor at a time, each committed; a vendor another engine is
    syncing at the same moment (the occurrence's unique key) is left to that engine."""
    synced = 0
    for vendor_id in vendors_owing_duties(session):
        try:
            sync_vendor_duties(session=session, vendor_id=vendor_id, registry=registry, now=now)
            session.commit()
            synced += 1
        except IntegrityError:
            session.rollback()
    return synced


def _complete(session: Session, duty: VendorDuty, *, completed_at: datetime, evidence: str, findings: str | None,
              actor: str, now: datetime) -> None:
    if duty.completed_at is not None:
        raise Conflict(f"This duty was completed on {jsonable(duty.completed_at)} by {duty.completed_by}.", code="completed")
    errors: dict[str, list[str]] = {}
    if completed_at > now:
        errors["completed_at"] = ["A duty cannot be completed in the future."]
    earlier = session.scalar(sa.select(sa.func.max(VendorDuty.completed_at)).where(
        VendorDuty.kind == duty.kind, VendorDuty.subject_ref == duty.subject_ref))
    if earlier is not None and completed_at <= earlier:
        errors["completed_at"] = [f"The previous completion was on {jsonable(earlier)}: this one must come after it."]
    if not (evidence or "").strip():
        errors["evidence"] = ["Give the evidence: the report's reference, or the file's."]
    if errors:
        raise ValidationFailed(errors)
    duty.completed_at, duty.completed_by, duty.recorded_at = completed_at, actor, now
    duty.evidence, duty.findings = evidence.strip(), (findings or None)
    duty.updated_at = now


def complete_duty(*, session: Session, duty_id: int, completed_at: datetime, evidence: str, findings: str | None,
                  actions: list[dict[str, Any]], actor: str, registry: PolicyRegistry, now: datetime) -> VendorDuty:
    """Record that a duty was done (when, the evidence, what was found). Its clock stops (met, or met late after the
    due time) and the next occurrence starts; each finding to act on becomes a remediation action."""
    duty = get_duty(session=session, duty_id=duty_id)
    if duty.kind == "termination":
        raise Conflict("A termination completes when every item of its checklist is settled.", code="checklist")
    _complete(session, duty, completed_at=completed_at, evidence=evidence, findings=findings, actor=actor, now=now)
    for action in actions:
        session.add(Remediation(duty_id=duty.id, status=RemediationStatus.planned, created_at=now, updated_at=now,
                                **{"action": RemediationAction.other, **action}))
    sync_vendor_duties(session=session, vendor_id=duty.vendor_id, registry=registry, now=now)
    session.commit()
    return duty


def open_duty(session: Session, *, vendor_id: int, kind: str, contract_id: int | None = None) -> VendorDuty | None:
    """The running occurrence of a duty (not completed)."""
    stmt = sa.select(VendorDuty).where(VendorDuty.vendor_id == vendor_id, VendorDuty.kind == kind,
                                       VendorDuty.completed_at.is_(None)).order_by(VendorDuty.anchor_at.desc())
    if contract_id is not None:
        stmt = stmt.where(VendorDuty.contract_id == contract_id)
    return session.scalars(stmt).first()


def last_duty(session: Session, *, vendor_id: int, kind: str, contract_id: int | None = None) -> VendorDuty | None:
    """The latest occurrence of a duty, completed or not."""
    stmt = sa.select(VendorDuty).where(VendorDuty.vendor_id == vendor_id, VendorDuty.kind == kind).order_by(
        VendorDuty.anchor_at.desc(), VendorDuty.id.desc())
    if contract_id is not None:
        stmt = stmt.where(VendorDuty.contract_id == contract_id)
    return session.scalars(stmt).first()


# -- the access register ---------------------------------------------------------------------------------------

def grant_access(*, session: Session, vendor_id: int, data: dict[str, Any], registry: PolicyRegistry, now: datetime) -> AccessGrant:
    grant = access.add_grant(session=session, vendor_id=vendor_id, data=data, now=now)
    sync_vendor_duties(session=session, vendor_id=vendor_id, registry=registry, now=now)  # the access review may start
    session.commit()
    return grant


def revoke_access(*, session: Session, grant_id: int, reason: str, actor: str, registry: PolicyRegistry, now: datetime) -> AccessGrant:
    grant = access.get_grant(session=session, grant_id=grant_id)
    if not access.revoke_grant(grant, actor=actor, reason=reason, now=now):
        raise Conflict(f"This access was already revoked on {jsonable(grant.revoked_at)}.", code="revoked")
    sync_vendor_duties(session=session, vendor_id=grant.vendor_id, registry=registry, now=now)
    session.commit()
    return grant


def review_access(*, session: Session, vendor_id: int, decisions: list[dict[str, Any]], reviewed_at: datetime,
                  note: str | None, actor: str, registry: PolicyRegistry, now: datetime) -> AccessReview:
    """Review every grant the vendor holds: each kept or revoked. The review completes the access review duty."""
    if session.get(Vendor, vendor_id) is None:
        raise NotFound(f"Vendor {vendor_id} does not exist.")
    today = reviewed_at.astimezone(registry.zone).date()
    held = {g.id: g for g in session.scalars(access.grants_query(vendor_id=vendor_id, include_revoked=False))
            if g.starts_on <= today}
    decided = {d["grant_id"]: d for d in decisions}
    errors: dict[str, list[str]] = {}
    if reviewed_at > now:
        errors["reviewed_at"] = ["A review cannot happen in the future."]
    if missing := sorted(set(held) - set(decided)):
        errors["decisions"] = [f"Decide every grant the vendor holds; missing: {', '.join(f'#{i}' for i in missing)}."]
    if stray := sorted(set(decided) - set(held)):
        errors.setdefault("decisions", []).append(f"Not held by this vendor now: {', '.join(f'#{i}' for i in stray)}.")
    if errors:
        raise ValidationFailed(errors)
    review = AccessReview(vendor_id=vendor_id, reviewed_at=reviewed_at, reviewed_by=actor, note=note, created_at=now,
                          items=[AccessReviewItem(grant_id=i, keep=d["keep"], note=d.get("note")) for i, d in sorted(decided.items())])
    session.add(review)
    for grant_id, decision in decided.items():
        if not decision["keep"]:
            access.revoke_grant(held[grant_id], actor=actor, reason=decision.get("note") or "revoked at the access review", now=now)
    session.flush()
    duty = open_duty(session, vendor_id=vendor_id, kind="access_review")
    if duty is not None:
        _complete(session, duty, completed_at=reviewed_at, evidence=f"access review #{review.id}", findings=note,
                  actor=actor, now=now)
        review.duty_id = duty.id
    sync_vendor_duties(session=session, vendor_id=vendor_id, registry=registry, now=now)
    session.commit()
    return review


# -- ending a contract -------------------------------------------------------------------------------------------

def terminate_contract(*, session: Session, contract_id: int, ends_on: date, reason: str | None, successor: str | None,
                       actor: str, registry: PolicyRegistry, now: datetime) -> terminations.Termination:
    """End a contract: its checklist opens with its own clock (the termination duty)."""
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"Contract {contract_id} does not exist.")
    termination = terminations.start_termination(session=session, contract=contract, ends_on=ends_on, reason=reason,
                                                 successor=successor, actor=actor, now=now)
    sync_vendor_duties(session=session, vendor_id=contract.vendor_id, registry=registry, now=now)
    session.commit()
    return termination


def contract_grants(session: Session, contract: Contract) -> list[AccessGrant]:
    """The grants the vendor holds on the systems this contract covers."""
    systems = [link.system_id for link in contract.covered]
    return list(session.scalars(sa.select(AccessGrant).where(
        AccessGrant.vendor_id == contract.vendor_id, AccessGrant.system_id.in_(systems), AccessGrant.revoked_at.is_(None))))


def settle_termination_item(*, session: Session, contract_id: int, key: str, reference: str | None, not_applicable: bool,
                            note: str | None, actor: str, registry: PolicyRegistry, now: datetime) -> terminations.Termination:
    """Settle one checklist item. Access is revoked from the register (every grant on the contract's systems) when
    its item is settled; when the last item is settled, the termination duty is complete."""
    termination = terminations.get_termination(session=session, contract_id=contract_id)
    if key == "access_revoked" and not not_applicable:
        for grant in contract_grants(session, termination.contract):
            access.revoke_grant(grant, actor=actor, reason="contract terminated", now=now)
    terminations.settle_item(termination, key=key, reference=reference, not_applicable=not_applicable, note=note,
                             actor=actor, now=now)
    if termination.completed_at is not None:
        duty = open_duty(session, vendor_id=termination.vendor_id, kind="termination", contract_id=contract_id)
        if duty is not None:
            _complete(session, duty, completed_at=now, evidence=f"termination checklist of contract {termination.contract.reference}",
                      findings=None, actor=actor, now=now)
    sync_vendor_duties(session=session, vendor_id=termination.vendor_id, registry=registry, now=now)
    session.commit()
    return termination
