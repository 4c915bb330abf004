"""Building and running the clock engine's APScheduler, in its own process.

The database is the source of truth: APScheduler only ticks. Jobs have stable ids, ``coalesce=True``,
``max_instances=1`` and ``misfire_grace_time=None`` (a late tick still runs, once), and are referenced as
``module:function``. On start the first tick fires everything that fell due while the engine was down.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import uuid

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from incident_service import clock
from incident_service.engine.audit_jobs import add_jobs as add_audit_jobs
from incident_service.engine.duty_jobs import add_jobs as add_duty_jobs
from incident_service.jobapp import bind_engine_app
from incident_service.engine.lock import SingleEngineLock, lock_path_for
from incident_service.engine.service import register_engine, run_tick, unregister_engine
from incident_service.extensions import db
from incident_service.engine.notify_jobs import add_jobs as add_notify_jobs

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


def new_engine_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def build_scheduler(app: Flask, engine_id: str, *, blocking: bool = True):
    """An APScheduler with the engine's jobs (and delivery's); jobs call the same service functions as the tests."""
    bind_engine_app(app)
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_class(job_defaults=JOB_DEFAULTS, timezone="UTC")
    scheduler.add_job(
        "incident_service.engine.jobs:fire_due_alerts", "interval", seconds=app.config["ENGINE_TICK_SECONDS"],
        id="fire_due_alerts", kwargs={"engine_id": engine_id}, replace_existing=True,
    )
    scheduler.add_job(
        "incident_service.engine.jobs:heartbeat", "interval", seconds=5, id="heartbeat",
        kwargs={"engine_id": engine_id}, replace_existing=True,
    )

    add_notify_jobs(scheduler, app, engine_id)  # delivering warnings: route to the outbox, send, scan other clocks
    add_audit_jobs(scheduler, app, engine_id)  # the audit trail's hourly signed checkpoint
    add_duty_jobs(scheduler, app, engine_id)  # vendor duties follow the calendar (hourly)
    return scheduler


def run_engine(app: Flask) -> None:
    """Start the engine and block until SIGINT/SIGTERM."""
    # Two log lines per tick would bury everything else; job failures are still logged as errors.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    lock_path = lock_path_for(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
    lock = SingleEngineLock(lock_path) if lock_path else None
    if lock:
        lock.acquire()
    engine_id = new_engine_id()
    bind_engine_app(app)  # before the reconcile, so its writes are audited as the engine's
    with app.app_context():
        register_engine(session=db.session, engine_id=engine_id, now=clock.now())
        # Reconcile: everything that fell due while no engine ran fires now, in due order, before ticking.
        fired = run_tick(engine_id=engine_id, now_fn=clock.now, batch_size=app.config["ENGINE_BATCH_SIZE"],
                         zone=app.extensions["policies"].zone)
        log.info("clock engine %s started; fired %d alert(s) that fell due while it was down", engine_id, fired)
    scheduler = build_scheduler(app, engine_id)

    def _stop(signum, frame):  # noqa: ARG001
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        with app.app_context():
            unregister_engine(session=db.session, engine_id=engine_id, now=clock.now())
        if lock:
            lock.release()
        log.info("clock engine %s stopped", engine_id)
