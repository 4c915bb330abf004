"""The engine's vendor-duty job: every hour, each vendor's duties brought in line with the calendar.

Writes to a vendor's records resync its duties at once; this pass catches what time alone changes (a certificate
entering its warning window, a contract starting or ending, the next yearly occurrence) and anything a failed
request left behind. Only the active engine runs it (standbys take it over when it stops); idempotent all the same:
an occurrence has one unique key."""
from __future__ import annotations

import logging

from incident_service import clock
from incident_service.cases.duties import sync_all_duties
from incident_service.extensions import db
from incident_service.jobapp import current_engine_app, engine_is_active

log = logging.getLogger(__name__)


def sync_duties(engine_id: str) -> int:  # noqa: ARG001 - the engine passes its id to every job
    if not engine_is_active():
        return 0
    app = current_engine_app()
    with app.app_context():
        return sync_all_duties(session=db.session, registry=app.extensions["policies"], now=clock.now())


def add_jobs(scheduler, app, engine_id: str) -> None:
    scheduler.add_job(
        "incident_service.engine.duty_jobs:sync_duties", "interval", minutes=app.config["DUTY_SYNC_MINUTES"],
        id="sync_vendor_duties", kwargs={"engine_id": engine_id}, replace_existing=True,
    )
