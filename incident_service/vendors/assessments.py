"""Due diligence of a vendor against the outsourcing security checklist (seed 000), reported to and approved by
management (seed 001 Art. 3): the answers per item, the assessor, the concentration figure (how many core systems
and contracts the vendor holds), where the service is provided, a result, and a supervisor's approval."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from incident_service.api_common import check_version
from incident_service.errors import Conflict, Forbidden, NotFound, ValidationFailed
from incident_service.extensions import db
from incident_service.phrases import N_
from incident_service.vendors.catalogues import Checklist
from incident_service.vendors.models import Contract, ContractSystem, System, Vendor


class ServiceLocation(str, enum.Enum):
    onshore = "onshore"  # 境內
    offshore = "offshore"  # 境外
    cloud = "cloud"  # a cloud region (named in service_region)


class AssessmentResult(str, enum.Enum):
    approved = "approved"
    conditional = "conditional"  # approved on conditions, written down
    rejected = "rejected"


class AnswerResult(str, enum.Enum):
    yes = "yes"
    no = "no"
    na = "na"


class VendorAssessment(db.Model):
    __tablename__ = "vendor_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendors.id"), index=True)
    assessed_on: Mapped[date]
    assessor: Mapped[str] = mapped_column(sa.String(120))  # who assessed (the user who records it)
    service_location: Mapped[ServiceLocation] = mapped_column(sa.Enum(ServiceLocation, native_enum=False, length=20))
    service_region: Mapped[str | None] = mapped_column(sa.String(200))  # e.g. 台北市內湖區, ap-northeast-1
    # The concentration figure, as of the assessment: what the firm would lose with this vendor.
    core_systems: Mapped[int]
    contracts_in_force: Mapped[int]
    result: Mapped[AssessmentResult] = mapped_column(sa.Enum(AssessmentResult, native_enum=False, length=20))
    conditions: Mapped[str | None] = mapped_column(sa.Text)  # what a conditional result requires
    summary: Mapped[str | None] = mapped_column(sa.Text)
    approved_by: Mapped[str | None] = mapped_column(sa.String(120))
    approved_at: Mapped[datetime | None]
    approval_note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)
    # Every UPDATE says WHERE version = <read>, and bumps it: two concurrent writers cannot both pass.
    __mapper_args__ = {"version_id_col": version}

    vendor: Mapped[Vendor] = relationship(lazy="joined")
    answers: Mapped[list[AssessmentAnswer]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                           order_by="AssessmentAnswer.position")

    __table_args__ = (sa.Index("ix_vendor_assessments_vendor_approved", "vendor_id", "approved_at"),)

    def age_days(self, today: date) -> int:
        return (today - self.assessed_on).days


class AssessmentAnswer(db.Model):
    __tablename__ = "vendor_assessment_answers"

    assessment_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor_assessments.id", ondelete="CASCADE"),
                                               primary_key=True)
    item_key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    position: Mapped[int]  # the item's place in the checklist
    applies: Mapped[bool]
    result: Mapped[AnswerResult | None] = mapped_column(sa.Enum(AnswerResult, native_enum=False, length=10))
    explanation: Mapped[str | None] = mapped_column(sa.Text)
    answered_on: Mapped[date | None]
    evidence: Mapped[str | None] = mapped_column(sa.String(500))

    @property
    def answered(self) -> bool:
        return self.result is not None


@dataclass(frozen=True)
class Concentration:
    core_systems: int
    contracts_in_force: int


def concentration(session: Session, *, vendor_id: int, on: date) -> Concentration:
    """How many core systems the vendor's contracts in force cover, and how many contracts are in force (one query)."""
    in_force = sa.and_(Contract.vendor_id == vendor_id, Contract.starts_on <= on,
                       sa.or_(Contract.ends_on.is_(None), Contract.ends_on >= on))
    core = (sa.select(sa.func.count(sa.distinct(ContractSystem.system_id)))
            .join(Contract, Contract.id == ContractSystem.contract_id).join(System, System.id == ContractSystem.system_id)
            .where(in_force, System.is_core.is_(True)).scalar_subquery())
    row = session.execute(sa.select(sa.func.count(Contract.id), core).where(in_force)).one()
    return Concentration(core_systems=row[1] or 0, contracts_in_force=row[0] or 0)


# -- recording and approving -----------------------------------------------------------------------------------

def get_assessment(*, session: Session, assessment_id: int) -> VendorAssessment:
    assessment = session.get(VendorAssessment, assessment_id)
    if assessment is None:
        raise NotFound(f"Assessment {assessment_id} does not exist.")
    return assessment


def assessments_query(*, vendor_id: int) -> sa.Select:
    return (sa.select(VendorAssessment).where(VendorAssessment.vendor_id == vendor_id)
            .options(selectinload(VendorAssessment.answers))
            .order_by(VendorAssessment.assessed_on.desc(), VendorAssessment.id.desc()))


def last_approved(session: Session, *, vendor_id: int) -> VendorAssessment | None:
    return session.scalar(
        sa.select(VendorAssessment).where(VendorAssessment.vendor_id == vendor_id, VendorAssessment.approved_at.is_not(None))
        .order_by(VendorAssessment.assessed_on.desc(), VendorAssessment.id.desc()).limit(1))


def _check_answers(given: list[dict[str, Any]], checklist: Checklist, today: date) -> dict[str, Any]:
    """Field errors of the answers given, by position in the list: unknown or doubled items, a result that does not
    fit ``applies``, a "no" without an explanation, a date in the future."""
    known = set(checklist.item_keys())
    errors: dict[str, Any] = {}
    seen: set[str] = set()
    for index, answer in enumerate(given):
        problems: dict[str, list[str]] = {}
        key = answer["item"]
        if key not in known:
            problems["item"] = [f"{key!r} is not an item of the checklist; GET /api/v1/checklists/outsourcing lists them."]
        elif key in seen:
            problems["item"] = [f"{key!r} is answered twice."]
        seen.add(key)
        result = answer.get("result")
        applies = answer.get("applies", True)
        if not applies and result not in (None, AnswerResult.na.value):
            problems["result"] = [N_("An item that does not apply is answered na.")]
        if applies and result == AnswerResult.na.value:
            problems["result"] = [N_("An item that applies is answered yes or no; set applies to false otherwise.")]
        if result == AnswerResult.no.value and not (answer.get("explanation") or "").strip():
            problems["explanation"] = [N_("Explain a no: what is missing and what is done about it.")]
        if answer.get("answered_on") and answer["answered_on"] > today:
            problems["answered_on"] = [N_("An answer cannot be dated in the future.")]
        if problems:
            errors[str(index)] = problems
    return errors


def _apply_answers(assessment: VendorAssessment, given: list[dict[str, Any]], checklist: Checklist,
                   vendor_category: str) -> None:
    """Every item of the checklist gets a row: those given as given, others kept (or, new, applying by the vendor's
    category and not answered yet)."""
    by_key = {a.item_key: a for a in assessment.answers}
    for position, item in enumerate(checklist.items()):
        if item.key not in by_key:
            applies = checklist.applies_by_default(item, vendor_category)
            row = AssessmentAnswer(item_key=item.key, position=position, applies=applies,
                                   result=None if applies else AnswerResult.na)
            assessment.answers.append(row)
            by_key[item.key] = row
    for answer in given:
        row = by_key[answer["item"]]
        row.applies = answer.get("applies", True)
        result = answer.get("result")
        row.result = AnswerResult(result) if result else (None if row.applies else AnswerResult.na)
        row.explanation = answer.get("explanation")
        row.answered_on = answer.get("answered_on")
        row.evidence = answer.get("evidence")


def _check_result(data: dict[str, Any]) -> dict[str, list[str]]:
    if data.get("result") == AssessmentResult.conditional.value and not (data.get("conditions") or "").strip():
        return {"conditions": [N_("A conditional result says its conditions.")]}
    return {}


def record_assessment(*, session: Session, vendor_id: int, data: dict[str, Any], checklist: Checklist, actor: str,
                      now: datetime, today: date) -> VendorAssessment:
    """A new assessment of a vendor (not yet approved). Commits once."""
    vendor = session.get(Vendor, vendor_id)
    if vendor is None:
        raise NotFound(f"Vendor {vendor_id} does not exist.")
    data = dict(data)
    answers = data.pop("answers", [])
    errors = _check_answers(answers, checklist, today)
    errors = ({"answers": errors} if errors else {}) | _check_result(data)
    if data["assessed_on"] > today:
        errors["assessed_on"] = [N_("An assessment cannot be dated in the future.")]
    if errors:
        raise ValidationFailed(errors)
    figure = concentration(session, vendor_id=vendor_id, on=data["assessed_on"])
    assessment = VendorAssessment(vendor_id=vendor_id, assessor=actor, core_systems=figure.core_systems,
                                  contracts_in_force=figure.contracts_in_force, created_at=now, updated_at=now,
                                  **{k: v for k, v in data.items() if k != "result"})
    assessment.result = AssessmentResult(data["result"])
    assessment.service_location = ServiceLocation(data["service_location"])
    _apply_answers(assessment, answers, checklist, vendor.category.value)
    session.add(assessment)
    session.commit()
    return assessment


def update_assessment(*, session: Session, assessment_id: int, data: dict[str, Any], expected_version: int | None,
                      checklist: Checklist, now: datetime, today: date) -> VendorAssessment:
    """Change an assessment before its approval: the answers given replace those items' answers. Commits once."""
    assessment = get_assessment(session=session, assessment_id=assessment_id)
    if assessment.approved_at is not None:
        raise Conflict(f"This assessment was approved by {assessment.approved_by}; record a new one instead.",
                       code="approved")
    check_version(assessment, expected_version)
    data = dict(data)
    answers = data.pop("answers", [])
    errors = _check_answers(answers, checklist, today)
    merged = {"result": (data.get("result") or assessment.result.value),
              "conditions": data.get("conditions", assessment.conditions)}
    errors = ({"answers": errors} if errors else {}) | _check_result(merged)
    if data.get("assessed_on") and data["assessed_on"] > today:
        errors["assessed_on"] = ["An assessment cannot be dated in the future."]
    if errors:
        raise ValidationFailed(errors)
    for name, value in data.items():
        if name == "result":
            value = AssessmentResult(value)
        elif name == "service_location":
            value = ServiceLocation(value)
        setattr(assessment, name, value)
    _apply_answers(assessment, answers, checklist, assessment.vendor.category.value)
    assessment.updated_at = now
    session.commit()
    return assessment


def approve_assessment(*, session: Session, assessment_id: int, actor: str, note: str | None,
                       now: datetime) -> VendorAssessment:
    """Management's approval (seed 001 Art. 3): by someone other than the assessor, once every item is answered."""
    assessment = get_assessment(session=session, assessment_id=assessment_id)
    if assessment.approved_at is not None:
        raise Conflict(f"This assessment was already approved by {assessment.approved_by}.", code="approved")
    if assessment.assessor == actor:
        raise Forbidden(f"{actor} made this assessment, so someone else approves it (four eyes).",
                        errors={"approved_by": ["The assessor cannot approve their own assessment."]}, code="own_assessment")
    unanswered = [a.item_key for a in assessment.answers if a.applies and a.result is None]
    if unanswered:
        raise Conflict(f"{len(unanswered)} item(s) of the checklist are not answered yet.", code="unanswered",
                       errors={"answers": [f"Not answered: {', '.join(unanswered)}."]})
    assessment.approved_by, assessment.approved_at, assessment.approval_note = actor, now, note
    assessment.updated_at = now
    session.commit()
    return assessment
