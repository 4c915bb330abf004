"""What an engine tick and a heartbeat do, as plain functions the jobs and the tests call."""
from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.engine.models import EngineHeartbeat
from incident_service.extensions import db
from incident_service.reporting.alerts import fire_due_alerts


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


def register_engine(*, session: Session, engine_id: str, now: datetime) -> None:
    session.add(EngineHeartbeat(engine_id=engine_id, hostname=socket.gethostname(), pid=os.getpid(),
                                started_at=now, last_beat_at=now, alerts_fired=0))
    session.commit()


def beat(*, session: Session, engine_id: str, now: datetime) -> None:
    session.execute(sa.update(EngineHeartbeat).where(EngineHeartbeat.engine_id == engine_id).values(last_beat_at=now))
    session.commit()


def unregister_engine(*, session: Session, engine_id: str, now: datetime) -> None:
    session.execute(sa.update(EngineHeartbeat).where(EngineHeartbeat.engine_id == engine_id).values(stopped_at=now))
    session.commit()
