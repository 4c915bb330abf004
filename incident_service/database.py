"""Declarative base, the UTC datetime column type and small shared helpers."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database.

    SQLite hands back naive datetimes even from ``DateTime(timezone=True)``: we store UTC and
    re-attach UTC on the way out, so every datetime in the program is aware.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every stored time must carry its zone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    # Flask-SQLAlchemy 3.1 refuses type_annotation_map on the base itself; a registry carries it.
    registry = registry(type_annotation_map={datetime: UTCDateTime})
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utc(value: datetime | None) -> datetime | None:
    """Normalise an aware datetime to UTC (``None`` passes through)."""
    if value is None:
        return None
    return value.astimezone(UTC)


def utc_iso(value: datetime) -> str:
    """ISO 8601 in UTC with ``Z``, as the API answers."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """A value as it can stand in a JSON change record."""
    if isinstance(value, datetime):
        return utc_iso(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, (int, float, str, bool)):
        return value.value  # enums
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return str(value)


def apply_changes(record: Any, data: dict[str, Any]) -> dict[str, list[Any]]:
    """Set the given attributes; return ``{field: [old, new]}`` for those that really changed."""
    changes: dict[str, list[Any]] = {}
    for field, new in data.items():
        old = getattr(record, field)
        if jsonable(old) != jsonable(new):
            changes[field] = [jsonable(old), jsonable(new)]
            setattr(record, field, new)
    return changes


class EncryptedText(TypeDecorator):
    """A secret stored encrypted (Fernet, a key derived from ``FIELD_ENCRYPTION_KEY`` or ``SECRET_KEY``).

    In Python the attribute holds the plain value; a database dump or backup holds only ciphertext.
    """

    impl = sa.String(255)
    cache_ok = True

    @staticmethod
    def _fernet():
        import base64
        import hashlib

        from cryptography.fernet import Fernet
        from flask import current_app

        secret = current_app.config.get("FIELD_ENCRYPTION_KEY") or current_app.config["SECRET_KEY"]
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"field-encryption:{secret}".encode()).digest()))

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return self._fernet().encrypt(value.encode()).decode()

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet().decrypt(value.encode()).decode()
        except InvalidToken as exc:
            # Never treat an unreadable secret as "none": that would let a password alone enrol a new factor.
            raise RuntimeError("an encrypted field cannot be read: FIELD_ENCRYPTION_KEY or SECRET_KEY changed") from exc


def empty_database(db: Any) -> None:
    """Drop every table, Alembic's version table included. For tests and benchmarks, never the running service."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
