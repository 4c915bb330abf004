"""Request and response schemas for incidents, filings, deadlines, timeline and remediation."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from incident_service.api_common import (
    MAX_LINE,
    Line,
    StrictSchema,
    Text,
    UTCDateTimeField,
    VersionedUpdateSchema,
    request_now,
)
from incident_service.database import utc_iso
from incident_service.incidents.models import IncidentKind, IncidentStatus, RemediationAction, RemediationStatus
from incident_service.reporting.models import AlertStage, DeadlineState


def Severity(**kw) -> ma.fields.Integer:
    return ma.fields.Integer(strict=True, validate=validate.Range(min=1, max=4),
                             metadata={"description": "1 (low) to 4 (most severe)"}, **kw)


def PolicyKeys(**kw) -> ma.fields.List:
    return ma.fields.List(ma.fields.String(validate=validate.Length(max=40)), validate=validate.Length(min=1, max=10),
                          metadata={"description": "reporting policies to run; default: the firm's"}, **kw)


class IncidentFieldsMixin:
    vendor_id = ma.fields.Integer(strict=True, required=True)
    contract_id = ma.fields.Integer(strict=True, allow_none=True)
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
    clients_affected = ma.fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=100_000_000))
    estimated_loss_ntd = ma.fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=10**15))
    root_cause = Text()
    bcp_invoked = ma.fields.Boolean()
    failover_performed = ma.fields.Boolean()
    response_notes = Text()
    policies = PolicyKeys()


class IncidentCreateSchema(IncidentFieldsMixin, StrictSchema):
    aware_at = UTCDateTimeField(required=True, metadata={"description": "知悉: when the firm became aware; starts the reporting clock"})


class IncidentUpdateSchema(IncidentFieldsMixin, VersionedUpdateSchema):
    vendor_id = ma.fields.Integer(strict=True)
    kind = ma.fields.Enum(IncidentKind)
    severity = Severity()
    title = Line()
    status = ma.fields.Enum(IncidentStatus, metadata={"description": "open → reported → recovered → closed; closing needs every clock filed or waived"})


class AwarenessCorrectionSchema(StrictSchema):
    aware_at = UTCDateTimeField(required=True)
    reason = ma.fields.String(required=True, validate=validate.Length(min=3, max=1000))
    version = ma.fields.Integer(strict=True, load_default=None)


class DeadlineSchema(ma.Schema):
    id = ma.fields.Integer()
    incident_id = ma.fields.Integer()
    policy = ma.fields.String(attribute="policy_key")
    clock = ma.fields.String(attribute="clock_key")
    label_zh = ma.fields.String()
    label_en = ma.fields.String()
    stopped_by = ma.fields.String(metadata={"description": "the filing kind that stops this clock"})
    started_at = UTCDateTimeField(allow_none=True)
    due_at = UTCDateTimeField(allow_none=True)
    state = ma.fields.Method("_state", metadata={"description": "waiting, pending, met, met_late, missed, waived, withdrawn"})
    seconds_left = ma.fields.Method("_seconds_left", metadata={"description": "negative when overdue; null when stopped"})
    filing_id = ma.fields.Integer(allow_none=True)
    filed_at = ma.fields.Method("_filed_at")
    waived_by = ma.fields.String(allow_none=True)
    waiver_reason = ma.fields.String(allow_none=True)
    incident_title = ma.fields.String(attribute="incident.title")
    incident_severity = ma.fields.Integer(attribute="incident.severity")
    vendor_id = ma.fields.Integer(attribute="incident.vendor_id")

    def _state(self, deadline):
        from incident_service.reporting.service import effective_state

        return effective_state(deadline, request_now()).value

    def _seconds_left(self, deadline):
        from incident_service.reporting.service import seconds_left

        return seconds_left(deadline, request_now())

    def _filed_at(self, deadline):
        return utc_iso(deadline.filing.submitted_at) if deadline.filing else None


class DeadlineQuerySchema(StrictSchema):
    state = ma.fields.Enum(DeadlineState)
    vendor_id = ma.fields.Integer()
    incident_id = ma.fields.Integer()
    min_severity = ma.fields.Integer(validate=validate.Range(min=1, max=4))
    include_closed = ma.fields.Boolean(load_default=False, metadata={"description": "also deadlines of closed incidents"})


class WaiverSchema(StrictSchema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=3, max=2000))


class FilingCreateSchema(StrictSchema):
    clock = ma.fields.String(required=True, validate=validate.Length(min=1, max=40), metadata={"description": "the filing kind: initial, formal, closure, public_notice, …"})
    policy = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40), metadata={"description": "only this policy's clock; default: every policy of the incident with this kind"})
    submitted_at = UTCDateTimeField(required=True)
    submitted_by = Line(load_default=None, allow_none=True, max_length=120)
    reference = Line(load_default=None, allow_none=True, max_length=120, metadata={"description": "the reporting system's reference number"})
    text = Text(load_default=None)


class FilingSchema(ma.Schema):
    id = ma.fields.Integer()
    incident_id = ma.fields.Integer()
    clock = ma.fields.String(attribute="kind")
    policy = ma.fields.String(attribute="policy_key", allow_none=True)
    submitted_at = UTCDateTimeField()
    submitted_by = ma.fields.String()
    reference = ma.fields.String(allow_none=True)
    text = ma.fields.String(allow_none=True)
    recorded_at = UTCDateTimeField()
    recorded_by = ma.fields.String()


class TimelineEventSchema(ma.Schema):
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


class RemediationSchema(ma.Schema):
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
    verified_by = ma.fields.String(allow_none=True)
    verified_at = UTCDateTimeField(allow_none=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    version = ma.fields.Integer()

    def _overdue(self, remediation):
        from incident_service.incidents.remediation import is_overdue

        return is_overdue(remediation, request_now())


class IncidentSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.Enum(IncidentKind)
    severity = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    status = ma.fields.Enum(IncidentStatus)
    vendor_id = ma.fields.Integer()
    vendor_name = ma.fields.String(attribute="vendor.name")
    contract_id = ma.fields.Integer(allow_none=True)
    system_ids = ma.fields.Method("_system_ids")
    policies = ma.fields.List(ma.fields.String())
    occurred_at = UTCDateTimeField(allow_none=True)
    detected_at = UTCDateTimeField(allow_none=True)
    aware_at = UTCDateTimeField()
    classified_at = UTCDateTimeField(allow_none=True)
    vendor_aware_at = UTCDateTimeField(allow_none=True)
    vendor_notified_at = UTCDateTimeField(allow_none=True)
    service_down_at = UTCDateTimeField(allow_none=True)
    service_restored_at = UTCDateTimeField(allow_none=True)
    data_loss_from = UTCDateTimeField(allow_none=True)
    data_loss_to = UTCDateTimeField(allow_none=True)
    trading_affected = ma.fields.Boolean()
    investors_affected = ma.fields.Boolean()
    clients_affected = ma.fields.Integer(allow_none=True)
    estimated_loss_ntd = ma.fields.Integer(allow_none=True)
    root_cause = ma.fields.String(allow_none=True)
    bcp_invoked = ma.fields.Boolean()
    failover_performed = ma.fields.Boolean()
    response_notes = ma.fields.String(allow_none=True)
    reported_by_id = ma.fields.Integer(allow_none=True)
    closed_at = UTCDateTimeField(allow_none=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    version = ma.fields.Integer()
    deadlines = ma.fields.Method("_deadlines")
    derived = ma.fields.Method("_derived", metadata={"description": "outage vs RTO, data loss vs RPO, vendor notification delay vs contract, monthly availability"})

    def _system_ids(self, incident):
        return [s.id for s in incident.systems]

    def _deadlines(self, incident):
        from incident_service.extensions import db
        from incident_service.reporting.service import incident_deadlines

        return DeadlineSchema(many=True, exclude=("incident_title", "incident_severity", "vendor_id")).dump(
            incident_deadlines(db.session, incident.id)
        )

    def _derived(self, incident):
        from flask import current_app

        from incident_service.extensions import db
        from incident_service.incidents.service import incident_figures

        return incident_figures(session=db.session, incident=incident, now=request_now(), zone=current_app.extensions["policies"].zone)


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


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer()
    incident_id = ma.fields.Integer()
    deadline_id = ma.fields.Integer()
    policy = ma.fields.String(attribute="policy_key")
    clock = ma.fields.String(attribute="clock_key")
    stage = ma.fields.Enum(AlertStage)
    audience = ma.fields.List(ma.fields.String())
    reporter_id = ma.fields.Integer(allow_none=True)
    due_at = UTCDateTimeField()
    fire_at = UTCDateTimeField(metadata={"description": "when it was meant to fire"})
    created_at = UTCDateTimeField(metadata={"description": "when the engine raised it"})
    seconds_left = ma.fields.Integer(metadata={"description": "at the time it was raised; negative when overdue"})
    message_en = ma.fields.String()
    message_zh = ma.fields.String()


class NotificationQuerySchema(StrictSchema):
    incident_id = ma.fields.Integer()
    stage = ma.fields.Enum(AlertStage)
    since = UTCDateTimeField()
