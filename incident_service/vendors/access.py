"""The vendor access register (seed 001 Art. 5): who at the vendor holds which access to which system, approved by
whom, since and until when, with MFA or not; and the findings read off it. Access is reviewed at least every six
months (the ``access_review`` duty) and revoked at once when a contract ends (Art. 5-2, Art. 8)."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from incident_service.errors import NotFound, ValidationFailed
from incident_service.extensions import db
from incident_service.vendors.models import Contract, System, Vendor


class AccessKind(str, enum.Enum):
    remote = "remote"
    onsite = "onsite"
    privileged = "privileged"


class AccessGrant(db.Model):
    __tablename__ = "vendor_access_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendors.id"), index=True)
    person: Mapped[str] = mapped_column(sa.String(120))
    system_id: Mapped[int] = mapped_column(sa.ForeignKey("systems.id"), index=True)
    access: Mapped[AccessKind] = mapped_column(sa.Enum(AccessKind, native_enum=False, length=20))
    mfa: Mapped[bool] = mapped_column(default=False)
    approved_by: Mapped[str] = mapped_column(sa.String(120))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(sa.Text)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(120))
    revoke_reason: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)
    # Every UPDATE says WHERE version = <read>, and bumps it: two concurrent writers cannot both pass.
    __mapper_args__ = {"version_id_col": version}

    vendor: Mapped[Vendor] = relationship()
    system: Mapped[System] = relationship(lazy="joined")

    def is_active(self, today: date) -> bool:
        """Held today: started, not revoked (an end date passed does not revoke it — that is a finding)."""
        return self.revoked_at is None and self.starts_on <= today


class AccessReview(db.Model):
    """A review of every grant the vendor holds: each kept or revoked, by whom and when."""

    __tablename__ = "vendor_access_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendors.id"), index=True)
    reviewed_at: Mapped[datetime]
    reviewed_by: Mapped[str] = mapped_column(sa.String(120))
    note: Mapped[str | None] = mapped_column(sa.Text)
    duty_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vendor_duties.id"))  # the occurrence it completed
    created_at: Mapped[datetime]

    items: Mapped[list[AccessReviewItem]] = relationship(cascade="all, delete-orphan", order_by="AccessReviewItem.grant_id")


class AccessReviewItem(db.Model):
    __tablename__ = "vendor_access_review_items"

    review_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor_access_reviews.id", ondelete="CASCADE"), primary_key=True)
    grant_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor_access_grants.id"), primary_key=True)
    keep: Mapped[bool]
    note: Mapped[str | None] = mapped_column(sa.String(500))

    grant: Mapped[AccessGrant] = relationship(lazy="joined")


# -- findings ----------------------------------------------------------------------------------------------

class FindingKind(str, enum.Enum):
    remote_without_mfa = "remote_without_mfa"
    past_end_date = "past_end_date"
    past_contract_end = "past_contract_end"


FINDING_WORDS = {
    FindingKind.remote_without_mfa: ("遠端存取未使用多因子驗證", "Remote access without MFA"),
    FindingKind.past_end_date: ("存取權限已逾期限仍未收回", "Access past its end date, not revoked"),
    FindingKind.past_contract_end: ("合約已結束仍保有存取權限", "Access past the end of the contract, not revoked"),
}


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    vendor_id: int
    grant_id: int
    person: str
    system_id: int
    system: str
    access: str
    since: date  # when it became a finding
    message_zh: str
    message_en: str


def _finding(kind: FindingKind, grant: AccessGrant, since: date) -> Finding:
    zh, en = FINDING_WORDS[kind]
    return Finding(kind=kind, vendor_id=grant.vendor_id, grant_id=grant.id, person=grant.person, system_id=grant.system_id,
                   system=grant.system.name, access=grant.access.value, since=since,
                   message_zh=f"{zh}：{grant.person}（{grant.system.name}）", message_en=f"{en}: {grant.person} ({grant.system.name})")


def contract_end_for(grant: AccessGrant, contracts: list[Contract]) -> date | None:
    """The last day a contract of the vendor covers the grant's system; None while one runs without an end."""
    covering = [c for c in contracts if c.vendor_id == grant.vendor_id and any(link.system_id == grant.system_id for link in c.covered)]
    if not covering or any(c.ends_on is None for c in covering):
        return None
    return max(c.ends_on for c in covering)


def findings_of(grants: list[AccessGrant], contracts: list[Contract], today: date) -> list[Finding]:
    """The open findings of these grants as of ``today`` (the firm's date)."""
    found: list[Finding] = []
    for grant in grants:
        if not grant.is_active(today):
            continue
        if grant.access == AccessKind.remote and not grant.mfa:
            found.append(_finding(FindingKind.remote_without_mfa, grant, grant.starts_on))
        if grant.ends_on is not None and grant.ends_on < today:
            found.append(_finding(FindingKind.past_end_date, grant, grant.ends_on))
        contract_end = contract_end_for(grant, contracts)
        if contract_end is not None and contract_end < today:
            found.append(_finding(FindingKind.past_contract_end, grant, contract_end))
    return sorted(found, key=lambda f: (f.since, f.grant_id, f.kind.value))


def open_findings(session: Session, *, today: date, vendor_id: int | None = None) -> list[Finding]:
    """The open findings of one vendor, or of every vendor (the board), in two queries."""
    grants_stmt = sa.select(AccessGrant).where(AccessGrant.revoked_at.is_(None), AccessGrant.starts_on <= today)
    if vendor_id is not None:
        grants_stmt = grants_stmt.where(AccessGrant.vendor_id == vendor_id)
    grants = list(session.scalars(grants_stmt.order_by(AccessGrant.id)))
    vendor_ids = {g.vendor_id for g in grants}
    contracts = list(session.scalars(sa.select(Contract).where(Contract.vendor_id.in_(vendor_ids))
                                     .options(selectinload(Contract.covered)))) if vendor_ids else []
    return findings_of(grants, contracts, today)


# -- use within the vendors area (they flush; the use case commits) ------------------------------------------

def get_grant(*, session: Session, grant_id: int) -> AccessGrant:
    grant = session.get(AccessGrant, grant_id)
    if grant is None:
        raise NotFound(f"Access grant {grant_id} does not exist.")
    return grant


def grants_query(*, vendor_id: int, include_revoked: bool = True) -> sa.Select:
    stmt = sa.select(AccessGrant).where(AccessGrant.vendor_id == vendor_id).order_by(
        AccessGrant.revoked_at.is_not(None), AccessGrant.system_id, AccessGrant.person, AccessGrant.id)
    if not include_revoked:
        stmt = stmt.where(AccessGrant.revoked_at.is_(None))
    return stmt


def add_grant(*, session: Session, vendor_id: int, data: dict[str, Any], now: datetime) -> AccessGrant:
    """Record a grant of access (the approver named); refused when it ends before it starts or its system is unknown."""
    if session.get(Vendor, vendor_id) is None:
        raise NotFound(f"Vendor {vendor_id} does not exist.")
    errors: dict[str, list[str]] = {}
    if session.get(System, data.get("system_id")) is None:
        errors["system_id"] = [f"System {data.get('system_id')} does not exist."]
    if data.get("ends_on") is not None and data["ends_on"] < data["starts_on"]:
        errors["ends_on"] = ["Access cannot end before it starts."]
    if errors:
        raise ValidationFailed(errors)
    grant = AccessGrant(vendor_id=vendor_id, **data, created_at=now, updated_at=now)
    session.add(grant)
    session.flush()
    return grant


def revoke_grant(grant: AccessGrant, *, actor: str, reason: str, now: datetime) -> bool:
    """Revoke a grant (once; a revoked grant stays revoked). True when it was still held."""
    if grant.revoked_at is not None:
        return False
    grant.revoked_at, grant.revoked_by, grant.revoke_reason = now, actor, reason[:500]
    grant.updated_at = now
    return True
