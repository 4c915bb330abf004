"""Durations in the policy files (30m, 24h, 3d, 1mo) and the keys they use: shared by reporting and duty policies."""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import marshmallow as ma
from marshmallow import validate

_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d|mo)\s*$")
KEY = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="Use lower-case letters, digits and _ (at most 40).")


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



class DurationField(ma.fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return Duration.parse(super()._deserialize(value, attr, data, **kwargs))
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from exc
