"""The incident's scales kept as data: the severity scale (with its source) and the firm's criteria for a
major security incident. Loaded once at start-up; a bad file stops the start with the field named."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import marshmallow as ma
from marshmallow import validate

from incident_service.datafiles import load_toml

DATA_DIR = Path(__file__).parent / "data"
SEVERITY_FILE = DATA_DIR / "severity_scale.toml"
CRITERIA_FILE = DATA_DIR / "major_incident_criteria.toml"
KEY = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="Use lower-case letters, digits and _ (at most 40).")


@dataclass(frozen=True)
class Entry:
    key: str
    label_zh: str
    label_en: str
    description_zh: str = ""
    description_en: str = ""


@dataclass(frozen=True)
class Scale:
    source: str
    source_en: str
    entries: tuple[Entry, ...]


class _Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class _LevelSchema(_Strict):
    level = ma.fields.Integer(strict=True, required=True, validate=validate.Range(1, 4))
    label_zh = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    label_en = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    description_zh = ma.fields.String(load_default="")
    description_en = ma.fields.String(load_default="")


class _CriterionSchema(_Strict):
    key = ma.fields.String(required=True, validate=KEY)
    label_zh = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    label_en = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    description_zh = ma.fields.String(load_default="")
    description_en = ma.fields.String(load_default="")


class _SeveritySchema(_Strict):
    source = ma.fields.String(required=True, validate=validate.Length(min=1))
    source_en = ma.fields.String(load_default="")
    levels = ma.fields.List(ma.fields.Nested(_LevelSchema), required=True, validate=validate.Length(equal=4))

    @ma.validates_schema
    def _one_to_four(self, data, **kwargs):
        if sorted(level["level"] for level in data.get("levels", [])) != [1, 2, 3, 4]:
            raise ma.ValidationError("Give each level 1 to 4 once.", "levels")


class _CriteriaSchema(_Strict):
    source = ma.fields.String(required=True, validate=validate.Length(min=1))
    source_en = ma.fields.String(load_default="")
    criteria = ma.fields.List(ma.fields.Nested(_CriterionSchema), required=True, validate=validate.Length(min=1))

    @ma.validates_schema
    def _keys_unique(self, data, **kwargs):
        keys = [c["key"] for c in data.get("criteria", [])]
        if len(keys) != len(set(keys)):
            raise ma.ValidationError("Criterion keys must be unique.", "criteria")


def load_severity_scale(path: Path = SEVERITY_FILE) -> Scale:
    data = load_toml(path.read_text(encoding="utf-8"), _SeveritySchema(), path.name)
    entries = tuple(Entry(key=str(level["level"]), label_zh=level["label_zh"], label_en=level["label_en"],
                          description_zh=level["description_zh"], description_en=level["description_en"])
                    for level in sorted(data["levels"], key=lambda level: level["level"]))
    return Scale(source=data["source"], source_en=data["source_en"], entries=entries)


def load_major_criteria(path: Path = CRITERIA_FILE) -> Scale:
    data = load_toml(path.read_text(encoding="utf-8"), _CriteriaSchema(), path.name)
    entries = tuple(Entry(**criterion) for criterion in data["criteria"])
    return Scale(source=data["source"], source_en=data["source_en"], entries=entries)


class Catalogues:
    """The severity scale and the major-incident criteria known to one application."""

    def __init__(self, criteria_file: str | None = None):
        self.severity = load_severity_scale()
        self.major_criteria = load_major_criteria(Path(criteria_file) if criteria_file else CRITERIA_FILE)

    def criterion_keys(self) -> list[str]:
        return [c.key for c in self.major_criteria.entries]

    def severity_label(self, level: int, zh: bool = True) -> str:
        entry = next((e for e in self.severity.entries if e.key == str(level)), None)
        if entry is None:
            return str(level)
        return entry.label_zh if zh else entry.label_en
