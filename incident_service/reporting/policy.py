"""Reporting policies are data: TOML files, each a named set of clocks.

A clock says when it starts (an incident event such as awareness, or the filing of another report),
how long it runs, when to warn before its due time, when it applies, and which filing stops it.
Adding a policy is adding a file; a bad file is refused with a message naming the field.
"""
from __future__ import annotations

import calendar
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
from marshmallow import validate

SHIPPED_DIR = Path(__file__).parent / "policies"
INCIDENT_EVENTS = {
    "aware": "aware_at",
    "occurred": "occurred_at",
    "detected": "detected_at",
    "classified": "classified_at",
    "recovered": "service_restored_at",
}
_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d|mo)\s*$")
KEY = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="Use lower-case letters, digits and _ (at most 40).")


class PolicyError(ValueError):
    """A policy file is not valid; the message names the file and the field."""


@dataclass(frozen=True)
class Duration:
    """A span of minutes, or of calendar months (a month is a calendar month in the firm's zone)."""

    minutes: int = 0
    months: int = 0

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION.match(str(text))
        if not match:
            raise ValueError(f"{text!r} is not a duration; write e.g. 30m, 24h, 3d or 1mo")
        number, unit = int(match.group(1)), match.group(2)
        if unit == "mo":
            return cls(months=number)
        return cls(minutes=number * {"m": 1, "min": 1, "h": 60, "d": 1440}[unit])

    def after(self, start: datetime, zone: ZoneInfo) -> datetime:
        if not self.months:
            return start + timedelta(minutes=self.minutes)
        local = start.astimezone(zone)
        month_index = local.month - 1 + self.months
        year, month = local.year + month_index // 12, month_index % 12 + 1
        day = min(local.day, calendar.monthrange(year, month)[1])
        return local.replace(year=year, month=month, day=day).astimezone(start.tzinfo)

    def __str__(self) -> str:
        if self.months:
            return f"{self.months}mo"
        if self.minutes % 1440 == 0:
            return f"{self.minutes // 1440}d"
        if self.minutes % 60 == 0:
            return f"{self.minutes // 60}h"
        return f"{self.minutes}m"


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


@dataclass(frozen=True)
class Policy:
    key: str
    title_zh: str
    title_en: str
    description: str
    clocks: tuple[Clock, ...]
    source: str = ""

    def clock(self, key: str) -> Clock | None:
        return next((c for c in self.clocks if c.key == key), None)


# -- the file format, checked field by field ------------------------------------------------------

class _DurationField(ma.fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return Duration.parse(super()._deserialize(value, attr, data, **kwargs))
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from exc


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
    duration = _DurationField(required=True)
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
    duration = _DurationField(load_default=None)
    filing = ma.fields.String(load_default="first", validate=validate.OneOf(["first", "last"]))
    due_earliest_of = ma.fields.List(ma.fields.Nested(_RuleSchema), load_default=None)
    warnings = ma.fields.List(_DurationField(), load_default=list)
    stopped_by = ma.fields.String(load_default=None, validate=KEY)
    applies = ma.fields.Nested(_AppliesSchema, load_default=None)
    escalate = ma.fields.Boolean(load_default=True)

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
    clocks = ma.fields.List(ma.fields.Nested(_ClockSchema), required=True, validate=validate.Length(min=1))

    @ma.validates_schema
    def _clock_keys_unique(self, data, **kwargs):
        keys = [c["key"] for c in data.get("clocks", [])]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ma.ValidationError(f"Clock keys must be unique; repeated: {', '.join(dupes)}.", "clocks")


def _flatten(errors: Any, prefix: str = "") -> list[str]:
    if isinstance(errors, dict):
        out: list[str] = []
        for key, value in errors.items():
            out += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        return [f"{prefix}: {' '.join(errors)}"]
    return [f"{prefix}: {errors}"]


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
    )


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Read one policy from TOML text; raise PolicyError naming the field that is wrong."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
    try:
        data = _PolicySchema().load(raw)
    except ma.ValidationError as exc:
        raise PolicyError(f"{source}: " + "; ".join(_flatten(exc.messages))) from exc
    return Policy(
        key=data["key"],
        title_zh=data["title_zh"],
        title_en=data["title_en"],
        description=data["description"],
        clocks=tuple(_clock_from(c) for c in data["clocks"]),
        source=source,
    )


def load_policies(extra_dirs: list[str] | tuple[str, ...] = ()) -> dict[str, Policy]:
    """Every policy file shipped with the service and in the configured folders, by key."""
    policies: dict[str, Policy] = {}
    for folder in [SHIPPED_DIR, *map(Path, extra_dirs)]:
        for path in sorted(Path(folder).glob("*.toml")):
            policy = parse_policy(path.read_text(encoding="utf-8"), source=path.name)
            if policy.key in policies and policies[policy.key].source != path.name:
                raise PolicyError(f"{path.name}: key {policy.key!r} is already used by {policies[policy.key].source}")
            policies[policy.key] = policy
    return policies


class PolicyRegistry:
    """The policies known to one application, loaded once at start-up (a bad file stops the start)."""

    def __init__(self, extra_dirs: list[str] | tuple[str, ...] = (), zone: str = "Asia/Taipei"):
        self.extra_dirs = tuple(extra_dirs)
        self.zone = ZoneInfo(zone)
        self.policies = load_policies(self.extra_dirs)

    def get(self, key: str) -> Policy | None:
        return self.policies.get(key)

    def keys(self) -> list[str]:
        return sorted(self.policies)
