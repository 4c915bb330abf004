"""Audit entries, chained by hash, and the chain's head."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from incident_service.extensions import db

GENESIS_HASH = "0" * 64


class AuditEntry(db.Model):
    """One append-only entry. ``seq`` is the chain order; ``hash`` covers every field and ``prev_hash``."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(sa.String(80), index=True)
    actor_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(sa.String(20))  # create update delete bulk_update bulk_delete read export denied
    record_type: Mapped[str] = mapped_column(sa.String(80), index=True)  # a table name, or an endpoint for reads
    record_id: Mapped[str | None] = mapped_column(sa.String(80), index=True)
    old_values: Mapped[dict | None] = mapped_column(sa.JSON)
    new_values: Mapped[dict | None] = mapped_column(sa.JSON)
    details: Mapped[dict | None] = mapped_column(sa.JSON)  # method, path, client address
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditChainHead(db.Model):
    """A single row: the last entry's ``seq`` and ``hash``. Appends lock it, so the chain stays linear,
    and ``audit verify`` compares it with the last entry, so deleting the newest entries shows too."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    hash: Mapped[str] = mapped_column(sa.String(64), default=GENESIS_HASH)


# On PostgreSQL the database itself keeps the trail append-only: UPDATE, DELETE and TRUNCATE of audit_entries
# raise, and the head only moves forward. (A migration installs the same on an existing database; on SQLite
# `flask audit verify` with its signed checkpoints is the guard.)
APPEND_ONLY_DDL = (
    """CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
        MESSAGE = 'audit_entries is append-only: ' || TG_OP || ' refused';
END $$""",
    "CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries "
    "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()",
    "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
    """CREATE OR REPLACE FUNCTION audit_chain_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.seq < OLD.seq THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = 'audit_chain_head only moves forward: ' || TG_OP || ' refused';
    END IF;
    RETURN NEW;
END $$""",
    "CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE OR DELETE ON audit_chain_head "
    "FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward_only()",
    "CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_forward_only()",
)


def _install_append_only(target, connection, **kw) -> None:
    """After create_all made the second of the two tables (whichever order it chose)."""
    if connection.dialect.name != "postgresql":
        return
    inspector = sa.inspect(connection)
    if inspector.has_table("audit_entries") and inspector.has_table("audit_chain_head"):
        for statement in APPEND_ONLY_DDL:
            connection.exec_driver_sql(statement)


sa.event.listen(AuditEntry.__table__, "after_create", _install_append_only)
sa.event.listen(AuditChainHead.__table__, "after_create", _install_append_only)
