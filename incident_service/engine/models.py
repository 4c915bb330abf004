"""The engine's heartbeat: one row per engine process, shown on /health."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from incident_service.extensions import db


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
