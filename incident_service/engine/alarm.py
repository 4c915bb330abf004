"""The engine's alarm: fire what is due, then sleep until the next due instant, not a fixed tick.

A thread of the engine process. Each round calls the same services the tests call (``run_tick`` fires everything
due, ``next_alert_at`` reads the earliest instant left) and sleeps until that instant, ``ENGINE_TICK_SECONDS`` at
most: the poll is the safety net for what no NOTIFY announced (SQLite, a lost connection, rows written in bulk).
On PostgreSQL a web request that schedules an earlier alert wakes it at once (``engine.link``).
"""
from __future__ import annotations

import logging
import threading

from flask import Flask

from incident_service import clock
from incident_service.engine.link import LocalLink, PostgresLink
from incident_service.engine.models import EngineRole
from incident_service.engine.service import beat, next_alert_at, run_tick
from incident_service.extensions import db

log = logging.getLogger(__name__)

BUSY_PAUSE = 0.01


class Alarm(threading.Thread):
    def __init__(self, app: Flask, *, engine_id: str, link: LocalLink | PostgresLink, stopping: threading.Event):
        super().__init__(name="clock-alarm", daemon=True)
        self.app, self.engine_id, self.link, self.stopping = app, engine_id, link, stopping
        self.poll_seconds = float(app.config["ENGINE_TICK_SECONDS"])
        self.batch_size = int(app.config["ENGINE_BATCH_SIZE"])
        self.zone = app.extensions["policies"].zone
        self.role = EngineRole.active if link.active else EngineRole.standby

    def run(self) -> None:
        while not self.stopping.is_set():
            self.wait(self.round())

    def round(self) -> float:
        """Fire what is due; return how long to sleep (0: something is due already)."""
        try:
            with self.app.app_context():
                fired = run_tick(engine_id=self.engine_id, now_fn=clock.now, batch_size=self.batch_size, zone=self.zone)
                soonest = next_alert_at(session=db.session)
                self.link.keep()
                role = EngineRole.active if self.link.active else EngineRole.standby
                if role != self.role:  # health shows the change at once, not at the next heartbeat
                    beat(session=db.session, engine_id=self.engine_id, now=clock.now(), role=role)
                    self.role = role
        except Exception:  # noqa: BLE001 - a failed round (the database restarting) is retried after the poll
            log.exception("clock engine: a round failed; retrying in %.1f s", self.poll_seconds)
            db.session.remove()
            return self.poll_seconds
        if soonest is None:
            return self.poll_seconds
        delay = min(max((soonest - clock.now()).total_seconds(), 0.0), self.poll_seconds)
        if delay == 0 and not fired:
            delay = BUSY_PAUSE  # due, and none of it ours: another engine holds those rows right now
        return delay

    def wait(self, seconds: float) -> None:
        if seconds > 0 and not self.stopping.is_set():
            self.link.wait(seconds)
