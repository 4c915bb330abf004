"""Rules kept as data files (TOML), read through a marshmallow schema: a bad file is refused with a message
naming the file and the field (``bad.toml: clocks.0.duration: ...``)."""
from __future__ import annotations

import tomllib
from typing import Any

import marshmallow as ma


class DataFileError(ValueError):
    """A data file is not valid; the message names the file and the field."""


def flatten_errors(errors: Any, prefix: str = "") -> list[str]:
    """marshmallow's nested messages as ``field.path: message`` lines."""
    if isinstance(errors, dict):
        out: list[str] = []
        for key, value in errors.items():
            out += flatten_errors(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        return [f"{prefix}: {' '.join(errors)}"]
    return [f"{prefix}: {errors}"]


def load_toml(text: str, schema: ma.Schema, source: str, error: type[DataFileError] = DataFileError) -> dict[str, Any]:
    """Parse TOML text and load it through ``schema``; raise ``error`` naming ``source`` and the field."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source}: not valid TOML: {exc}") from exc
    try:
        return schema.load(raw)
    except ma.ValidationError as exc:
        raise error(f"{source}: " + "; ".join(flatten_errors(exc.messages))) from exc
