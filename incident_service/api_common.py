"""Pieces every API module shares: strict schemas, UTC time fields, pagination and version checks."""
from __future__ import annotations

from datetime import UTC, date, datetime

import marshmallow as ma
from flask import current_app, g, has_request_context, request
from flask_smorest import Page
from sqlalchemy import func, select

from incident_service.database import utc_iso
from incident_service.errors import Conflict
from incident_service.textcheck import text_problem
from incident_service.timerange import RANGE_MESSAGE, in_range
from incident_service import clock
from incident_service.extensions import db

MAX_TEXT = 10_000  # long free text (descriptions, root cause, filed report text)
MAX_LINE = 200  # names and titles


def _input_errors(value, path: str, errors: dict) -> None:
    """Every date outside 2000–2100 and every text with NUL or a lone surrogate, by field (nested too)."""
    if isinstance(value, dict):
        for key, child in value.items():
            _input_errors(child, key if not path else path, errors)
    elif isinstance(value, list):
        for child in value:
            _input_errors(child, path, errors)
    elif isinstance(value, (date, datetime)):
        if not in_range(value.date() if isinstance(value, datetime) else value):
            errors.setdefault(path, []).append(RANGE_MESSAGE)
    elif isinstance(value, str) and (problem := text_problem(value, one_line=False)):
        errors.setdefault(path, []).append(problem)


class StrictSchema(ma.Schema):
    """Unknown fields are refused, so a typo never passes silently; and in every field of every input schema,
    dates lie between 2000-01-01 and 2100-12-31 and text holds no NUL or lone surrogate (one rule, here, rather
    than in each schema)."""

    class Meta:
        unknown = ma.RAISE
        ordered = True

    @ma.validates_schema
    def _storable(self, data, **kwargs):
        errors: dict[str, list[str]] = {}
        for name, value in data.items():
            _input_errors(value, name, errors)
        if errors:
            raise ma.ValidationError(errors)


class UTCDateTimeField(ma.fields.AwareDateTime):
    """ISO 8601 with an offset on the way in; UTC with ``Z`` on the way out."""

    default_error_messages = {
        "invalid": "Not a valid date-time: use ISO 8601 with an offset, e.g. 2026-11-21T02:10:00+08:00.",
        "invalid_awareness": "Give the time with its UTC offset, e.g. 2026-11-21T02:10:00+08:00.",
    }

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else utc_iso(value)

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        try:
            utc = result.astimezone(UTC)
        except (OverflowError, OSError, ValueError) as exc:  # year 1 or 9999 with an offset: off the platform's range
            raise ma.ValidationError(RANGE_MESSAGE) from exc
        if not in_range(utc.date()):
            raise ma.ValidationError(RANGE_MESSAGE)
        return utc


def _one_line(value: str) -> None:
    if problem := text_problem(value, one_line=True):
        raise ma.ValidationError(problem)


def _text(value: str) -> None:
    if problem := text_problem(value, one_line=False):
        raise ma.ValidationError(problem)


def Line(*, required: bool = False, max_length: int = MAX_LINE, **kwargs) -> ma.fields.String:
    """A one-line text field (titles, names, references): no line breaks or control characters, a length limit."""
    return ma.fields.String(
        required=required, validate=[ma.validate.Length(min=1 if required else 0, max=max_length), _one_line], **kwargs
    )


def Text(**kwargs) -> ma.fields.String:
    """Free text: line breaks and tabs are fine; NUL, lone surrogates and other control characters are not."""
    return ma.fields.String(validate=[ma.validate.Length(max=MAX_TEXT), _text], allow_none=True, **kwargs)


def Minutes(**kwargs) -> ma.fields.Integer:
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=10_000_000), **kwargs)


class VersionedUpdateSchema(StrictSchema):
    version = ma.fields.Integer(
        strict=True,
        load_default=None,
        metadata={"description": "The version you read; a stale one gets 409. Or send it as If-Match."},
    )


def expected_version(data: dict) -> int | None:
    """The version a PATCH was based on: the body's ``version`` or the ``If-Match`` header."""
    body_version = data.pop("version", None)
    header = request.headers.get("If-Match")
    if header:
        raw = header.strip().removeprefix("W/").strip('"')
        if raw.isdigit():
            return int(raw)
    return body_version


def check_version(record, expected: int | None) -> None:
    """Refuse a write based on a stale read, so concurrent edits never overwrite each other."""
    if expected is not None and expected != record.version:
        raise Conflict(
            f"This record changed meanwhile (you had version {expected}, it is now {record.version}). "
            "Reload it and apply your change again.",
            errors={"version": [f"stale: current version is {record.version}"]},
            code="stale_version",
        )


class SQLCursorPage(Page):
    """Paginate a SQLAlchemy select without loading every row."""

    @property
    def item_count(self):
        return db.session.scalar(select(func.count()).select_from(self.collection.order_by(None).subquery()))

    @property
    def items(self):
        params = self.page_params
        return db.session.scalars(self.collection.offset(params.first_item).limit(params.page_size)).unique().all()


def now_utc_iso(value: datetime) -> str:
    return utc_iso(value)


def request_now() -> datetime:
    """One "now" per request, so every figure in an answer is computed against the same instant."""
    if not has_request_context():
        return clock.now()
    # Kept on the request itself, not on g: g outlives a request when an app context was already pushed.
    if "incident_service.now" not in request.environ:
        request.environ["incident_service.now"] = clock.now()
    return request.environ["incident_service.now"]


def actor() -> tuple[str, int | None]:
    """Who is acting in this request: (name for the record, user id). Set by the auth layer."""
    return getattr(g, "actor_name", "anonymous"), getattr(g, "actor_id", None)


def registry():
    """The reporting policies loaded at start-up."""
    return current_app.extensions["policies"]


def catalogues():
    """The severity scale and major-incident criteria loaded at start-up."""
    return current_app.extensions["catalogues"]


def vendor_catalogues():
    """The contract clauses, the outsourcing checklist and the trading calendar loaded at start-up."""
    return current_app.extensions["vendor_catalogues"]
