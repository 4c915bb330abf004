"""Request schemas for incidents, their timeline and remediation; the incident answer (with its clocks) is in
``reporting.schemas``."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from incident_service.answer_schema import AnswerSchema
from incident_service.api_common import (
    MAX_LINE,
    Line,
    StrictSchema,
    Text,
    UTCDateTimeField,
    VersionedUpdateSchema,
    request_now,
)
from incident_service.incidents.models import IncidentKind, IncidentStatus, RemediationAction, RemediationStatus
from incident_service.incidents.remediation import is_overdue


def Severity(**kw) -> ma.fields.Integer:
    return ma.fields.Integer(strict=True, validate=validate.Range(min=1, max=4),
                             metadata={"description": "1 (low) to 4 (most severe)"}, **kw)


def PolicyKeys(description: str = "reporting policies to run; default: the firm's", **kw) -> ma.fields.List:
    return ma.fields.List(ma.fields.String(validate=validate.Length(max=40)), validate=validate.Length(min=1, max=10),
                          metadata={"description": description}, **kw)


class IncidentFieldsMixin:
    vendor_id = ma.fields.Integer(strict=True, required=True)
    contract_id = ma.fields.Integer(strict=True, allow_none=True)
    caused_by_change_id = ma.fields.Integer(strict=True, allow_none=True, metadata={
        "description": "the vendor change (POST /vendor-changes) that caused it, when one did; the vendor's history counts these"})
    system_ids = ma.fields.List(ma.fields.Integer(strict=True), validate=validate.Length(max=100))
    kind = ma.fields.Enum(IncidentKind, required=True, metadata={"description": "security or outage"})
    severity = Severity(required=True)
    title = Line(required=True)
    description = Text()
    occurred_at = UTCDateTimeField(allow_none=True)
    detected_at = UTCDateTimeField(allow_none=True)
    classified_at = UTCDateTimeField(allow_none=True, metadata={"description": "classified as major (starts DORA's clock)"})
    vendor_aware_at = UTCDateTimeField(allow_none=True, metadata={"description": "when the vendor itself knew"})
    vendor_notified_at = UTCDateTimeField(allow_none=True, metadata={"description": "when the vendor told us"})
    service_down_at = UTCDateTimeField(allow_none=True)
    service_restored_at = UTCDateTimeField(allow_none=True)
    data_loss_from = UTCDateTimeField(allow_none=True)
    data_loss_to = UTCDateTimeField(allow_none=True)
    trading_affected = ma.fields.Boolean()
    investors_affected = ma.fields.Boolean()
    impact_known_at = UTCDateTimeField(allow_none=True, metadata={"description": (
        "when the firm learnt that trading or investors' rights are affected: starts the public notice's clock. "
        "Default: awareness when the incident is recorded as affecting them, the moment a flag turns true later")})
    clients_affected = ma.fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=100_000_000))
    estimated_loss_ntd = ma.fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=10**15))
    root_cause = Text()
    bcp_invoked = ma.fields.Boolean()
    failover_performed = ma.fields.Boolean()
    response_notes = Text()
    customer_notice = Text(metadata={"description": "第一時間公告: the first notice to customers (what, when, where)"})
    alternative_channels = Text(metadata={"description": "引導投資人採用替代方式下單: the other ways clients can place orders"})
    complaint_handling = Text(metadata={"description": "妥善處理客訴: how complaints are handled"})
    public_notice_text = Text(metadata={"description": "the investor-facing public notice (即時公告); pre-filled in its draft"})
    reporting_contact = Line(allow_none=True, metadata={"description": "who the regulator calls about this report; default REPORTING_CONTACT"})
    policies = PolicyKeys()


class IncidentCreateSchema(IncidentFieldsMixin, StrictSchema):
    aware_at = UTCDateTimeField(required=True, metadata={"description": "知悉: when the firm became aware; starts the reporting clock"})


class IncidentUpdateSchema(IncidentFieldsMixin, VersionedUpdateSchema):
    vendor_id = ma.fields.Integer(strict=True)
    kind = ma.fields.Enum(IncidentKind)
    severity = Severity()
    title = Line()
    status = ma.fields.Enum(IncidentStatus, metadata={"description": (
        "open → reported → recovered → closed; closing needs the service restored and every clock filed, "
        "waived before its due time, or withdrawn")})
    policies = PolicyKeys("changing them needs a supervisor (policies_change) and a `reason`")
    reason = ma.fields.String(validate=validate.Length(min=3, max=1000), metadata={"description": "why the policies change"})
    confirm_open_remediation = ma.fields.Boolean(load_default=False, metadata={
        "description": "close although remediation actions are still open (recorded on the timeline)"})


class AwarenessCorrectionSchema(StrictSchema):
    aware_at = UTCDateTimeField(required=True)
    reason = ma.fields.String(required=True, validate=validate.Length(min=3, max=1000))
    version = ma.fields.Integer(strict=True, load_default=None)


class ReportabilitySchema(StrictSchema):
    major = ma.fields.Boolean(required=True, metadata={"description": "a major security incident under the firm's criteria"})
    criteria = ma.fields.List(ma.fields.String(validate=validate.Length(max=40)), load_default=list,
                              validate=validate.Length(max=50), metadata={"description": "keys of the criteria met (GET /incident-criteria)"})
    reason = ma.fields.String(required=True, validate=validate.Length(min=3, max=2000))
    version = ma.fields.Integer(strict=True, load_default=None)


class TimelineEventSchema(AnswerSchema):
    id = ma.fields.Integer()
    at = UTCDateTimeField()
    actor = ma.fields.String()
    kind = ma.fields.String()
    summary = ma.fields.String()
    changes = ma.fields.Dict()


class RemediationCreateSchema(StrictSchema):
    action = ma.fields.Enum(RemediationAction, required=True)
    title = Line(required=True)
    description = Text()
    owner = Line(required=True, max_length=120)
    due_on = ma.fields.Date(required=True)
    status = ma.fields.Enum(RemediationStatus, metadata={"description": "verified is set by a supervisor with `verify`"})
    evidence = Text()


class RemediationUpdateSchema(VersionedUpdateSchema):
    action = ma.fields.Enum(RemediationAction)
    title = Line()
    description = Text()
    owner = Line(max_length=120)
    due_on = ma.fields.Date()
    status = ma.fields.Enum(RemediationStatus)
    evidence = Text()


class RemediationSchema(AnswerSchema):
    id = ma.fields.Integer()
    incident_id = ma.fields.Integer()
    action = ma.fields.Enum(RemediationAction)
    title = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    owner = ma.fields.String()
    due_on = ma.fields.Date()
    status = ma.fields.Enum(RemediationStatus)
    overdue = ma.fields.Method("_overdue")
    evidence = ma.fields.String(allow_none=True)
    completed_at = UTCDateTimeField(allow_none=True)
    completed_by = ma.fields.String(allow_none=True, metadata={"description": "who marked it done (may not verify it)"})
    verified_by = ma.fields.String(allow_none=True)
    verified_at = UTCDateTimeField(allow_none=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    version = ma.fields.Integer()

    def _overdue(self, remediation):
        return is_overdue(remediation, request_now())


class IncidentQuerySchema(StrictSchema):
    vendor_id = ma.fields.Integer()
    contract_id = ma.fields.Integer()
    system_id = ma.fields.Integer()
    status = ma.fields.Enum(IncidentStatus)
    kind = ma.fields.Enum(IncidentKind)
    severity = ma.fields.Integer(validate=validate.Range(min=1, max=4))
    min_severity = ma.fields.Integer(validate=validate.Range(min=1, max=4))
    aware_from = UTCDateTimeField(metadata={"description": "aware at or after"})
    aware_to = UTCDateTimeField(metadata={"description": "aware before"})
    q = ma.fields.String(validate=validate.Length(max=MAX_LINE), metadata={"description": "words in the title"})


class CatalogueEntrySchema(AnswerSchema):
    key = ma.fields.String()
    label_zh = ma.fields.String()
    label_en = ma.fields.String()
    description_zh = ma.fields.String()
    description_en = ma.fields.String()


class CatalogueSchema(AnswerSchema):
    source = ma.fields.String(metadata={"description": "the rule the scale comes from"})
    source_en = ma.fields.String()
    entries = ma.fields.List(ma.fields.Nested(CatalogueEntrySchema))


class IncidentCriteriaSchema(AnswerSchema):
    severity_scale = ma.fields.Nested(CatalogueSchema, attribute="severity", metadata={"description": "levels 1 to 4"})
    major_incident = ma.fields.Nested(CatalogueSchema, attribute="major_criteria", metadata={
        "description": "the firm's criteria for a major security incident (keys for POST /incidents/{id}/reportability)"})
