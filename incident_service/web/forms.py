"""Web form plumbing shared by every area: times in the firm's zone, checkbox lists, and errors beside fields.

A web form is parsed by WTForms (CSRF, types), then through the same marshmallow schema as the API, so a
rule lives in one place; the dict it yields is what the service function takes.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import marshmallow as ma
from flask import flash, redirect
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, widgets
from wtforms.fields import DateField, DateTimeLocalField, DecimalField
from wtforms.fields.choices import SelectChoice

from incident_service.database import jsonable
from incident_service.errors import DomainError, ValidationFailed
from incident_service.timerange import EARLIEST, LATEST, in_range
from incident_service.api_common import registry, request_now
from incident_service.extensions import db
from incident_service.web.wording import field_message, refusal

# A browser's datetime-local input accepts only the "T" form, so it comes first (it is what we render).
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
NOT_ON_FORM = "_form"
EVENT_RANGE_MESSAGE = _l("Give a time between 2000-01-01 and tomorrow.")
DAY_RANGE_MESSAGE = _l("Give a date between 2000-01-01 and 2100-12-31.")


def _firm_zone():
    return registry().zone


class ZonedDateTimeField(DateTimeLocalField):
    """A datetime-local input read and shown in the firm's zone; ``data`` is aware. Times of what happened lie between
    2000-01-01 and the end of tomorrow (a day of slack for a clock or zone mix-up); the input carries the same limits
    (``min``/``max``), and the page's script checks them with our own words."""

    def __init__(self, *args, ahead: bool = False, **kwargs):
        kwargs.setdefault("format", LOCAL_FORMATS)
        super().__init__(*args, tz=_firm_zone, **kwargs)
        self.ahead = ahead  # a planned time (a vendor change's window) may lie ahead, up to 2100

    def _latest(self) -> date:
        return LATEST if self.ahead else latest_event_day()

    def _message(self) -> str:
        return str(DAY_RANGE_MESSAGE if self.ahead else EVENT_RANGE_MESSAGE)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except (OverflowError, OSError) as exc:  # a time the platform cannot place in a zone
            self.data = None
            raise ValueError(self._message()) from exc
        if self.data is not None and not (EARLIEST <= self.data.date() <= self._latest()):
            self.data = None
            raise ValueError(self._message())

    def __call__(self, **kwargs):
        kwargs.setdefault("min", f"{EARLIEST.isoformat()}T00:00")
        kwargs.setdefault("max", f"{self._latest().isoformat()}T23:59")
        kwargs.setdefault("data-range-message", self._message())
        kwargs.setdefault("step", "1")  # awareness is kept to the second; the browser's default step is a minute
        return super().__call__(**kwargs)


def latest_event_day() -> date:
    """Tomorrow in the firm's zone: the latest day anything can have happened on."""
    return request_now().astimezone(_firm_zone()).date() + timedelta(days=1)


class FiniteDecimalField(DecimalField):
    """A decimal number; NaN and infinities (which no range check can compare) are refused as not a number."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError("Not a valid decimal value.")


class DayField(DateField):
    """A date input between 2000-01-01 and 2100-12-31 (a due date or a contract's end lies ahead)."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except (OverflowError, OSError) as exc:
            self.data = None
            raise ValueError(str(DAY_RANGE_MESSAGE)) from exc
        if self.data is not None and not in_range(self.data):
            self.data = None
            raise ValueError(str(DAY_RANGE_MESSAGE))

    def __call__(self, **kwargs):
        kwargs.setdefault("min", EARLIEST.isoformat())
        kwargs.setdefault("max", LATEST.isoformat())
        kwargs.setdefault("data-range-message", str(DAY_RANGE_MESSAGE))
        return super().__call__(**kwargs)


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (easier on a phone than a multi-select)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as a select's choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def optional_int(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)


def now_in_zone(now: datetime) -> datetime:
    """A default for a datetime-local field: now, to the minute (the input shows no seconds)."""
    return now.astimezone(_firm_zone()).replace(second=0, microsecond=0)


def payload(form: FlaskForm, names: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The form's values as the API would receive them (empty text → None for optional fields)."""
    out: dict[str, Any] = {}
    for name in names:
        value = form[name].data
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                value = None
        if isinstance(value, datetime):
            value = value.astimezone(UTC)
        out[name] = jsonable(value)
    return out


def load(form: FlaskForm, schema: ma.Schema, names: list[str] | tuple[str, ...], *, extra: dict | None = None,
         drop_none: bool = False) -> dict | None:
    """Validate the form's values with the API's schema; errors go beside the fields. None when refused."""
    data = {**payload(form, names), **(extra or {})}
    if drop_none:
        data = {k: v for k, v in data.items() if v is not None}
    try:
        loaded = schema.load(data)
    except ma.ValidationError as exc:
        attach_errors(form, exc.messages)
        return None
    # Update schemas fill in ``version`` (the record's version read); the view passes it on separately.
    return {k: v for k, v in loaded.items() if k in names or k in (extra or {})}


def attach_errors(form: FlaskForm, errors: dict[str, Any]) -> None:
    """Put each message beside its field; messages about fields not on this form go to the form's top."""
    for name, messages in (errors or {}).items():
        if isinstance(messages, dict):  # nested (a list element): flatten to its messages
            messages = [m for sub in messages.values() for m in (sub if isinstance(sub, list) else [sub])]
        if isinstance(messages, str):
            messages = [messages]
        field = form._fields.get(name)
        if field is not None and field.type not in ("HiddenField", "CSRFTokenField"):
            field.errors = list(field.errors or []) + [field_message(m) for m in messages]
        else:
            form.form_errors.extend(f"{name}: {field_message(m)}" if name != NOT_ON_FORM else field_message(m) for m in messages)


def refuse(form: FlaskForm, error: DomainError) -> None:
    """A domain rule refused the change: undo the session's work and show why, beside the fields."""

    db.session.rollback()
    attach_errors(form, error.errors)
    if not isinstance(error, ValidationFailed) or not has_errors(form):
        form.form_errors.insert(0, refusal(error))  # a conflict says what to do; field errors speak for themselves


def has_errors(form: FlaskForm) -> bool:
    return bool(form.form_errors) or any(f.errors for f in form)


def submit(form: FlaskForm, schema: ma.Schema, names: list[str] | tuple[str, ...], action: Callable[[dict], Any], *,
           done: str, then: str, extra: dict | None = None, drop_none: bool = False):
    """The one path of a web form that writes: CSRF and types (WTForms), the API's schema, the use case, then a flash
    and a redirect. None when anything refused it: the errors are on the form, the session rolled back, and the
    view re-renders the form with its input kept (status 422)."""
    if not form.validate_on_submit():
        return None
    data = load(form, schema, names, extra=extra, drop_none=drop_none)
    if data is None:
        return None
    try:
        action(data)
    except DomainError as error:
        refuse(form, error)
        return None
    flash(done, "success")
    return redirect(then)
