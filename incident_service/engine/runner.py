"""Building and running the clock engine, in its own process.

The database is the source of truth. Two things run in the engine process:
- the alarm (``engine.alarm``), a thread that fires due alerts and sleeps until the next due instant;
- an APScheduler for the periodic jobs: the heartbeat, routing and delivery (every engine), and the calendar
  jobs (only the active engine: ``engine.link``). Jobs have stable ids, ``coalesce=True``, ``max_instances=1``
  and ``misfire_grace_time=None`` (a late tick still runs, once), and are referenced as ``module:function``.
On start everything that fell due while no engine ran fires at once. SIGTERM (or Ctrl-C) stops it gracefully:
sends in flight finish and are marked before the process exits.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from incident_service import clock
from incident_service.engine.alarm import Alarm
from incident_service.engine.audit_jobs import add_jobs as add_audit_jobs
from incident_service.engine.duty_jobs import add_jobs as add_duty_jobs
from incident_service.engine.link import open_link
from incident_service.engine.lock import SingleEngineLock, lock_path_for
from incident_service.engine.models import EngineRole
from incident_service.engine.notify_jobs import add_jobs as add_notify_jobs
from incident_service.engine.service import register_engine, run_tick, unregister_engine
from incident_service.extensions import db
from incident_service.jobapp import bind_engine_app

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
HEARTBEAT_SECONDS = 5


def new_engine_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def build_scheduler(app: Flask, engine_id: str, *, blocking: bool = False, stopping: threading.Event | None = None,
                    is_active: Callable[[], bool] | None = None) -> BaseScheduler:
    """An APScheduler with the engine's periodic jobs; jobs call the same service functions as the tests."""
    bind_engine_app(app, stopping=stopping, is_active=is_active)
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_class(job_defaults=JOB_DEFAULTS, timezone="UTC")
    scheduler.add_job(
        "incident_service.engine.jobs:heartbeat", "interval", seconds=HEARTBEAT_SECONDS, id="heartbeat",
        kwargs={"engine_id": engine_id}, replace_existing=True,
    )
    add_notify_jobs(scheduler, app, engine_id)  # delivering warnings: route to the outbox, send, scan other clocks
    add_audit_jobs(scheduler, app, engine_id)  # the audit trail's hourly signed checkpoint
    add_duty_jobs(scheduler, app, engine_id)  # vendor duties follow the calendar (hourly)
    return scheduler


def _stop_on_signals(stopping: threading.Event) -> None:
    def _stop(signum, frame):  # noqa: ARG001
        if not stopping.is_set():
            log.info("clock engine: %s received; finishing the sends in flight", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)


def _parent_gone(parent_pid: int | None) -> bool:
    return parent_pid is not None and os.getppid() != parent_pid


def run_engine(app: Flask, *, lock_wait_seconds: float = 0.0, stop_with_parent: bool = False) -> None:
    """Run the engine until SIGTERM or SIGINT (or, with ``stop_with_parent``, until the process that started it
    is gone: ``flask serve-all`` killed outright must not leave its engine behind)."""
    # Two log lines per run of a job would bury everything else; job failures are still logged as errors. A tick
    # skipped because the previous run still works (max_instances=1, during a burst) is the design, not a warning.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    stopping = threading.Event()
    _stop_on_signals(stopping)
    parent_pid = os.getppid() if stop_with_parent else None
    lock_path = lock_path_for(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
    lock = SingleEngineLock(lock_path) if lock_path else None
    if lock:
        lock.acquire(wait_seconds=lock_wait_seconds)
    engine_id = new_engine_id()
    with app.app_context():
        link = open_link(db.engine, stopping)
    bind_engine_app(app, stopping=stopping, is_active=lambda: link.active)  # the reconcile's writes are the engine's
    scheduler = build_scheduler(app, engine_id, stopping=stopping, is_active=lambda: link.active)
    alarm = Alarm(app, engine_id=engine_id, link=link, stopping=stopping)
    try:
        with app.app_context():
            register_engine(session=db.session, engine_id=engine_id, now=clock.now(),
                            role=EngineRole.active if link.active else EngineRole.standby)
            # Reconcile: everything that fell due while no engine ran fires now, in due order, before anything else.
            fired = run_tick(engine_id=engine_id, now_fn=clock.now, batch_size=app.config["ENGINE_BATCH_SIZE"],
                             zone=app.extensions["policies"].zone)
        log.info("clock engine %s started (%s); fired %d alert(s) that fell due while it was down", engine_id,
                 "active" if link.active else "standby", fired)
        alarm.start()
        scheduler.start()
        while not stopping.wait(0.5):
            if _parent_gone(parent_pid):
                log.info("clock engine: the process that started it is gone; stopping")
                stopping.set()
    finally:
        stopping.set()
        if scheduler.running:
            scheduler.shutdown(wait=True)  # running jobs finish: sends in flight are marked, the rest given back
        if alarm.is_alive():
            alarm.join()
        link.close()
        with app.app_context():
            unregister_engine(session=db.session, engine_id=engine_id, now=clock.now())
        if lock:
            lock.release()
        log.info("clock engine %s stopped", engine_id)
