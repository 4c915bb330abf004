"""What an engine tick and a heartbeat do, as plain functions the jobs and the tests call."""
from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.engine.models import EngineHeartbeat, EngineRole
from incident_service.extensions import db
from incident_service.reporting.alerts import fire_due_alerts
from incident_service.reporting.models import AlertState, DeadlineAlert


def run_tick(*, engine_id: str, now_fn: Callable[[], datetime], batch_size: int, zone: ZoneInfo,
             session: Session | None = None) -> int:
    """Fire everything due, batch after batch, until nothing due is left. Returns how many fired."""
    session = session or db.session
    fired = 0
    while True:
        claimed, created = fire_due_alerts(session=session, now=now_fn(), engine_id=engine_id, zone=zone, limit=batch_size)
        fired += len(created)
        if claimed < batch_size:
            break
    session.execute(
        sa.update(EngineHeartbeat).where(EngineHeartbeat.engine_id == engine_id)
        .values(last_tick_at=now_fn(), alerts_fired=EngineHeartbeat.alerts_fired + fired)
    )
    session.commit()
    return fired


def next_alert_at(*, session: Session) -> datetime | None:
    """The earliest alert instant still to fire (it may be past: another engine may be firing it), or None.
    One read of the partial index on scheduled alerts; ends its transaction."""
    soonest = session.scalar(sa.select(sa.func.min(DeadlineAlert.fire_at)).where(DeadlineAlert.state == AlertState.scheduled))
    session.commit()
    if soonest is not None and soonest.tzinfo is None:  # SQLite hands back naive UTC from an aggregate
        soonest = soonest.replace(tzinfo=UTC)
    return soonest


def register_engine(*, session: Session, engine_id: str, now: datetime, role: EngineRole = EngineRole.active) -> None:
    session.add(EngineHeartbeat(engine_id=engine_id, hostname=socket.gethostname(), pid=os.getpid(),
                                started_at=now, last_beat_at=now, alerts_fired=0, role=role))
    session.commit()


def beat(*, session: Session, engine_id: str, now: datetime, role: EngineRole | None = None) -> None:
    values: dict = {"last_beat_at": now}
    if role is not None:
        values["role"] = role
    session.execute(sa.update(EngineHeartbeat).where(EngineHeartbeat.engine_id == engine_id).values(**values))
    session.commit()


def unregister_engine(*, session: Session, engine_id: str, now: datetime) -> None:
    session.execute(sa.update(EngineHeartbeat).where(EngineHeartbeat.engine_id == engine_id).values(stopped_at=now))
    session.commit()
