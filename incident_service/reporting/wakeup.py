"""Waking the clock engines when a transaction schedules an alert instant.

On PostgreSQL a ``NOTIFY`` on ``CLOCK_CHANNEL``, which the database delivers when the transaction commits (and never
for one rolled back): every engine ``LISTEN``s and looks for the next due alert at once, so an alert written due now
fires within milliseconds instead of at the next poll. On SQLite nothing: the engine's poll finds it.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

CLOCK_CHANNEL = "incident_clock"


def wake_clock(session: Session) -> None:
    """Tell the engines, at commit, that an alert instant was scheduled (PostgreSQL; a no-op elsewhere)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_notify(CLOCK_CHANNEL, "")))
