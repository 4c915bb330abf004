"""The engine's delivery jobs: thin. Each opens an app context and calls a service function.

Referenced as ``module:function`` with plain arguments (APScheduler stores jobs that way); the app is the
engine's. ``add_jobs`` is what ``engine.runner.build_scheduler`` calls to register them.
"""
from __future__ import annotations

import logging

from incident_service import clock
from incident_service.jobapp import current_engine_app, engine_is_active, engine_stopping
from incident_service.extensions import db
from incident_service.notify.delivery import deliver_due
from incident_service.notify.settings import current_settings
from incident_service.notify.sources import route_new_notifications, scan_sources as scan

log = logging.getLogger(__name__)


def route_and_deliver(engine_id: str) -> int:
    """Route new warnings and escalations to the outbox, then send every message that is due (every engine).

    On SIGTERM it starts nothing new: the sends in flight finish and are marked, what was claimed and not started
    is given back."""

    app = current_engine_app()
    with app.app_context():
        settings = current_settings()
        sent = 0
        while not engine_stopping():  # in slices, so the first messages go out while a burst is still being routed
            routed = route_new_notifications(session=db.session, settings=settings, now=clock.now(), limit=200)
            report = deliver_due(session=db.session, settings=settings, now_fn=clock.now, sender_id=engine_id,
                                 should_stop=engine_stopping)
            sent += report.sent
            if report.dead:
                log.warning("notify: %d message(s) given up after the retry limit", report.dead)
            if not routed:
                break
        return sent


def scan_sources(engine_id: str) -> int:  # noqa: ARG001 - the engine passes its id to every job
    """Record overdue remediations and breached vendor notification duties (the active engine only)."""
    if not engine_is_active():
        return 0
    app = current_engine_app()
    with app.app_context():
        return scan(session=db.session, settings=current_settings(), now=clock.now())


def add_jobs(scheduler, app, engine_id: str) -> None:
    """Register the delivery jobs on the engine's scheduler (its job defaults apply)."""
    scheduler.add_job(
        "incident_service.engine.notify_jobs:route_and_deliver", "interval", seconds=app.config.get("NOTIFY_TICK_SECONDS", 1.0),
        id="notify_route_and_deliver", kwargs={"engine_id": engine_id}, replace_existing=True,
    )
    scheduler.add_job(
        "incident_service.engine.notify_jobs:scan_sources", "interval", seconds=app.config.get("NOTIFY_SCAN_SECONDS", 60),
        id="notify_scan_sources", kwargs={"engine_id": engine_id}, replace_existing=True,
    )
