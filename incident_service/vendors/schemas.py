"""Request and response schemas for vendors, systems and contracts."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from incident_service.answer_schema import AnswerSchema
from incident_service.api_common import (
    Line,
    Minutes,
    StrictSchema,
    Text,
    UTCDateTimeField,
    VersionedUpdateSchema,
    vendor_catalogues,
)
from incident_service.vendors.clauses import clause_rows, gap_keys
from incident_service.vendors.models import ClauseStatus, VendorCategory

TAX_ID = validate.Regexp(r"^\d{8}$", error="A tax id (統一編號) is 8 digits.")


class CertificationSchema(StrictSchema):
    name = Line(required=True, max_length=120, metadata={"example": "ISO 27001"})
    expires_on = ma.fields.Date(allow_none=True)


class SubcontractorSchema(StrictSchema):
    name = Line(required=True)
    service = Line(load_default=None, allow_none=True, metadata={"description": "what it provides"})


class VendorFieldsMixin:
    name = Line(required=True)
    tax_id = ma.fields.String(allow_none=True, validate=TAX_ID, metadata={"description": "統一編號, 8 digits"})
    category = ma.fields.Enum(VendorCategory, required=True, metadata={"description": "系統發展類/維運管理類/雲端服務類/顧問訓練類"})
    service_location = Line(allow_none=True)
    contact_name = Line(allow_none=True, metadata={"description": "24x7 contact"})
    contact_phone = Line(allow_none=True, max_length=50)
    contact_email = ma.fields.Email(allow_none=True, validate=validate.Length(max=254))
    subcontractors = ma.fields.List(ma.fields.Nested(SubcontractorSchema), validate=validate.Length(max=100))
    certifications = ma.fields.List(ma.fields.Nested(CertificationSchema), validate=validate.Length(max=50))
    notes = Text()
    is_active = ma.fields.Boolean()


class VendorCreateSchema(VendorFieldsMixin, StrictSchema):
    pass


class VendorUpdateSchema(VendorFieldsMixin, VersionedUpdateSchema):
    name = Line()
    category = ma.fields.Enum(VendorCategory)


class VendorSchema(AnswerSchema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    tax_id = ma.fields.String(allow_none=True)
    category = ma.fields.Enum(VendorCategory)
    service_location = ma.fields.String(allow_none=True)
    contact_name = ma.fields.String(allow_none=True)
    contact_phone = ma.fields.String(allow_none=True)
    contact_email = ma.fields.String(allow_none=True)
    subcontractors = ma.fields.List(ma.fields.Dict())
    certifications = ma.fields.List(ma.fields.Nested(CertificationSchema))
    notes = ma.fields.String(allow_none=True)
    is_active = ma.fields.Boolean()
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    version = ma.fields.Integer()


class VendorQuerySchema(StrictSchema):
    category = ma.fields.Enum(VendorCategory)
    q = Line(metadata={"description": "part of the name or tax id"})
    is_active = ma.fields.Boolean()


class SystemFieldsMixin:
    name = Line(required=True)
    description = Text()
    is_core = ma.fields.Boolean(metadata={"description": "核心系統: directly serves client trading"})
    real_time_quotes = ma.fields.Boolean(metadata={"description": "即時報價: a real-time quote feed (its vendor owes a yearly failover drill)"})
    tolerable_outage_minutes = Minutes(allow_none=True)
    rto_minutes = Minutes(allow_none=True)
    rpo_minutes = Minutes(allow_none=True)


class SystemCreateSchema(SystemFieldsMixin, StrictSchema):
    pass


class SystemUpdateSchema(SystemFieldsMixin, VersionedUpdateSchema):
    name = Line()


class SystemSchema(AnswerSchema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    is_core = ma.fields.Boolean()
    real_time_quotes = ma.fields.Boolean()
    tolerable_outage_minutes = ma.fields.Integer(allow_none=True)
    rto_minutes = ma.fields.Integer(allow_none=True)
    rpo_minutes = ma.fields.Integer(allow_none=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    version = ma.fields.Integer()


class SystemQuerySchema(StrictSchema):
    is_core = ma.fields.Boolean()
    q = Line()


class ServiceLevelSchema(StrictSchema):
    system_id = ma.fields.Integer(strict=True, required=True)
    rto_minutes = Minutes(allow_none=True, load_default=None)
    rpo_minutes = Minutes(allow_none=True, load_default=None)


class ClauseEntrySchema(StrictSchema):
    key = Line(required=True, max_length=40, metadata={"example": "incident_notification"})
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in ClauseStatus]),
                              metadata={"description": "present, absent or not_applicable"})
    section = Line(load_default=None, allow_none=True, max_length=100,
                   metadata={"description": "where the contract says it", "example": "第12條"})
    note = Line(load_default=None, allow_none=True, max_length=1000)


class ContractFieldsMixin:
    vendor_id = ma.fields.Integer(strict=True, required=True)
    reference = Line(required=True, max_length=100, metadata={"description": "contract number"})
    title = Line(required=True)
    scope = Text()
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(allow_none=True)
    system_ids = ma.fields.List(ma.fields.Integer(strict=True), validate=validate.Length(max=500))
    service_levels = ma.fields.List(
        ma.fields.Nested(ServiceLevelSchema),
        validate=validate.Length(max=500),
        metadata={"description": "RTO/RPO the vendor committed to per covered system, where it differs from the system's own"},
    )
    availability_target = ma.fields.Decimal(
        allow_none=True, places=3, validate=validate.Range(min=0, max=100), as_string=False,
        metadata={"description": "percent per month, e.g. 99.9"},
    )
    vendor_notify_minutes = Minutes(allow_none=True, metadata={"description": "the vendor must notify us within N minutes of knowing"})
    penalty_terms = Text()
    audit_right = ma.fields.Boolean()
    subcontracting_allowed = ma.fields.Boolean()
    clauses = ma.fields.List(
        ma.fields.Nested(ClauseEntrySchema), validate=validate.Length(max=100),
        metadata={"description": "what the contract says about clauses of seed 001 Art. 4 (`GET /clauses` lists them): "
                                 "each entry replaces what was recorded for its key; keys not sent stay as they were. "
                                 "`vendor_notify_minutes`, `audit_right`, `subcontracting_allowed` and `penalty_terms` "
                                 "repeat a clause: a contradiction is refused (422), a yes records the clause present"},
    )


class ContractCreateSchema(ContractFieldsMixin, StrictSchema):
    pass


class ContractUpdateSchema(ContractFieldsMixin, VersionedUpdateSchema):
    vendor_id = ma.fields.Integer(strict=True)
    reference = Line(max_length=100)
    title = Line()
    starts_on = ma.fields.Date()


class CoveredSystemSchema(AnswerSchema):
    system_id = ma.fields.Integer()
    name = ma.fields.String(attribute="system.name")
    is_core = ma.fields.Boolean(attribute="system.is_core")
    rto_minutes = ma.fields.Method("_rto")
    rpo_minutes = ma.fields.Method("_rpo")

    def _rto(self, link):
        return link.rto_minutes if link.rto_minutes is not None else link.system.rto_minutes

    def _rpo(self, link):
        return link.rpo_minutes if link.rpo_minutes is not None else link.system.rpo_minutes


class ClauseRowSchema(AnswerSchema):
    key = ma.fields.String()
    number = ma.fields.String()
    basic = ma.fields.Integer(allow_none=True, metadata={"description": "1..17 for the basic clauses"})
    title_zh = ma.fields.String()
    title_en = ma.fields.String()
    status = ma.fields.Function(lambda row: row.status.value if row.status else None)
    section = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)
    applies = ma.fields.Boolean()
    is_gap = ma.fields.Boolean()


class ContractSchema(AnswerSchema):
    id = ma.fields.Integer()
    vendor_id = ma.fields.Integer()
    reference = ma.fields.String()
    title = ma.fields.String()
    scope = ma.fields.String(allow_none=True)
    starts_on = ma.fields.Date()
    ends_on = ma.fields.Date(allow_none=True)
    system_ids = ma.fields.Method("_system_ids")
    covered_systems = ma.fields.List(ma.fields.Nested(CoveredSystemSchema), attribute="covered")
    availability_target = ma.fields.Float(allow_none=True)
    vendor_notify_minutes = ma.fields.Integer(allow_none=True)
    penalty_terms = ma.fields.String(allow_none=True)
    audit_right = ma.fields.Boolean()
    subcontracting_allowed = ma.fields.Boolean()
    clauses = ma.fields.Method("_clauses", metadata={"description": "every clause of the catalogue with what the "
                                                     "contract records (`status` null: not recorded yet; `applies` "
                                                     "false: its condition does not hold for this contract)"})
    clause_gaps = ma.fields.Method("_clause_gaps", metadata={"description": "keys of the clauses absent or not "
                                                             "recorded yet, among those that apply"})
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    version = ma.fields.Integer()

    def _system_ids(self, contract):
        return [link.system_id for link in contract.covered]

    def _rows(self, contract):
        return clause_rows(contract, vendor_catalogues().clauses)

    def _clauses(self, contract):
        return ClauseRowSchema(many=True).dump(self._rows(contract))

    def _clause_gaps(self, contract):
        return gap_keys(self._rows(contract))


class ContractQuerySchema(StrictSchema):
    vendor_id = ma.fields.Integer(strict=False)
    system_id = ma.fields.Integer(strict=False)
    active_on = ma.fields.Date(metadata={"description": "only contracts in force on this date"})
