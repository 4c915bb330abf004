"""The clock engine: restart catch-up, exactly once across processes, heartbeat on /health."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from incident_service.engine.runner import JOB_DEFAULTS, build_scheduler
from incident_service.engine.service import register_engine, run_tick
from incident_service.reporting.models import AlertState, DeadlineAlert, Notification
from tests import factories
from tests.conftest import T0
from tests.engine.processes import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _count(session, model, *where):
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_everything_due_during_downtime_fires_once_in_due_order_after_restart(session, registry):
    # Ten incidents whose initial warnings and escalations all fall inside a 5-hour outage of the engine.
    for i in range(10):
        factories.incident(session, registry, T0, aware_at=T0 - timedelta(seconds=i))
    register_engine(session=session, engine_id="e1", now=T0)
    restart = T0 + timedelta(hours=5)
    fired = run_tick(engine_id="e1", now_fn=lambda: restart, batch_size=7, zone=registry.zone, session=session)
    notes = session.scalars(sa.select(Notification).order_by(Notification.id)).all()
    # Warnings overtaken by their own escalation say nothing; each escalation is raised exactly once.
    assert fired == len(notes) == 10
    assert [n.fire_at for n in notes] == sorted(n.fire_at for n in notes)
    assert {n.stage.value for n in notes} == {"escalation"}
    assert _count(session, DeadlineAlert, DeadlineAlert.state == AlertState.scheduled, DeadlineAlert.fire_at <= restart) == 0
    assert run_tick(engine_id="e1", now_fn=lambda: restart, batch_size=7, zone=registry.zone, session=session) == 0


def test_scheduler_jobs_are_stored_by_reference_and_never_dropped_as_misfired(app):
    scheduler = build_scheduler(app, "e-test")
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert {"heartbeat", "notify_route_and_deliver", "sync_vendor_duties", "audit_checkpoint"} <= set(jobs)
    assert jobs["sync_vendor_duties"].func_ref == "incident_service.engine.duty_jobs:sync_duties"
    assert jobs["heartbeat"].func_ref == "incident_service.engine.jobs:heartbeat"
    assert "fire_due_alerts" not in jobs  # alerts fire at their instant (the engine's alarm), not on a fixed tick
    assert JOB_DEFAULTS == {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    assert scheduler._job_defaults["misfire_grace_time"] is None and scheduler._job_defaults["max_instances"] == 1


def _engine(db_url: str, *extra_env) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db_url, "ENGINE_TICK_SECONDS": "0.2", "INCIDENT_SERVICE_ENV": "development",
           "ENGINE_BATCH_SIZE": "50"}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> str:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


def test_real_engine_processes_fire_each_alert_exactly_once(app, session, registry, client):
    # Real processes run on the real clock: the initial reports of these incidents are already 40 minutes overdue.
    db_url = app.config["SQLALCHEMY_DATABASE_URI"]
    postgres = db_url.startswith("postgresql")
    now = datetime.now(UTC)
    for i in range(60):
        factories.incident(session, registry, now, aware_at=now - timedelta(minutes=40, seconds=i))
    session.commit()
    first = _engine(db_url)
    second = _engine(db_url)
    try:
        assert wait_for(lambda: (session.rollback(), _count(session, Notification))[1] >= 60), _stop(first) + _stop(second)
        if not postgres:
            # SQLite: one engine only; whichever comes second refuses to start and says why.
            assert wait_for(lambda: first.poll() is not None or second.poll() is not None)
            refused = first if first.poll() is not None else second
            assert refused.returncode != 0 and "only one may run" in refused.stdout.read()
        alive = 2 if postgres else 1
        assert wait_for(lambda: client.get("/api/v1/health").json["scheduler"]["engines_alive"] == alive)
        health = client.get("/api/v1/health").json
        assert health["database"] == "ok" and health["scheduler"]["status"] == "ok"
        if postgres:
            # Kill one engine outright: the other carries on alone with new work.
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            for i in range(30):
                factories.incident(session, registry, now, aware_at=now - timedelta(minutes=41, seconds=i))
            assert wait_for(lambda: (session.rollback(), _count(session, Notification))[1] >= 90)
    finally:
        logs = _stop(first) + _stop(second)
    session.rollback()
    expected = 90 if postgres else 60
    assert _count(session, Notification) == expected, logs
    duplicates = session.execute(
        sa.select(Notification.deadline_id, Notification.stage).group_by(Notification.deadline_id, Notification.stage)
        .having(sa.func.count() > 1)).all()
    assert duplicates == []
