"""The API's shapes for vendor duties, the access register, findings and contract termination.

A duty's answer is read off its deadline row (one clock per occurrence, with the duty joined), so a page of duties
is one query. ``state`` and ``seconds_left`` are as of the request's now, like every clock's."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from incident_service.api_common import Line, StrictSchema, Text, UTCDateTimeField, request_now
from incident_service.incidents.models import RemediationAction
from incident_service.reporting.models import Deadline, DeadlineState
from incident_service.vendors.access import AccessKind
from incident_service.vendors.termination import ITEM_KEYS

DUTY_STATES = [s.value for s in DeadlineState] + ["open"]


def _state(deadline: Deadline) -> str:
    return deadline.state_at(request_now()).value


def _seconds_left(deadline: Deadline) -> int | None:
    if deadline.due_at is None or deadline.state_at(request_now()) not in (DeadlineState.pending, DeadlineState.missed):
        return None
    return int((deadline.due_at - request_now()).total_seconds())


class DutyQuerySchema(StrictSchema):
    vendor_id = ma.fields.Integer(validate=validate.Range(min=1))
    kind = ma.fields.String(validate=validate.Length(max=40), metadata={"description": "a duty key, e.g. annual_audit"})
    state = ma.fields.String(validate=validate.OneOf(DUTY_STATES),
                             metadata={"description": "as of now; `open` is waiting, pending or missed"})
    due_before = UTCDateTimeField(metadata={"description": "due at or before (e.g. now + 30 days for the board's view)"})


class DutySchema(ma.Schema):
    """One occurrence of a vendor duty and its clock."""

    id = ma.fields.Integer(attribute="duty_id")
    deadline_id = ma.fields.Integer(attribute="id")
    vendor_id = ma.fields.Integer(attribute="duty.vendor_id")
    vendor = ma.fields.String(attribute="duty.vendor.name")
    kind = ma.fields.String(attribute="clock_key", metadata={"description": "the duty policy's key"})
    title_zh = ma.fields.String(attribute="label_zh")
    title_en = ma.fields.String(attribute="label_en")
    subject = ma.fields.Function(lambda d: d.duty.subject.value, metadata={"description": "vendor, contract, certification or incident"})
    contract_id = ma.fields.Integer(attribute="duty.contract_id", allow_none=True)
    certification_id = ma.fields.Integer(attribute="duty.certification_id", allow_none=True)
    incident_id = ma.fields.Integer(attribute="duty.incident_id", allow_none=True)
    counts_from = UTCDateTimeField(attribute="duty.anchor_at", metadata={"description": "the last completion, the start, the end or the event"})
    due_at = UTCDateTimeField(allow_none=True)
    state = ma.fields.Function(_state, metadata={"description": "waiting, pending, met, met_late, missed, waived, withdrawn"})
    seconds_left = ma.fields.Function(_seconds_left, allow_none=True, metadata={"description": "negative when overdue"})
    completed_at = UTCDateTimeField(attribute="duty.completed_at", allow_none=True)
    completed_by = ma.fields.String(attribute="duty.completed_by", allow_none=True)
    recorded_at = UTCDateTimeField(attribute="duty.recorded_at", allow_none=True)
    evidence = ma.fields.String(attribute="duty.evidence", allow_none=True)
    findings = ma.fields.String(attribute="duty.findings", allow_none=True)


class FindingActionSchema(StrictSchema):
    title = Line(required=True)
    owner = Line(required=True, metadata={"description": "who acts on the finding"})
    due_on = ma.fields.Date(required=True)
    action = ma.fields.Enum(RemediationAction, load_default=RemediationAction.other)
    description = Text(load_default=None)


class CompletionSchema(StrictSchema):
    completed_at = UTCDateTimeField(required=True, metadata={"description": "when the duty was actually done"})
    evidence = Line(required=True, max_length=500, metadata={"description": "the report's or file's reference"})
    findings = Text(load_default=None)
    actions = ma.fields.List(ma.fields.Nested(FindingActionSchema), load_default=list,
                             validate=validate.Length(max=50),
                             metadata={"description": "findings to act on: each becomes a remediation action"})


class AccessGrantCreateSchema(StrictSchema):
    person = Line(required=True, max_length=120)
    system_id = ma.fields.Integer(required=True, validate=validate.Range(min=1))
    access = ma.fields.Enum(AccessKind, required=True, metadata={"description": "remote, onsite or privileged"})
    mfa = ma.fields.Boolean(required=True)
    approved_by = Line(required=True, max_length=120)
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(load_default=None, allow_none=True)
    note = Text(load_default=None)


class AccessGrantSchema(ma.Schema):
    id = ma.fields.Integer()
    vendor_id = ma.fields.Integer()
    person = ma.fields.String()
    system_id = ma.fields.Integer()
    system = ma.fields.String(attribute="system.name")
    access = ma.fields.Function(lambda g: g.access.value)
    mfa = ma.fields.Boolean()
    approved_by = ma.fields.String()
    starts_on = ma.fields.Date()
    ends_on = ma.fields.Date(allow_none=True)
    note = ma.fields.String(allow_none=True)
    revoked_at = UTCDateTimeField(allow_none=True)
    revoked_by = ma.fields.String(allow_none=True)
    revoke_reason = ma.fields.String(allow_none=True)
    version = ma.fields.Integer()


class AccessGrantQuerySchema(StrictSchema):
    include_revoked = ma.fields.Boolean(load_default=False)


class RevocationSchema(StrictSchema):
    reason = Line(required=True, max_length=500)


class ReviewDecisionSchema(StrictSchema):
    grant_id = ma.fields.Integer(required=True, validate=validate.Range(min=1))
    keep = ma.fields.Boolean(required=True)
    note = Line(load_default=None, allow_none=True, max_length=500)


class AccessReviewCreateSchema(StrictSchema):
    reviewed_at = UTCDateTimeField(required=True)
    note = Text(load_default=None)
    decisions = ma.fields.List(ma.fields.Nested(ReviewDecisionSchema), required=True, validate=validate.Length(max=1000),
                               metadata={"description": "every grant the vendor holds: keep or revoke"})


class AccessReviewItemSchema(ma.Schema):
    grant_id = ma.fields.Integer()
    keep = ma.fields.Boolean()
    note = ma.fields.String(allow_none=True)


class AccessReviewSchema(ma.Schema):
    id = ma.fields.Integer()
    vendor_id = ma.fields.Integer()
    reviewed_at = UTCDateTimeField()
    reviewed_by = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    duty_id = ma.fields.Integer(allow_none=True, metadata={"description": "the access-review duty it completed"})
    items = ma.fields.List(ma.fields.Nested(AccessReviewItemSchema))


class FindingSchema(ma.Schema):
    kind = ma.fields.Function(lambda f: f.kind.value, metadata={"description": "remote_without_mfa, past_end_date, past_contract_end"})
    vendor_id = ma.fields.Integer()
    grant_id = ma.fields.Integer()
    person = ma.fields.String()
    system_id = ma.fields.Integer()
    system = ma.fields.String()
    access = ma.fields.String()
    since = ma.fields.Date()
    message_zh = ma.fields.String()
    message_en = ma.fields.String()


class TerminationCreateSchema(StrictSchema):
    ends_on = ma.fields.Date(required=True, metadata={"description": "the contract's last day"})
    reason = Text(load_default=None)
    successor = Line(load_default=None, allow_none=True, metadata={"description": "the firm itself or the next vendor"})


class TerminationItemUpdateSchema(StrictSchema):
    reference = Line(load_default=None, allow_none=True, metadata={"description": "e.g. the destruction certificate's number"})
    not_applicable = ma.fields.Boolean(load_default=False)
    note = Text(load_default=None)


class TerminationItemSchema(ma.Schema):
    key = ma.fields.String(metadata={"description": ", ".join(ITEM_KEYS)})
    title_zh = ma.fields.String()
    title_en = ma.fields.String()
    done_at = UTCDateTimeField(allow_none=True)
    done_by = ma.fields.String(allow_none=True)
    reference = ma.fields.String(allow_none=True)
    not_applicable = ma.fields.Boolean()
    note = ma.fields.String(allow_none=True)


class TerminationSchema(ma.Schema):
    id = ma.fields.Integer()
    contract_id = ma.fields.Integer()
    vendor_id = ma.fields.Integer()
    ends_on = ma.fields.Date()
    reason = ma.fields.String(allow_none=True)
    successor = ma.fields.String(allow_none=True)
    started_at = UTCDateTimeField()
    started_by = ma.fields.String()
    completed_at = UTCDateTimeField(allow_none=True)
    items = ma.fields.List(ma.fields.Nested(TerminationItemSchema))
    duty = ma.fields.Nested(DutySchema, allow_none=True, metadata={"description": "the checklist's clock"})
