"""Declarative base, the UTC datetime column type and small shared helpers."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import MetaData
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator

from incident_service.keys import field_cipher

log = logging.getLogger(__name__)

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
        if value.tzinfo is UTC:
            return value
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
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


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


class UnreadableSecret:
    """What an encrypted column holds in Python when none of the keys decrypts it.

    Never "no secret" (that would let a password alone enrol a new factor) and never a string that could be used:
    it is true, compares equal only to itself, and cannot be stored again. Code that uses a secret checks for it
    and answers with a clear error instead of failing.
    """

    __slots__ = ()

    def __bool__(self) -> bool:
        return True

    def __str__(self) -> str:
        return "[unreadable]"

    __repr__ = __str__


UNREADABLE = UnreadableSecret()


def is_unreadable(value: Any) -> bool:
    return isinstance(value, UnreadableSecret)


class EncryptedText(TypeDecorator):
    """A secret stored encrypted (Fernet; ``FIELD_ENCRYPTION_KEY``, newest key first, or else ``SECRET_KEY``).

    In Python the attribute holds the plain value; a database dump or backup holds only ciphertext. Every column
    of this type is redacted in the audit trail, and ``flask keys rotate`` re-encrypts them all with the newest key.
    ``length`` is the stored (ciphertext) length: about 1.4 times the plain text's bytes, plus 100.
    """

    impl = sa.String(255)
    cache_ok = True

    @staticmethod
    def _cipher():
        return field_cipher(current_app.config)

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if is_unreadable(value):
            raise ValueError("an unreadable secret cannot be stored again: set a new value")
        return self._cipher().encrypt(value.encode()).decode()

    def process_result_value(self, value: str | None, dialect: Any) -> str | UnreadableSecret | None:
        if value is None:
            return None
        try:
            return self._cipher().decrypt(value.encode()).decode()
        except InvalidToken:
            log.error("an encrypted field cannot be read with any FIELD_ENCRYPTION_KEY (KEY-001)")
            return UNREADABLE


def encrypted_columns(metadata: MetaData) -> list[tuple[sa.Table, sa.Column]]:
    """Every column stored encrypted, in every table."""
    return [(table, column) for table in metadata.sorted_tables for column in table.columns
            if isinstance(column.type, EncryptedText)]


@dataclass
class Rotation:
    rewritten: int = 0
    unreadable: list[str] = field(default_factory=list)  # "table.column#id" of values no key can read


def rotate_encrypted_columns(connection: sa.Connection, metadata: MetaData, cipher: MultiFernet) -> Rotation:
    """Re-encrypt every stored secret with the newest key (Core statements: values never pass the ORM or the trail)."""
    outcome = Rotation()
    for table, column in encrypted_columns(metadata):
        key = list(table.primary_key.columns)
        raw = sa.type_coerce(column, sa.String)
        for row in connection.execute(sa.select(*key, raw.label("value")).where(column.is_not(None))):
            ident = ",".join(str(row[i]) for i in range(len(key)))
            try:
                token = cipher.rotate(row.value.encode()).decode()
            except InvalidToken:
                outcome.unreadable.append(f"{table.name}.{column.name}#{ident}")
                continue
            condition = sa.and_(*(c == row[i] for i, c in enumerate(key)))
            connection.execute(sa.update(table).where(condition).values({column.name: sa.type_coerce(token, sa.String)}))
            outcome.rewritten += 1
    return outcome


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


class minutes_between(sa.sql.functions.FunctionElement):
    """SQL: the minutes from ``start`` to ``end`` (two timestamp expressions), exact to the millisecond on
    SQLite and PostgreSQL alike, so a rule compared in SQL agrees with the same rule in Python at its boundary."""

    type = sa.Float()
    inherit_cache = True
    name = "minutes_between"


@compiles(minutes_between, "postgresql")
def _minutes_between_postgresql(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)})) / 60.0)"


@compiles(minutes_between, "sqlite")
def _minutes_between_sqlite(element, compiler, **kw):
    start, end = list(element.clauses)
    # julianday() is a float of days: rounded to whole milliseconds it is exact for any date in range.
    return (f"(ROUND((julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)})) "
            f"* 86400000.0) / 60000.0)")
