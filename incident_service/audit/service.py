"""Reading the trail: filters shared by the web page, the export and the API."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from incident_service.audit.models import AuditEntry


def entries_query(*, actor: str | None = None, record_type: str | None = None, record_id: str | None = None,
                  action: str | None = None, since: datetime | None = None, until: datetime | None = None) -> sa.Select:
    """Newest first. ``since`` is inclusive, ``until`` exclusive."""
    stmt = sa.select(AuditEntry).order_by(AuditEntry.seq.desc())
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if record_type:
        stmt = stmt.where(AuditEntry.record_type == record_type)
    if record_id:
        stmt = stmt.where(AuditEntry.record_id == str(record_id))
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.at < until)
    return stmt


CSV_COLUMNS = ("seq", "at", "actor", "actor_id", "action", "record_type", "record_id", "old_values", "new_values",
               "details", "prev_hash", "hash")
