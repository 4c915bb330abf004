"""The API's shapes for the vendor's life between incidents that the vendor area holds: the clause catalogue and the
gap report, the outsourcing checklist and due-diligence assessments, and vendor changes."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from incident_service.answer_schema import AnswerSchema
from incident_service.api_common import Line, StrictSchema, Text, UTCDateTimeField, VersionedUpdateSchema, request_now
from incident_service.vendors.assessments import AnswerResult, AssessmentResult, ServiceLocation
from incident_service.vendors.changes import ChangeState


# -- the clauses and the gap report ------------------------------------------------------------------------------

class ClauseSchema(AnswerSchema):
    key = ma.fields.String()
    number = ma.fields.String(metadata={"description": "the article's numbering, e.g. 4-1-1-7"})
    basic = ma.fields.Integer(allow_none=True, metadata={"description": "1..17 for the basic clauses; null for the "
                                                                        "other obligations"})
    title_zh = ma.fields.String()
    title_en = ma.fields.String()
    look_for = ma.fields.String()
    applies_when = ma.fields.String(allow_none=True, metadata={"description": "null, or the condition on the covered "
                                                                             "systems (real_time_quotes, core_system)"})


class ClauseQuerySchema(StrictSchema):
    basic = ma.fields.Boolean(metadata={"description": "true: the 17 basic clauses only; false: the other obligations"})


class GapSchema(AnswerSchema):
    key = ma.fields.String()
    number = ma.fields.String()
    title_zh = ma.fields.String()
    title_en = ma.fields.String()
    status = ma.fields.Function(lambda row: row.status.value if row.status else None,
                                metadata={"description": "absent, or null: not recorded yet"})


class ContractGapsSchema(AnswerSchema):
    """A ``reporting.vendor_pages.ContractClauses``: one contract of the gap report."""

    contract_id = ma.fields.Integer(attribute="contract.id")
    reference = ma.fields.String(attribute="contract.reference")
    title = ma.fields.String(attribute="contract.title")
    vendor_id = ma.fields.Integer(attribute="contract.vendor_id")
    vendor = ma.fields.String(attribute="contract.vendor.name")
    starts_on = ma.fields.Date(attribute="contract.starts_on")
    ends_on = ma.fields.Date(attribute="contract.ends_on", allow_none=True)
    gaps = ma.fields.List(ma.fields.Nested(GapSchema), metadata={
        "description": "the clauses absent or not recorded, among those that apply"})
    clause_gaps = ma.fields.Function(lambda row: [g.key for g in row.gaps])


class GapQuerySchema(StrictSchema):
    vendor_id = ma.fields.Integer(validate=validate.Range(min=1))
    active_on = ma.fields.Date(metadata={"description": "only contracts in force on this date (default: every contract)"})
    with_gaps = ma.fields.Boolean(load_default=True, metadata={"description": "false lists complete contracts too"})


# -- the checklist and assessments ---------------------------------------------------------------------------------

class ChecklistItemSchema(AnswerSchema):
    key = ma.fields.String()
    stage_zh = ma.fields.String()
    stage_en = ma.fields.String()
    question_zh = ma.fields.String()
    question_en = ma.fields.String()
    category = ma.fields.String(allow_none=True, metadata={"description": "applies by default only to vendors of this category"})


class ChecklistPhaseSchema(AnswerSchema):
    key = ma.fields.String()
    title_zh = ma.fields.String()
    title_en = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(ChecklistItemSchema))


class ChecklistSchema(AnswerSchema):
    source = ma.fields.String()
    source_en = ma.fields.String()
    phases = ma.fields.List(ma.fields.Nested(ChecklistPhaseSchema))


class AnswerInputSchema(StrictSchema):
    item = Line(required=True, max_length=40, metadata={"description": "the checklist item's key"})
    applies = ma.fields.Boolean(load_default=True)
    result = ma.fields.String(load_default=None, allow_none=True, validate=validate.OneOf([r.value for r in AnswerResult]),
                              metadata={"description": "yes, no, or na (only when it does not apply)"})
    explanation = Text(load_default=None, metadata={"description": "required with a no"})
    answered_on = ma.fields.Date(load_default=None, allow_none=True)
    evidence = Line(load_default=None, allow_none=True, max_length=500)


class AssessmentFieldsMixin:
    assessed_on = ma.fields.Date(required=True)
    service_location = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in ServiceLocation]),
                                        metadata={"description": "onshore (境內), offshore (境外) or cloud"})
    service_region = Line(load_default=None, allow_none=True, metadata={"description": "e.g. 台北市內湖區 or ap-northeast-1"})
    result = ma.fields.String(required=True, validate=validate.OneOf([r.value for r in AssessmentResult]),
                              metadata={"description": "approved, conditional (say the conditions) or rejected"})
    conditions = Text(load_default=None)
    summary = Text(load_default=None)
    answers = ma.fields.List(ma.fields.Nested(AnswerInputSchema), load_default=list, validate=validate.Length(max=200),
                             metadata={"description": "answers per checklist item; items not given apply by the "
                                                      "vendor's category and wait for an answer"})


class AssessmentCreateSchema(AssessmentFieldsMixin, StrictSchema):
    pass


class AssessmentUpdateSchema(AssessmentFieldsMixin, VersionedUpdateSchema):
    assessed_on = ma.fields.Date()
    service_location = ma.fields.String(validate=validate.OneOf([s.value for s in ServiceLocation]))
    service_region = Line(allow_none=True)
    result = ma.fields.String(validate=validate.OneOf([r.value for r in AssessmentResult]))
    conditions = Text()
    summary = Text()
    answers = ma.fields.List(ma.fields.Nested(AnswerInputSchema), validate=validate.Length(max=200))


class ApprovalSchema(StrictSchema):
    note = Text(load_default=None)


class AssessmentAnswerSchema(AnswerSchema):
    item = ma.fields.String(attribute="item_key")
    applies = ma.fields.Boolean()
    result = ma.fields.Function(lambda a: a.result.value if a.result else None)
    explanation = ma.fields.String(allow_none=True)
    answered_on = ma.fields.Date(allow_none=True)
    evidence = ma.fields.String(allow_none=True)


class AssessmentSchema(AnswerSchema):
    id = ma.fields.Integer()
    vendor_id = ma.fields.Integer()
    vendor = ma.fields.String(attribute="vendor.name")
    assessed_on = ma.fields.Date()
    age_days = ma.fields.Function(lambda a: a.age_days(request_now().date()))
    assessor = ma.fields.String()
    service_location = ma.fields.Function(lambda a: a.service_location.value)
    service_region = ma.fields.String(allow_none=True)
    core_systems = ma.fields.Integer(metadata={"description": "concentration: core systems the vendor's contracts in "
                                                             "force covered on the day of the assessment"})
    contracts_in_force = ma.fields.Integer(metadata={"description": "concentration: the vendor's contracts in force"})
    result = ma.fields.Function(lambda a: a.result.value)
    conditions = ma.fields.String(allow_none=True)
    summary = ma.fields.String(allow_none=True)
    approved = ma.fields.Function(lambda a: a.approved_at is not None)
    approved_by = ma.fields.String(allow_none=True)
    approved_at = UTCDateTimeField(allow_none=True)
    approval_note = ma.fields.String(allow_none=True)
    unanswered = ma.fields.Function(lambda a: [x.item_key for x in a.answers if x.applies and x.result is None])
    answers = ma.fields.List(ma.fields.Nested(AssessmentAnswerSchema))
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    version = ma.fields.Integer()


# -- vendor changes --------------------------------------------------------------------------------------------

class ChangeFieldsMixin:
    title = Line(metadata={"description": "defaults to the description's first line"})
    description = Text(load_default=None)
    rollback_plan = Text(load_default=None, metadata={"description": "how the change is undone if it fails "
                                                                     "(the web form asks for it)"})
    system_ids = ma.fields.List(ma.fields.Integer(strict=True), load_default=list, validate=validate.Length(max=100))
    planned_start = UTCDateTimeField(required=True)
    planned_end = UTCDateTimeField(required=True)
    emergency = ma.fields.Boolean(load_default=False, metadata={
        "description": "only an emergency may be planned before the open or during the trading session"})
    emergency_reason = Text(load_default=None)


class ChangeCreateSchema(ChangeFieldsMixin, StrictSchema):
    vendor_id = ma.fields.Integer(strict=True, required=True)


class ChangeUpdateSchema(ChangeFieldsMixin, VersionedUpdateSchema):
    title = Line()
    description = Text()
    rollback_plan = Text()
    system_ids = ma.fields.List(ma.fields.Integer(strict=True), validate=validate.Length(max=100))
    planned_start = UTCDateTimeField()
    planned_end = UTCDateTimeField()
    emergency = ma.fields.Boolean()
    emergency_reason = Text()


class ChangeCloseSchema(StrictSchema):
    state = ma.fields.String(required=True, validate=validate.OneOf([ChangeState.done.value, ChangeState.cancelled.value]))
    outcome = Text(load_default=None, metadata={"description": "what happened, or why it was cancelled"})


class ChangeQuerySchema(StrictSchema):
    vendor_id = ma.fields.Integer(validate=validate.Range(min=1))
    state = ma.fields.Enum(ChangeState)
    planned_from = UTCDateTimeField(metadata={"description": "changes still running at or after"})
    planned_to = UTCDateTimeField(metadata={"description": "changes starting before"})


class ChangeSchema(AnswerSchema):
    id = ma.fields.Integer()
    vendor_id = ma.fields.Integer()
    vendor = ma.fields.String(attribute="vendor.name")
    title = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    rollback_plan = ma.fields.String()
    system_ids = ma.fields.Function(lambda c: [s.id for s in c.systems])
    planned_start = UTCDateTimeField()
    planned_end = UTCDateTimeField()
    emergency = ma.fields.Boolean()
    emergency_reason = ma.fields.String(allow_none=True)
    in_market_hours = ma.fields.Boolean(metadata={"description": "planned before the open or during a trading session"})
    state = ma.fields.Function(lambda c: c.state.value, metadata={"description": "proposed, approved, done or cancelled"})
    requested_by = ma.fields.String()
    approved_by = ma.fields.String(allow_none=True)
    approved_at = UTCDateTimeField(allow_none=True)
    approval_note = ma.fields.String(allow_none=True)
    closed_at = UTCDateTimeField(allow_none=True)
    closed_by = ma.fields.String(allow_none=True)
    outcome = ma.fields.String(allow_none=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    version = ma.fields.Integer()
