"""Ending a contract (seed 001 Art. 8): access revoked at once, the firm's information assets returned or destroyed
(with a certificate), the service moved to a successor, confidentiality confirmed. A checklist with its own clock
(the ``termination`` duty), shown on the vendor page until every item is done."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from incident_service.errors import Conflict, NotFound, ValidationFailed
from incident_service.extensions import db
from incident_service.vendors.models import Contract

# The checklist, in order: (key, zh, en, what closing the item records).
TERMINATION_ITEMS = (
    ("access_revoked", "收回實體與邏輯存取權限", "Physical and logical access revoked",
     "every grant of the vendor on the contract's systems revoked (from the access register)"),
    ("assets_returned", "資訊資產歸還或銷毀（銷毀證明）", "Information assets returned or destroyed (certificate)",
     "the certificate's reference"),
    ("successor_transfer", "移轉至證券商或其他供應商", "Transfer to the firm or a successor",
     "how and to whom, or not applicable"),
    ("confidentiality_confirmed", "確認持續遵守保密承諾", "Confidentiality confirmed after the end",
     "the signed confirmation's reference"),
)
ITEM_KEYS = tuple(key for key, *_ in TERMINATION_ITEMS)
ITEM_TITLES = {key: (zh, en) for key, zh, en, _ in TERMINATION_ITEMS}


class Termination(db.Model):
    __tablename__ = "contract_terminations"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), unique=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendors.id"), index=True)
    ends_on: Mapped[date]  # the contract's last day
    reason: Mapped[str | None] = mapped_column(sa.Text)
    successor: Mapped[str | None] = mapped_column(sa.String(200))
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(sa.String(120))
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    contract: Mapped[Contract] = relationship()
    items: Mapped[list[TerminationItem]] = relationship(cascade="all, delete-orphan", order_by="TerminationItem.position",
                                                        lazy="selectin")


class TerminationItem(db.Model):
    __tablename__ = "contract_termination_items"

    termination_id: Mapped[int] = mapped_column(sa.ForeignKey("contract_terminations.id", ondelete="CASCADE"),
                                                primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    position: Mapped[int]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(sa.String(120))
    reference: Mapped[str | None] = mapped_column(sa.String(200))  # e.g. the destruction certificate
    not_applicable: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def title_zh(self) -> str:
        return ITEM_TITLES[self.key][0]

    @property
    def title_en(self) -> str:
        return ITEM_TITLES[self.key][1]


def get_termination(*, session: Session, contract_id: int) -> Termination:
    termination = session.scalar(sa.select(Termination).where(Termination.contract_id == contract_id))
    if termination is None:
        raise NotFound(f"Contract {contract_id} has no termination.")
    return termination


def start_termination(*, session: Session, contract: Contract, ends_on: date, reason: str | None, successor: str | None,
                      actor: str, now: datetime) -> Termination:
    """End the contract on ``ends_on`` and open its checklist (flushes). A contract is terminated once."""
    if session.scalar(sa.select(Termination.id).where(Termination.contract_id == contract.id)):
        raise Conflict("This contract's termination is already under way.", code="already_terminating")
    if ends_on < contract.starts_on:
        raise ValidationFailed({"ends_on": [f"The contract started on {contract.starts_on}: it cannot end before."]})
    if contract.ends_on is None or ends_on < contract.ends_on:
        contract.ends_on = ends_on
        contract.updated_at = now
    termination = Termination(contract_id=contract.id, vendor_id=contract.vendor_id, ends_on=ends_on, reason=reason,
                              successor=successor, started_at=now, started_by=actor, created_at=now,
                              items=[TerminationItem(key=key, position=n) for n, key in enumerate(ITEM_KEYS)])
    session.add(termination)
    session.flush()
    return termination


def settle_item(termination: Termination, *, key: str, reference: str | None, not_applicable: bool, note: str | None,
                actor: str, now: datetime) -> TerminationItem:
    """Mark one checklist item done (or not applicable, with a note saying why)."""
    item = next((i for i in termination.items if i.key == key), None)
    if item is None:
        raise ValidationFailed({"item": [f"Unknown checklist item {key!r}; the items are {', '.join(ITEM_KEYS)}."]})
    if item.done_at is not None:
        raise Conflict(f"The item {key!r} was already settled by {item.done_by}.", code="already_done")
    if not_applicable and not (note or "").strip():
        raise ValidationFailed({"note": ["Say why the item does not apply."]})
    if not not_applicable and key in ("assets_returned", "confidentiality_confirmed") and not (reference or "").strip():
        raise ValidationFailed({"reference": ["Give the reference of the certificate or the signed confirmation."]})
    item.done_at, item.done_by = now, actor
    item.reference, item.not_applicable, item.note = (reference or None), not_applicable, (note or None)
    if all(i.done_at is not None for i in termination.items):
        termination.completed_at = now
    return item
