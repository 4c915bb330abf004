"""Reporting policies are data: TOML files, each a named set of clocks.

A clock says when it starts (an incident event such as awareness, or the filing of another report),
how long it runs, when to warn before its due time, when it applies, and which filing stops it.
Adding a policy is adding a file; a bad file is refused with a message naming the field.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
from marshmallow import validate

from incident_service.datafiles import DataFileError, load_toml
from incident_service.reporting.duty_policy import DutyPolicy, DutyPolicySchema, duty_from
from incident_service.reporting.durations import KEY, Duration, DurationField

SHIPPED_DIR = Path(__file__).parent / "policies"
INCIDENT_EVENTS = {
    "aware": "aware_at",
    "occurred": "occurred_at",
    "detected": "detected_at",
    "classified": "classified_at",
    "recovered": "service_restored_at",
    # When trading or investors' rights were known to be affected (a conditional clock starts then).
    "impact_known": "impact_known_at",
}
DRAFT_TEMPLATES = ("twse", "dora", "generic")


class PolicyError(DataFileError):
    """A policy file is not valid; the message names the file and the field."""


@dataclass(frozen=True)
class StartRule:
    start: str  # an incident event (aware, classified, recovered, ...) or "filing:<kind>"
    duration: Duration
    # For a filing start: the first or the last such filing starts the clock.
    filing: str = "first"


@dataclass(frozen=True)
class Applies:
    """When a clock applies to an incident; every condition given must hold."""

    trading_or_investors_affected: bool | None = None
    min_severity: int | None = None
    max_severity: int | None = None
    kinds: tuple[str, ...] = ()

    def holds_for(self, incident: Any) -> bool:
        if self.trading_or_investors_affected is not None:
            affected = bool(incident.trading_affected or incident.investors_affected)
            if affected != self.trading_or_investors_affected:
                return False
        if self.min_severity is not None and incident.severity < self.min_severity:
            return False
        if self.max_severity is not None and incident.severity > self.max_severity:
            return False
        kind = getattr(incident.kind, "value", incident.kind)
        return not (self.kinds and kind not in self.kinds)


@dataclass(frozen=True)
class Clock:
    key: str
    label_zh: str
    label_en: str
    rules: tuple[StartRule, ...]  # the due time is the earliest of the rules whose start is known
    warnings: tuple[Duration, ...]  # before the due time, largest first
    stopped_by: str  # the filing kind that stops it
    applies: Applies = field(default_factory=Applies)
    escalate: bool = True
    # A report that says the incident is over (closure, final): refused while the service is still down.
    requires_recovery: bool = False
    # Where the report is filed (e.g. 資通安全通報系統), shown in its draft.
    filed_with_zh: str = ""
    filed_with_en: str = ""
    # The rule's source, and what the firm chose where the source gives no number.
    citation: str = ""
    note_zh: str = ""
    note_en: str = ""


@dataclass(frozen=True)
class Policy:
    key: str
    title_zh: str
    title_en: str
    description: str
    clocks: tuple[Clock, ...]
    source: str = ""  # the file it was read from
    citation: str = ""  # the regulation it implements
    draft_template: str = "generic"  # which layout the draft reports follow

    def clock(self, key: str) -> Clock | None:
        return next((c for c in self.clocks if c.key == key), None)


# -- the file format, checked field by field ------------------------------------------------------

class _StartField(ma.fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text in INCIDENT_EVENTS or (text.startswith("filing:") and KEY.regex.match(text[7:])):
            return text
        raise ma.ValidationError(
            f"{text!r} is not a start event; use one of {', '.join(sorted(INCIDENT_EVENTS))} or filing:<kind>"
        )


class _RuleSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    start = _StartField(required=True)
    duration = DurationField(required=True)
    filing = ma.fields.String(load_default="first", validate=validate.OneOf(["first", "last"]))


class _AppliesSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    trading_or_investors_affected = ma.fields.Boolean(load_default=None)
    min_severity = ma.fields.Integer(strict=True, load_default=None, validate=validate.Range(1, 4))
    max_severity = ma.fields.Integer(strict=True, load_default=None, validate=validate.Range(1, 4))
    kinds = ma.fields.List(ma.fields.String(validate=validate.OneOf(["security", "outage"])), load_default=list)


class _ClockSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    key = ma.fields.String(required=True, validate=KEY)
    label_zh = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    label_en = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    start = _StartField(load_default=None)
    duration = DurationField(load_default=None)
    filing = ma.fields.String(load_default="first", validate=validate.OneOf(["first", "last"]))
    due_earliest_of = ma.fields.List(ma.fields.Nested(_RuleSchema), load_default=None)
    warnings = ma.fields.List(DurationField(), load_default=list)
    stopped_by = ma.fields.String(load_default=None, validate=KEY)
    applies = ma.fields.Nested(_AppliesSchema, load_default=None)
    escalate = ma.fields.Boolean(load_default=True)
    requires_recovery = ma.fields.Boolean(load_default=False)
    filed_with_zh = ma.fields.String(load_default="", validate=validate.Length(max=200))
    filed_with_en = ma.fields.String(load_default="", validate=validate.Length(max=200))
    citation = ma.fields.String(load_default="", validate=validate.Length(max=500))
    note_zh = ma.fields.String(load_default="", validate=validate.Length(max=500))
    note_en = ma.fields.String(load_default="", validate=validate.Length(max=500))

    @ma.validates_schema
    def _one_way_to_say_when(self, data, **kwargs):
        simple = data.get("start") is not None or data.get("duration") is not None
        if simple and data.get("due_earliest_of"):
            raise ma.ValidationError("Give either start and duration, or due_earliest_of, not both.", "due_earliest_of")
        if any(w.months for w in data.get("warnings") or []):
            raise ma.ValidationError("Warnings are given in m, h or d, not months.", "warnings")
        if not data.get("due_earliest_of"):
            for name in ("start", "duration"):
                if data.get(name) is None:
                    raise ma.ValidationError("Missing data for required field.", name)


class _PolicySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    key = ma.fields.String(required=True, validate=KEY)
    title_zh = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    title_en = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = ma.fields.String(load_default="")
    citation = ma.fields.String(load_default="", validate=validate.Length(max=500))
    draft_template = ma.fields.String(load_default="generic", validate=validate.OneOf(DRAFT_TEMPLATES))
    clocks = ma.fields.List(ma.fields.Nested(_ClockSchema), required=True, validate=validate.Length(min=1))

    @ma.validates_schema
    def _clock_keys_unique(self, data, **kwargs):
        keys = [c["key"] for c in data.get("clocks", [])]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ma.ValidationError(f"Clock keys must be unique; repeated: {', '.join(dupes)}.", "clocks")


def _clock_from(raw: dict) -> Clock:
    if raw.get("due_earliest_of"):
        rules = tuple(StartRule(r["start"], r["duration"], r["filing"]) for r in raw["due_earliest_of"])
    else:
        rules = (StartRule(raw["start"], raw["duration"], raw["filing"]),)
    applies = raw.get("applies") or {}
    return Clock(
        key=raw["key"],
        label_zh=raw["label_zh"],
        label_en=raw["label_en"],
        rules=rules,
        warnings=tuple(sorted(raw["warnings"], key=lambda d: (d.months, d.minutes), reverse=True)),
        stopped_by=raw.get("stopped_by") or raw["key"],
        applies=Applies(
            trading_or_investors_affected=applies.get("trading_or_investors_affected"),
            min_severity=applies.get("min_severity"),
            max_severity=applies.get("max_severity"),
            kinds=tuple(applies.get("kinds") or ()),
        ),
        escalate=raw["escalate"],
        requires_recovery=raw["requires_recovery"],
        filed_with_zh=raw["filed_with_zh"],
        filed_with_en=raw["filed_with_en"],
        citation=raw["citation"],
        note_zh=raw["note_zh"],
        note_en=raw["note_en"],
    )


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Read one policy from TOML text; raise PolicyError naming the field that is wrong."""
    data = load_toml(text, _PolicySchema(), source, PolicyError)
    return Policy(
        key=data["key"],
        title_zh=data["title_zh"],
        title_en=data["title_en"],
        description=data["description"],
        clocks=tuple(_clock_from(c) for c in data["clocks"]),
        source=source,
        citation=data["citation"],
        draft_template=data["draft_template"],
    )


def parse_policy_file(text: str, source: str = "<policy>") -> Policy | DutyPolicy:
    """A reporting policy, or a vendor duty when the file says ``kind = "vendor_duty"``."""
    try:
        kind = tomllib.loads(text).get("kind")
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
    if kind == "vendor_duty":
        return duty_from(load_toml(text, DutyPolicySchema(), source, PolicyError), source)
    return parse_policy(text, source)


def load_policies(extra_dirs: list[str] | tuple[str, ...] = ()) -> tuple[dict[str, Policy], dict[str, DutyPolicy]]:
    """Every policy and duty file shipped with the service and in the configured folders (and their duties/
    subfolders), by key."""
    policies: dict[str, Policy] = {}
    duties: dict[str, DutyPolicy] = {}
    for folder in [SHIPPED_DIR, *map(Path, extra_dirs)]:
        for path in sorted([*Path(folder).glob("*.toml"), *Path(folder).glob("duties/*.toml")]):
            found = parse_policy_file(path.read_text(encoding="utf-8"), source=path.name)
            into = duties if isinstance(found, DutyPolicy) else policies
            if found.key in into and into[found.key].source != path.name:
                raise PolicyError(f"{path.name}: key {found.key!r} is already used by {into[found.key].source}")
            into[found.key] = found
    return policies, duties


class PolicyRegistry:
    """The policies and vendor duties known to one application, loaded once at start-up (a bad file stops the start)."""

    def __init__(self, extra_dirs: list[str] | tuple[str, ...] = (), zone: str = "Asia/Taipei"):
        self.extra_dirs = tuple(extra_dirs)
        self.zone = ZoneInfo(zone)
        self.policies, self.duties = load_policies(self.extra_dirs)

    def get(self, key: str) -> Policy | None:
        return self.policies.get(key)

    def keys(self) -> list[str]:
        return sorted(self.policies)

    def duty(self, key: str) -> DutyPolicy | None:
        return self.duties.get(key)

    def duty_keys(self) -> list[str]:
        return sorted(self.duties)
