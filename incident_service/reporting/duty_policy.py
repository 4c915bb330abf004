"""Vendor duties are policies too: TOML files beside the reporting policies (``kind = "vendor_duty"``), checked the
same way and loaded from the same folders (``POLICY_DIRS``). A duty says what it is about (the vendor, a contract, a
certification, an incident), when it applies, when it falls due (every N months from the last completion, N days
before an end date, or within N days of an event), when to warn, and the rule it comes from."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import marshmallow as ma
from marshmallow import validate

from incident_service.reporting.durations import KEY, Duration, DurationField

SUBJECTS = ("vendor", "contract", "certification", "incident")
CATEGORIES = ("system_development", "operations", "cloud", "consulting_training")


@dataclass(frozen=True)
class DutyApplies:
    """When a duty applies; every condition given must hold."""

    categories: tuple[str, ...] = ()  # the vendor's category
    core_systems: bool | None = None  # the vendor holds a contract covering a core system
    real_time_quotes: bool | None = None  # the vendor holds a contract covering a real-time quote feed
    access_grants: bool | None = None  # the vendor holds access to the firm's systems
    min_term_months: int | None = None  # a contract's term (contract duties)
    min_severity: int | None = None  # an incident's severity (incident duties)


@dataclass(frozen=True)
class DutyPolicy:
    key: str
    title_zh: str
    title_en: str
    description: str
    citation: str
    subject: str
    warnings: tuple[Duration, ...]
    every: Duration | None = None  # from the last completion (first: from the subject's start)
    before_end: Duration | None = None  # before the subject's end date (a certification, a contract)
    within: Duration | None = None  # after the event (an incident, a termination)
    applies: DutyApplies = field(default_factory=DutyApplies)
    escalate: bool = True
    source: str = ""  # the file


class _AppliesSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    categories = ma.fields.List(ma.fields.String(validate=validate.OneOf(CATEGORIES)), load_default=list)
    core_systems = ma.fields.Boolean(load_default=None)
    real_time_quotes = ma.fields.Boolean(load_default=None)
    access_grants = ma.fields.Boolean(load_default=None)
    min_term_months = ma.fields.Integer(strict=True, load_default=None, validate=validate.Range(1, 600))
    min_severity = ma.fields.Integer(strict=True, load_default=None, validate=validate.Range(1, 4))


class DutyPolicySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    kind = ma.fields.String(required=True, validate=validate.Equal("vendor_duty"))
    key = ma.fields.String(required=True, validate=KEY)
    title_zh = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    title_en = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = ma.fields.String(load_default="")
    citation = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))
    subject = ma.fields.String(required=True, validate=validate.OneOf(SUBJECTS))
    every = DurationField(load_default=None)
    before_end = DurationField(load_default=None)
    within = DurationField(load_default=None)
    warnings = ma.fields.List(DurationField(), load_default=list)
    applies = ma.fields.Nested(_AppliesSchema, load_default=None)
    escalate = ma.fields.Boolean(load_default=True)

    @ma.validates_schema
    def _one_schedule(self, data, **kwargs):
        given = [name for name in ("every", "before_end", "within") if data.get(name) is not None]
        if len(given) != 1:
            raise ma.ValidationError("Give exactly one of every, before_end or within.", "every")
        subject = data.get("subject")
        if given == ["before_end"] and subject not in ("contract", "certification"):
            raise ma.ValidationError("before_end needs a subject with an end date: contract or certification.", "before_end")
        if given == ["within"] and subject not in ("incident", "contract"):
            raise ma.ValidationError("within counts from an event: an incident, or a contract's termination.", "within")
        if any(w.months for w in data.get("warnings") or []):
            raise ma.ValidationError("Warnings are given in m, h or d, not months.", "warnings")


def duty_from(data: dict[str, Any], source: str) -> DutyPolicy:
    applies = data.get("applies") or {}
    return DutyPolicy(
        key=data["key"], title_zh=data["title_zh"], title_en=data["title_en"], description=data["description"],
        citation=data["citation"], subject=data["subject"],
        warnings=tuple(sorted(data["warnings"], key=lambda d: d.minutes, reverse=True)),
        every=data["every"], before_end=data["before_end"], within=data["within"],
        applies=DutyApplies(categories=tuple(applies.get("categories") or ()), core_systems=applies.get("core_systems"),
                            real_time_quotes=applies.get("real_time_quotes"), access_grants=applies.get("access_grants"),
                            min_term_months=applies.get("min_term_months"), min_severity=applies.get("min_severity")),
        escalate=data["escalate"], source=source,
    )
