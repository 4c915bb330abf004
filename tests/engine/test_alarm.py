"""The engine wakes at the due instant (not on a fixed tick), a write wakes it at once on PostgreSQL, and the active
engine alone runs the calendar jobs; health tells the active engine from a standby."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_service.engine.alarm import Alarm
from incident_service.engine.duty_jobs import sync_duties
from incident_service.engine.link import LocalLink, open_link
from incident_service.engine.models import EngineRole
from incident_service.engine.service import beat, register_engine
from incident_service.extensions import db
from incident_service.jobapp import bind_engine_app
from incident_service.reporting.models import AlertStage, Notification
from incident_service.vendors.duties import VendorDuty
from tests import factories
from tests.conftest import T0

WARN_AT = T0 + timedelta(minutes=19)  # an incident aware at T0 - 1 min: its initial report warns 10 minutes before due


def _notes(session):
    session.rollback()
    return session.scalars(sa.select(Notification).order_by(Notification.id)).all()


def test_the_engine_sleeps_until_the_next_due_instant_and_fires_it_then(app, session, registry, frozen):
    factories.incident(session, registry, frozen())
    register_engine(session=session, engine_id="e1", now=frozen())
    alarm = Alarm(app, engine_id="e1", link=LocalLink(threading.Event()), stopping=threading.Event())

    assert alarm.round() == alarm.poll_seconds  # nothing due for 19 minutes: it sleeps one poll and looks again
    frozen.value = WARN_AT - timedelta(milliseconds=200)
    assert alarm.round() == pytest.approx(0.2)  # it wakes at the instant, not at the next tick
    frozen.value = WARN_AT
    alarm.round()
    notes = _notes(session)
    assert [(n.stage, n.created_at) for n in notes] == [(AlertStage.warning, WARN_AT)]  # fired on time, once
    alarm.round()
    assert len(_notes(session)) == 1


def test_a_report_written_late_is_escalated_at_once_without_waiting_for_the_poll(app, session, registry, frozen):
    stopping = threading.Event()
    link = open_link(db.engine, stopping)
    alarm = Alarm(app, engine_id="e1", link=link, stopping=stopping)
    register_engine(session=session, engine_id="e1", now=frozen())
    try:
        assert alarm.round() == alarm.poll_seconds  # nothing to fire: asleep
        sleeper = threading.Thread(target=link.wait, args=(30,))
        started = time.monotonic()
        sleeper.start()
        # Reported 31 minutes after awareness: the initial report's escalation is due as it is written.
        factories.incident(session, registry, frozen(), aware_at=frozen() - timedelta(minutes=31))
        if db.engine.dialect.name == "postgresql":
            sleeper.join(timeout=5)  # the commit's NOTIFY woke it, long before its 30 s sleep ended
            assert not sleeper.is_alive() and time.monotonic() - started < 5
        else:
            stopping.set()  # SQLite has nothing to listen to: the poll finds it (a stop ends the sleep at once)
            sleeper.join(timeout=5)
            assert not sleeper.is_alive()
        alarm.round()
        assert [(n.stage, n.created_at) for n in _notes(session)] == [(AlertStage.escalation, frozen())]
    finally:
        stopping.set()
        link.close()


def test_only_the_active_engine_runs_the_calendar_jobs(app, session, frozen):
    vendor = factories.vendor(session, frozen())
    factories.contract(session, frozen(), vendor.id)  # written behind the use case: no duties yet

    def duties():
        session.rollback()
        return session.scalars(sa.select(VendorDuty.kind).where(VendorDuty.vendor_id == vendor.id)).all()

    bind_engine_app(app, is_active=lambda: False)  # a standby
    assert sync_duties("standby") == 0 and duties() == []
    bind_engine_app(app, is_active=lambda: True)
    assert sync_duties("active") >= 1
    assert "annual_audit" in duties()


def test_health_tells_the_active_engine_from_a_standby_and_follows_a_takeover(app, session, client, frozen):
    register_engine(session=session, engine_id="host-a:101", now=frozen(), role=EngineRole.active)
    register_engine(session=session, engine_id="host-b:202", now=frozen(), role=EngineRole.standby)

    scheduler = client.get("/api/v1/health").json["scheduler"]
    assert (scheduler["active_engine_id"], scheduler["engines_alive"], scheduler["engines_standby"]) == ("host-a:101", 2, 1)
    assert {e["engine_id"]: e["role"] for e in scheduler["engines"]} == {"host-a:101": "active", "host-b:202": "standby"}

    # Engine A dies; B keeps beating and takes the active engine's lock.
    frozen.advance(seconds=app.config["SCHEDULER_STALE_SECONDS"] + 5)
    beat(session=session, engine_id="host-b:202", now=frozen(), role=EngineRole.active)
    health = client.get("/api/v1/health").json
    scheduler = health["scheduler"]
    assert (scheduler["active_engine_id"], scheduler["engines_alive"], scheduler["engines_standby"]) == ("host-b:202", 1, 0)
    assert [e["engine_id"] for e in scheduler["engines"]] == ["host-b:202"]
    assert health["status"] == "ok"
