"""Answers about clocks: deadlines, filings, notifications, and the incident with its clocks and figures.

The schemas format rows from ``reporting.rows`` (loaded beforehand in a fixed number of queries); they run no
query themselves."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from incident_service.answer_schema import AnswerSchema
from incident_service.api_common import Line, StrictSchema, Text, UTCDateTimeField
from incident_service.incidents.models import IncidentKind, IncidentStatus
from incident_service.reporting.models import AlertStage, DeadlineState


class DeadlineSchema(AnswerSchema):
    """A ``reporting.rows.DeadlineRow``: one clock as of the request's now."""

    id = ma.fields.Integer()
    incident_id = ma.fields.Integer()
    policy = ma.fields.String()
    clock = ma.fields.String()
    label_zh = ma.fields.String()
    label_en = ma.fields.String()
    stopped_by = ma.fields.String(metadata={"description": "the filing kind that stops this clock"})
    started_at = UTCDateTimeField(allow_none=True)
    due_at = UTCDateTimeField(allow_none=True)
    state = ma.fields.String(metadata={"description": "as of now: waiting, pending, met, met_late, missed, waived, withdrawn"})
    seconds_left = ma.fields.Integer(allow_none=True, metadata={"description": "negative when overdue; null when stopped"})
    filing_id = ma.fields.Integer(allow_none=True)
    filed_at = UTCDateTimeField(allow_none=True, metadata={"description": "the stopping filing's stated submission time"})
    recorded_at = UTCDateTimeField(allow_none=True, metadata={"description": "when the stopping filing was recorded here"})
    waived_by = ma.fields.String(allow_none=True)
    waived_at = UTCDateTimeField(allow_none=True)
    waiver_reason = ma.fields.String(allow_none=True)
    justification = ma.fields.String(allow_none=True, metadata={"description": "why a missed deadline was missed (it stays missed)"})
    justified_by = ma.fields.String(allow_none=True)
    justified_at = UTCDateTimeField(allow_none=True)
    incident_title = ma.fields.String(allow_none=True)
    incident_severity = ma.fields.Integer(allow_none=True)
    vendor_id = ma.fields.Integer(allow_none=True)


class IncidentDeadlineSchema(DeadlineSchema):
    """A deadline inside its incident's answer (no need to repeat the incident)."""

    class Meta:
        exclude = ("incident_title", "incident_severity", "vendor_id")


class DeadlineQuerySchema(StrictSchema):
    state = ma.fields.Enum(DeadlineState)
    vendor_id = ma.fields.Integer()
    incident_id = ma.fields.Integer()
    min_severity = ma.fields.Integer(validate=validate.Range(min=1, max=4))
    include_closed = ma.fields.Boolean(load_default=False, metadata={"description": "also deadlines of closed incidents"})


class WaiverSchema(StrictSchema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=3, max=2000))


class JustificationSchema(StrictSchema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=3, max=2000),
                              metadata={"description": "why the deadline was missed; shown beside the miss everywhere"})


class FilingCreateSchema(StrictSchema):
    clock = ma.fields.String(required=True, validate=validate.Length(min=1, max=40), metadata={"description": "the filing kind: initial, formal, closure, public_notice, …"})
    policy = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40), metadata={"description": (
        "the policy (regulator) it was filed under; it stops only that policy's clock. Required when the incident runs "
        "more than one policy with this kind of report")})
    submitted_at = UTCDateTimeField(required=True)
    submitted_by = Line(load_default=None, allow_none=True, max_length=120)
    reference = Line(load_default=None, allow_none=True, max_length=120, metadata={"description": "the reporting system's reference number"})
    text = Text(load_default=None)


class FilingSchema(AnswerSchema):
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


class IncidentSchema(AnswerSchema):
    """A ``reporting.rows.IncidentRow``: the incident with its clocks and derived figures."""

    id = ma.fields.Integer()
    kind = ma.fields.Enum(IncidentKind)
    severity = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    status = ma.fields.Enum(IncidentStatus)
    vendor_id = ma.fields.Integer()
    vendor_name = ma.fields.String(attribute="vendor.name")
    contract_id = ma.fields.Integer(allow_none=True)
    caused_by_change_id = ma.fields.Integer(allow_none=True, metadata={"description": "the vendor change that caused it"})
    system_ids = ma.fields.List(ma.fields.Integer())
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
    impact_known_at = UTCDateTimeField(allow_none=True)
    clients_affected = ma.fields.Integer(allow_none=True)
    estimated_loss_ntd = ma.fields.Integer(allow_none=True)
    root_cause = ma.fields.String(allow_none=True)
    bcp_invoked = ma.fields.Boolean()
    failover_performed = ma.fields.Boolean()
    response_notes = ma.fields.String(allow_none=True)
    customer_notice = ma.fields.String(allow_none=True)
    alternative_channels = ma.fields.String(allow_none=True)
    complaint_handling = ma.fields.String(allow_none=True)
    public_notice_text = ma.fields.String(allow_none=True)
    reporting_contact = ma.fields.String(allow_none=True)
    major_incident = ma.fields.Boolean(allow_none=True, metadata={"description": "the reportability decision; null until decided"})
    major_criteria = ma.fields.List(ma.fields.String())
    major_decided_by = ma.fields.String(allow_none=True)
    major_decided_at = UTCDateTimeField(allow_none=True)
    major_decision_reason = ma.fields.String(allow_none=True)
    reported_by_id = ma.fields.Integer(allow_none=True)
    closed_at = UTCDateTimeField(allow_none=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    version = ma.fields.Integer()
    deadlines = ma.fields.List(ma.fields.Nested(IncidentDeadlineSchema))
    derived = ma.fields.Dict(metadata={"description": (
        "the contract it is measured against (linked, or in force on the day of awareness), outage vs RTO per system, "
        "data loss vs RPO, the vendor's notification delay vs its duty, and the availability of every month touched")})


class NotificationSchema(AnswerSchema):
    id = ma.fields.Integer()
    incident_id = ma.fields.Integer(allow_none=True, metadata={"description": "null for a vendor duty's clock"})
    duty_id = ma.fields.Integer(allow_none=True, metadata={"description": "the vendor duty, when it is a duty's clock"})
    vendor_id = ma.fields.Integer(allow_none=True)
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
    vendor_id = ma.fields.Integer()
    duty_id = ma.fields.Integer()
    stage = ma.fields.Enum(AlertStage)
    since = UTCDateTimeField()


class ClockTallySchema(AnswerSchema):
    policy = ma.fields.String()
    clock = ma.fields.String()
    label_zh = ma.fields.String()
    label_en = ma.fields.String()
    met = ma.fields.Integer()
    met_late = ma.fields.Integer()
    missed = ma.fields.Integer(metadata={"description": "justified misses included: a justified miss is still a miss"})
    pending = ma.fields.Integer()
    waived = ma.fields.Integer(metadata={"description": "waived before the due time: not counted in the on-time rate"})
    justified = ma.fields.Integer(metadata={"description": "misses and late filings explained after the due time"})
    on_time_rate = ma.fields.Float(allow_none=True, metadata={"description": "met over met, met_late and missed"})


class MonthAvailabilitySchema(AnswerSchema):
    contract_id = ma.fields.Integer()
    contract = ma.fields.String(metadata={"description": "the contract's reference"})
    month = ma.fields.String(metadata={"description": "YYYY-MM in the firm's zone"})
    outage_minutes = ma.fields.Float(metadata={"description": "overlapping outages counted once; an outage crossing a month's end counts in both"})
    availability_percent = ma.fields.Float()
    target_percent = ma.fields.Float(allow_none=True)
    breached = ma.fields.Boolean(allow_none=True)
    month_complete = ma.fields.Boolean()
    reason = ma.fields.String(allow_none=True)


class VendorSummarySchema(AnswerSchema):
    incidents = ma.fields.Integer()
    open_incidents = ma.fields.Integer()
    rto_breaches = ma.fields.Integer(metadata={"description": "incidents with an affected system down longer than its RTO"})
    rpo_breaches = ma.fields.Integer(metadata={"description": "incidents that lost more data than an affected system's RPO"})
    vendor_notification_breaches = ma.fields.Integer(metadata={"description": "incidents the vendor told us about later than its contract allows"})
    change_caused = ma.fields.Integer(metadata={"description": "incidents caused by a vendor change (caused_by_change_id)"})
    open_remediations = ma.fields.Integer()
    clocks = ma.fields.List(ma.fields.Nested(ClockTallySchema))
    availability = ma.fields.List(ma.fields.Nested(MonthAvailabilitySchema))


class HistoryIncidentSchema(AnswerSchema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    kind = ma.fields.Enum(IncidentKind)
    severity = ma.fields.Integer()
    status = ma.fields.Enum(IncidentStatus)
    aware_at = UTCDateTimeField()
    contract_id = ma.fields.Integer(allow_none=True)
    caused_by_change_id = ma.fields.Integer(allow_none=True)
    system_ids = ma.fields.List(ma.fields.Integer())
    deadlines = ma.fields.List(ma.fields.Nested(IncidentDeadlineSchema))
    derived = ma.fields.Dict(metadata={"description": "as in the incident's answer"})
    open_remediations = ma.fields.Integer()


class HistoryVendorSchema(AnswerSchema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    category = ma.fields.String(attribute="category.value")


class HistorySchema(AnswerSchema):
    vendor = ma.fields.Nested(HistoryVendorSchema)
    period = ma.fields.Method("_period", metadata={"description": "the aware_from / aware_to asked for"})
    summary = ma.fields.Nested(VendorSummarySchema, metadata={"description": "figures over every incident of the period"})
    incidents = ma.fields.List(ma.fields.Nested(HistoryIncidentSchema), metadata={
        "description": "the page of the period's incidents asked for (newest first; X-Pagination has the totals)"})

    def _period(self, history):
        return {"aware_from": UTCDateTimeField()._serialize(history.aware_from, None, None),
                "aware_to": UTCDateTimeField()._serialize(history.aware_to, None, None)}


class HistoryQuerySchema(StrictSchema):
    aware_from = UTCDateTimeField(metadata={"description": "incidents aware at or after"})
    aware_to = UTCDateTimeField(metadata={"description": "incidents aware before"})
