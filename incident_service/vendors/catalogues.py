"""The vendor area's rules kept as data: the contract clauses of seed 001 Art. 4 (the 17 basic ones and the other
obligations that matter to incidents), the outsourcing security checklist of seed 000, and the exchange's trading
calendar. Loaded once at start-up; a bad file stops the start with the file and the field named."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import marshmallow as ma
from marshmallow import validate

from incident_service.datafiles import DataFileError, load_toml

DATA_DIR = Path(__file__).parent / "data"
CLAUSES_FILE = DATA_DIR / "contract_clauses.toml"
CHECKLIST_FILE = DATA_DIR / "outsourcing_checklist.toml"
CALENDAR_FILE = DATA_DIR / "trading_calendar.toml"
KEY = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="Use lower-case letters, digits and _ (at most 40).")
CATEGORIES = ("system_development", "operations", "cloud", "consulting_training")
# What a clause's ``applies_when`` may name: a property of the systems the contract covers.
CLAUSE_CONDITIONS = ("real_time_quotes", "core_system")


class _Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


def _text(max_length: int = 500, **kwargs) -> ma.fields.String:
    return ma.fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def _unique(items: list[dict], what: str, field: str) -> None:
    keys = [item["key"] for item in items]
    doubled = sorted({k for k in keys if keys.count(k) > 1})
    if doubled:
        raise ma.ValidationError(f"{what} keys must be unique; given twice: {', '.join(doubled)}.", field)


# -- the contract clauses ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Clause:
    key: str
    number: str  # the article's numbering, e.g. 4-1-1-7
    basic: int | None  # 1..17 for the basic clauses, None for the other obligations
    title_zh: str
    title_en: str
    look_for: str
    applies_when: str | None  # None: every contract owes it


@dataclass(frozen=True)
class ClauseCatalogue:
    source: str
    source_en: str
    clauses: tuple[Clause, ...]

    def keys(self) -> list[str]:
        return [c.key for c in self.clauses]

    def get(self, key: str) -> Clause | None:
        return next((c for c in self.clauses if c.key == key), None)


class _ClauseSchema(_Strict):
    key = ma.fields.String(required=True, validate=KEY)
    number = _text(20, required=True)
    basic = ma.fields.Integer(strict=True, load_default=None, validate=validate.Range(1, 17))
    title_zh = _text(200, required=True)
    title_en = _text(200, required=True)
    look_for = _text(1000, required=True)
    applies_when = ma.fields.String(load_default=None, validate=validate.OneOf(CLAUSE_CONDITIONS))


class _ClausesSchema(_Strict):
    source = _text(500, required=True)
    source_en = ma.fields.String(load_default="")
    clauses = ma.fields.List(ma.fields.Nested(_ClauseSchema), required=True, validate=validate.Length(min=1))

    @ma.validates_schema
    def _seventeen(self, data, **kwargs):
        clauses = data.get("clauses", [])
        _unique(clauses, "Clause", "clauses")
        if sorted(c["basic"] for c in clauses if c["basic"] is not None) != list(range(1, 18)):
            raise ma.ValidationError("Give each basic clause 1 to 17 once.", "clauses")


def load_clauses(path: Path = CLAUSES_FILE) -> ClauseCatalogue:
    data = load_toml(path.read_text(encoding="utf-8"), _ClausesSchema(), path.name)
    return ClauseCatalogue(source=data["source"], source_en=data["source_en"],
                           clauses=tuple(Clause(**c) for c in data["clauses"]))


# -- the outsourcing security checklist --------------------------------------------------------------------------

@dataclass(frozen=True)
class ChecklistItem:
    key: str
    phase: str
    stage_zh: str
    stage_en: str
    question_zh: str
    question_en: str
    category: str | None  # applies by default only to vendors of this category


@dataclass(frozen=True)
class ChecklistPhase:
    key: str
    title_zh: str
    title_en: str
    items: tuple[ChecklistItem, ...]


@dataclass(frozen=True)
class Checklist:
    source: str
    source_en: str
    phases: tuple[ChecklistPhase, ...]

    def items(self) -> list[ChecklistItem]:
        return [item for phase in self.phases for item in phase.items]

    def item_keys(self) -> list[str]:
        return [item.key for item in self.items()]

    def applies_by_default(self, item: ChecklistItem, vendor_category: str) -> bool:
        return item.category is None or item.category == vendor_category


class _ItemSchema(_Strict):
    key = ma.fields.String(required=True, validate=KEY)
    stage_zh = _text(200, required=True)
    stage_en = _text(200, required=True)
    question_zh = _text(1000, required=True)
    question_en = _text(1000, required=True)
    category = ma.fields.String(load_default=None, validate=validate.OneOf(CATEGORIES))


class _PhaseSchema(_Strict):
    key = ma.fields.String(required=True, validate=KEY)
    title_zh = _text(200, required=True)
    title_en = _text(200, required=True)
    items = ma.fields.List(ma.fields.Nested(_ItemSchema), required=True, validate=validate.Length(min=1))


class _ChecklistSchema(_Strict):
    source = _text(500, required=True)
    source_en = ma.fields.String(load_default="")
    phases = ma.fields.List(ma.fields.Nested(_PhaseSchema), required=True, validate=validate.Length(min=1))

    @ma.validates_schema
    def _keys_unique(self, data, **kwargs):
        phases = data.get("phases", [])
        _unique(phases, "Phase", "phases")
        _unique([item for p in phases for item in p["items"]], "Item", "phases")


def load_checklist(path: Path = CHECKLIST_FILE) -> Checklist:
    data = load_toml(path.read_text(encoding="utf-8"), _ChecklistSchema(), path.name)
    phases = tuple(
        ChecklistPhase(key=p["key"], title_zh=p["title_zh"], title_en=p["title_en"],
                       items=tuple(ChecklistItem(phase=p["key"], **item) for item in p["items"]))
        for p in data["phases"])
    return Checklist(source=data["source"], source_en=data["source_en"], phases=phases)


# -- the trading calendar ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MarketWindow:
    """A stretch of one trading day in which no vendor update may run: from before the open to the close."""

    day: date
    starts_at: datetime  # aware, in the calendar's zone
    ends_at: datetime


@dataclass(frozen=True)
class TradingCalendar:
    source: str
    zone: ZoneInfo
    session_open: time
    session_close: time
    before_open_minutes: int
    holidays: frozenset[date]
    extra_trading_days: frozenset[date]

    def is_trading_day(self, day: date) -> bool:
        if day in self.extra_trading_days:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def window_on(self, day: date) -> MarketWindow | None:
        if not self.is_trading_day(day):
            return None
        opens = datetime.combine(day, self.session_open, self.zone)
        return MarketWindow(day=day, starts_at=opens - timedelta(minutes=self.before_open_minutes),
                            ends_at=datetime.combine(day, self.session_close, self.zone))

    def windows_overlapping(self, start: datetime, end: datetime) -> list[MarketWindow]:
        """The no-update windows that the span [start, end) touches, in order (the span's ends are aware)."""
        first, last = start.astimezone(self.zone).date(), end.astimezone(self.zone).date()
        if (last - first).days > 400:  # a change planned over more than a year is refused elsewhere; stay bounded
            last = first + timedelta(days=400)
        out = []
        day = first
        while day <= last:
            window = self.window_on(day)
            if window is not None and start < window.ends_at and end > window.starts_at:
                out.append(window)
            day += timedelta(days=1)
        return out


def _clock_time(value: str) -> time:
    return time.fromisoformat(value)


class _CalendarSchema(_Strict):
    source = _text(500, required=True)
    zone = ma.fields.String(required=True)
    session_open = ma.fields.String(required=True, validate=validate.Regexp(r"^\d{2}:\d{2}$", error="Write HH:MM."))
    session_close = ma.fields.String(required=True, validate=validate.Regexp(r"^\d{2}:\d{2}$", error="Write HH:MM."))
    before_open_minutes = ma.fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 24 * 60))
    holidays = ma.fields.List(ma.fields.Date(), load_default=list)
    extra_trading_days = ma.fields.List(ma.fields.Date(), load_default=list)

    @ma.validates("zone")
    def _zone(self, value, **kwargs):
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ma.ValidationError(f"{value!r} is not a time zone (e.g. Asia/Taipei).") from exc

    @ma.validates_schema
    def _session(self, data, **kwargs):
        try:
            opens, closes = _clock_time(data["session_open"]), _clock_time(data["session_close"])
        except (KeyError, ValueError) as exc:
            raise ma.ValidationError("The session's open and close are times of day (HH:MM).", "session_open") from exc
        if closes <= opens:
            raise ma.ValidationError("The session must close after it opens.", "session_close")


def load_trading_calendar(path: Path = CALENDAR_FILE) -> TradingCalendar:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be read ({exc.strerror}).") from exc
    data = load_toml(text, _CalendarSchema(), path.name)
    return TradingCalendar(source=data["source"], zone=ZoneInfo(data["zone"]),
                           session_open=_clock_time(data["session_open"]),
                           session_close=_clock_time(data["session_close"]),
                           before_open_minutes=data["before_open_minutes"],
                           holidays=frozenset(data["holidays"]), extra_trading_days=frozenset(data["extra_trading_days"]))


class VendorCatalogues:
    """The clause list, the checklist and the trading calendar known to one application."""

    def __init__(self, calendar_file: str | None = None):
        self.clauses = load_clauses()
        self.checklist = load_checklist()
        self.calendar = load_trading_calendar(Path(calendar_file) if calendar_file else CALENDAR_FILE)
