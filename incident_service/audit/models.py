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
