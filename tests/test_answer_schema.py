"""An answer dumped through its compiled plan is exactly what marshmallow itself would dump."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import marshmallow as ma
import pytest

from incident_service.answer_schema import AnswerSchema
from incident_service.api_common import StrictSchema, UTCDateTimeField
from incident_service.reporting import schemas as reporting_schemas
from incident_service.vendors import schemas as vendor_schemas


class Colour(str, enum.Enum):
    red = "r"


class Inner(AnswerSchema):
    at = UTCDateTimeField(allow_none=True)
    n = ma.fields.Integer()


class Every(AnswerSchema):
    text = ma.fields.String()
    number = ma.fields.Integer()
    ratio = ma.fields.Float(allow_none=True)
    flag = ma.fields.Boolean()
    colour_name = ma.fields.Enum(Colour, attribute="colour")
    colour_value = ma.fields.Enum(Colour, by_value=True, attribute="shade")
    at = UTCDateTimeField(allow_none=True)
    day = ma.fields.Date(allow_none=True)
    items = ma.fields.List(ma.fields.Integer())
    raw = ma.fields.Raw()
    mapping = ma.fields.Dict()
    one = ma.fields.Nested(Inner)
    many = ma.fields.List(ma.fields.Nested(Inner))
    dotted = ma.fields.String(attribute="one.at")
    amount = ma.fields.Decimal(as_string=True)  # not a plain kind: marshmallow's own way
    renamed = ma.fields.Integer(data_key="renamedKey", attribute="count")
    computed = ma.fields.Method("_computed")
    absent = ma.fields.String()

    def _computed(self, obj):
        return obj.number * 2


@dataclass
class Thing:
    text: str = "x"
    number: int = 3
    ratio: float | None = None
    flag: bool = True
    colour: Colour = Colour.red
    shade: Colour = Colour.red
    count: int = 3
    at: datetime | None = datetime(2026, 11, 21, 2, 10, tzinfo=UTC)
    day: date | None = date(2026, 11, 21)
    items: list = field(default_factory=lambda: [1, 2])
    raw: object = field(default_factory=lambda: {"a": [1]})
    mapping: dict = field(default_factory=lambda: {"k": "v"})
    one: object = None
    many: list = field(default_factory=list)
    amount: Decimal = Decimal("99.950")


def _marshmallow(schema, obj, many=False):
    return ma.Schema._serialize(schema, obj, many=many)


@pytest.mark.parametrize("thing", [
    Thing(), Thing(ratio=1.5, at=None, day=None, one={"at": datetime(2026, 1, 1, tzinfo=UTC), "n": 1},
                   many=[{"at": None, "n": 2}]),
])
def test_the_plan_dumps_what_marshmallow_dumps(thing):
    schema = Every()
    assert schema.dump(thing) == Every().dump(thing)  # stable
    plain = _marshmallow(schema, thing)
    assert schema.dump(thing) == plain
    assert "absent" not in plain and plain["renamedKey"] == 3 and plain["amount"] == "99.950"


def test_every_answer_schema_of_the_read_side_uses_the_plan():
    for module in (reporting_schemas, vendor_schemas):
        for name, cls in vars(module).items():
            if isinstance(cls, type) and issubclass(cls, ma.Schema) and cls.__module__ == module.__name__ \
                    and not issubclass(cls, StrictSchema):  # a strict schema reads requests
                assert issubclass(cls, AnswerSchema), f"{module.__name__}.{name} dumps answers field by field"
