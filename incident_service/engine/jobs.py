"""The engine's jobs: thin. Each opens an app context and calls a service function.

APScheduler stores jobs by their ``module:function`` reference with plain arguments, so these take
only strings and numbers; the app is looked up from the engine module.
"""
from __future__ import annotations

import logging

from incident_service import clock
from incident_service.jobapp import current_engine_app
from incident_service.engine.service import beat, run_tick
from incident_service.extensions import db

log = logging.getLogger(__name__)


def fire_due_alerts(engine_id: str) -> int:
    """Claim every due warning and escalation and write its notification, in due order."""

    app = current_engine_app()
    with app.app_context():
        return run_tick(engine_id=engine_id, now_fn=clock.now, batch_size=app.config["ENGINE_BATCH_SIZE"],
                        zone=app.extensions["policies"].zone)


def heartbeat(engine_id: str) -> None:
    app = current_engine_app()
    with app.app_context():
        beat(session=db.session, engine_id=engine_id, now=clock.now())
