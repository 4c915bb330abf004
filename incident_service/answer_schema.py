"""The base of every answer schema: marshmallow describes the answer (the OpenAPI document comes from it) and
dumping runs a plan compiled once from the same fields.

Marshmallow walks every field of every row through several layers of calls; a list of 50 incidents with their
clocks is some 17,000 of them. The plan does the same work in one closure per field, with the same output for the
field types answers use (``tests/test_answer_schema.py`` holds the two equal); any other field goes through
marshmallow's own ``serialize``, so nothing is ever dumped differently.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import marshmallow as ma

from incident_service.api_common import UTCDateTimeField
from incident_service.database import utc_iso

_SKIP = object()
Dump = Callable[[Any], dict[str, Any]]


def _reader(attribute: str) -> Callable[[Any], Any]:
    """Reads ``attribute`` (dotted for a path) off an object or a mapping; _SKIP where it is absent, as marshmallow
    leaves the key out."""
    parts = attribute.split(".")

    def read(obj: Any) -> Any:
        for part in parts:
            if type(obj) is dict:
                obj = obj.get(part, _SKIP)
            else:
                value = getattr(obj, part, _SKIP)
                if value is _SKIP and isinstance(obj, Mapping):
                    value = obj.get(part, _SKIP)
                obj = value
            if obj is _SKIP:
                return _SKIP
        return obj

    if len(parts) == 1:  # the common case, without the loop
        name = parts[0]

        def read_one(obj: Any) -> Any:
            if type(obj) is dict:
                return obj.get(name, _SKIP)
            value = getattr(obj, name, _SKIP)
            if value is _SKIP and isinstance(obj, Mapping):
                return obj.get(name, _SKIP)
            return value
        return read_one
    return read


def _time(value: datetime | None) -> str | None:
    return None if value is None else utc_iso(value)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _converter(field: ma.fields.Field) -> Callable[[Any], Any] | None:
    """How one field turns a value into JSON, where it is one of the plain kinds answers use; None otherwise."""
    if field.dump_default is not ma.missing:
        return None
    if isinstance(field, ma.fields.Method):
        return None  # needs the object, not a value: handled by the caller
    if isinstance(field, ma.fields.Nested):
        nested = field.schema
        if not isinstance(nested, AnswerSchema):
            return None
        many = nested.many or field.many
        return lambda v: None if v is None else nested.dump(v, many=many)
    if isinstance(field, ma.fields.List):
        inner = _converter(field.inner)
        if inner is None:
            return None
        return lambda v: None if v is None else [inner(x) for x in v]
    if isinstance(field, ma.fields.Enum):
        if field.by_value is False:
            return lambda v: None if v is None else v.name
        return lambda v: None if v is None else v.value
    if isinstance(field, UTCDateTimeField):  # ISO 8601 in UTC with Z
        return _time
    if isinstance(field, ma.fields.DateTime):
        return None
    if isinstance(field, ma.fields.Date):
        return _day if field.format in (None, "iso", "iso8601") else None
    if isinstance(field, ma.fields.Boolean):
        return lambda v: None if v is None else bool(v)
    if isinstance(field, ma.fields.Float):
        return lambda v: None if v is None else float(v)
    if isinstance(field, ma.fields.Integer) and not field.as_string:
        return lambda v: None if v is None else int(v)
    if type(field) in (ma.fields.String, ma.fields.Email, ma.fields.Url):
        return lambda v: None if v is None else str(v)
    if type(field) in (ma.fields.Raw, ma.fields.Dict) and getattr(field, "key_field", None) is None \
            and getattr(field, "value_field", None) is None:
        return lambda v: v
    return None


def _step(schema: ma.Schema, name: str, field: ma.fields.Field) -> Callable[[Any, dict], None]:
    key = field.data_key or name
    if isinstance(field, ma.fields.Method):
        method = getattr(schema, field.serialize_method_name)

        def by_method(obj: Any, out: dict) -> None:
            out[key] = method(obj)
        return by_method
    convert = _converter(field)
    if convert is None:  # marshmallow's own way, for anything unusual

        def by_marshmallow(obj: Any, out: dict) -> None:
            value = field.serialize(name, obj, accessor=schema.get_attribute)
            if value is not ma.missing:
                out[key] = value
        return by_marshmallow
    read = _reader(field.attribute or name)

    def by_plan(obj: Any, out: dict) -> None:
        value = read(obj)
        if value is not _SKIP:
            out[key] = convert(value)
    return by_plan


class AnswerSchema(ma.Schema):
    """A schema for answers: dumped through a compiled plan (see the module's doc)."""

    _dump_plan: Dump | None = None

    def _plan(self) -> Dump:
        if self._dump_plan is None:
            steps = [_step(self, name, field) for name, field in self.dump_fields.items()]

            def dump_one(obj: Any) -> dict[str, Any]:
                out: dict[str, Any] = {}
                for step in steps:
                    step(obj, out)
                return out

            self._dump_plan = dump_one
        return self._dump_plan

    def _serialize(self, obj: Any, *, many: bool = False):
        plan = self._plan()
        if many:
            return [plan(item) for item in obj] if obj is not None else []
        return plan(obj)
