"""The engine's heartbeat: one row per engine process, shown on /health."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from incident_service.extensions import db


class EngineRole(str, enum.Enum):
    active = "active"  # runs the calendar jobs too (vendor duties, other clocks' scan, audit checkpoints)
    standby = "standby"  # fires alerts and delivers; takes the calendar jobs over when the active one stops


class EngineHeartbeat(db.Model):
    __tablename__ = "engine_heartbeats"

    engine_id: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    hostname: Mapped[str] = mapped_column(sa.String(200))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    last_beat_at: Mapped[datetime] = mapped_column(index=True)
    last_tick_at: Mapped[datetime | None]
    alerts_fired: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    stopped_at: Mapped[datetime | None]
    role: Mapped[EngineRole] = mapped_column(sa.Enum(EngineRole, native_enum=False, length=20),
                                             default=EngineRole.active, server_default=EngineRole.active.value)
