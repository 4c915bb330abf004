"""The engine's heartbeat job: thin. It opens an app context and calls a service function.

APScheduler stores jobs by their ``module:function`` reference with plain arguments, so these take
only strings and numbers; the app is looked up from the engine module. Firing alerts is not a job on a
fixed tick: the engine's alarm (``engine.alarm``) sleeps until the next due instant.
"""
from __future__ import annotations

from incident_service import clock
from incident_service.engine.models import EngineRole
from incident_service.engine.service import beat
from incident_service.extensions import db
from incident_service.jobapp import current_engine_app, engine_is_active


def heartbeat(engine_id: str) -> None:
    app = current_engine_app()
    with app.app_context():
        role = EngineRole.active if engine_is_active() else EngineRole.standby
        beat(session=db.session, engine_id=engine_id, now=clock.now(), role=role)
