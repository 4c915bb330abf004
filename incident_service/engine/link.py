"""The engine's own line to the database, besides its pool: what wakes it, and whether it is the active engine.

On PostgreSQL one autocommit connection of its own:
- ``LISTEN`` on the clock's channel, so a web request that schedules an earlier alert wakes the engine at once
  (``reporting.wakeup``); the engine's poll stays the safety net;
- a session advisory lock whose holder is the **active** engine: it runs the calendar jobs (vendor duties, other
  clocks' scan, audit checkpoints); the others are **standbys** for them. Every engine fires alerts and delivers.
  An engine that dies loses the lock with its connection, so a standby becomes active within about a second.
  The calendar jobs are idempotent, so two actives for a moment (a split network) do no harm.

On SQLite nothing to listen to, and the file lock (``engine.lock``) already made this engine the only one: active.
"""
from __future__ import annotations

import logging
import threading
import time

import sqlalchemy as sa

from incident_service.reporting.wakeup import CLOCK_CHANNEL

log = logging.getLogger(__name__)

# Advisory locks are per database: one key for "the active clock engine".
ACTIVE_LOCK = "SELECT pg_try_advisory_lock(hashtextextended('incident_service:active_engine', 0))"
# A host that vanishes without closing its socket keeps its lock until the server notices: a minute at most.
KEEPALIVES = ("SET tcp_keepalives_idle = 15", "SET tcp_keepalives_interval = 5", "SET tcp_keepalives_count = 6")


class LocalLink:
    """SQLite: the only engine, so the active one; waits end early only when the engine is told to stop."""

    active = True

    def __init__(self, stopping: threading.Event):
        self._stopping = stopping

    def keep(self) -> None:
        pass

    def wait(self, timeout: float) -> None:
        self._stopping.wait(timeout)

    def close(self) -> None:
        pass


class PostgresLink:
    """LISTEN for earlier alerts and hold the active engine's lock, on one connection outside the pool."""

    def __init__(self, engine: sa.Engine, stopping: threading.Event, *, retry_seconds: float = 1.0):
        self._engine = engine
        self._stopping = stopping
        self._retry_seconds = retry_seconds
        self._conn = None  # a psycopg connection, autocommit
        self._checked_at = float("-inf")
        self.active = False
        self.keep()

    def keep(self) -> None:
        """(Re)connect and LISTEN, try to become active, or check the line is alive: at most once per retry."""
        if time.monotonic() - self._checked_at < self._retry_seconds:
            return
        self._checked_at = time.monotonic()
        try:
            if self._conn is None:
                pooled = self._engine.raw_connection()
                conn = pooled.driver_connection
                pooled.detach()  # ours for good: closing it must end the session (and free the lock)
                conn.autocommit = True
                for statement in KEEPALIVES:
                    conn.execute(statement)
                conn.execute(f"LISTEN {CLOCK_CHANNEL}")
                self._conn = conn
            if not self.active:
                self.active = bool(self._conn.execute(ACTIVE_LOCK).fetchone()[0])
                if self.active:
                    log.info("clock engine is now the active one (it runs the calendar jobs)")
            else:
                self._conn.execute("SELECT 1")
        except Exception:  # noqa: BLE001 - any failure of the line: drop it, stand by, retry
            log.warning("clock engine: its own database connection failed; polling until it is back", exc_info=True)
            self._drop()

    def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout`` seconds; a NOTIFY (an alert was scheduled) ends it early."""
        if self._conn is None:
            self._stopping.wait(timeout)
            return
        try:
            for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                pass
        except Exception:  # noqa: BLE001
            log.warning("clock engine: LISTEN connection lost; polling until it is back", exc_info=True)
            self._drop()

    def _drop(self) -> None:
        if self.active:
            log.warning("clock engine stands by: it lost the active engine's lock with its connection")
        self.active = False
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - already broken
                pass

    def close(self) -> None:
        self.active = False  # stopping, not failing: the lock goes with the connection
        self._drop()


def open_link(engine: sa.Engine, stopping: threading.Event) -> LocalLink | PostgresLink:
    if engine.dialect.name == "postgresql":
        return PostgresLink(engine, stopping)
    return LocalLink(stopping)
