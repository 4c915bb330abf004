"""Clock engine benchmark: python -m bench.clock  (or: make bench-clock)

On the machine's PostgreSQL (database test_bench; BENCH_DATABASE_URL overrides, an sqlite:/// URL works too):
- 10,000 open incidents (30,000+ pending deadlines), 1,000 of them with their initial report due in the same minute;
- a real engine process (`flask --app wsgi scheduler`) fires them: lateness p50/p99/max, duplicates, resident memory;
- then the engine is stopped, 1,000 more deadlines fall due during its downtime, and it is restarted:
  time until every one of them is handled, and the start-up (reconcile) time.

Downtime is simulated by default: the incidents are written through the service with a "now" five minutes in the
past, so the database holds exactly what five minutes without an engine would leave. --real-downtime waits instead.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import sqlalchemy as sa

from incident_service.database import empty_database

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_bench"


def _app(url: str):
    os.environ["DATABASE_URL"] = url
    from config import DevelopmentConfig
    from incident_service import create_app

    return create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url)




def _bulk_background(db, registry, count: int, now: datetime) -> None:
    """Open incidents whose clocks are far from due, written in bulk with the same rows the service writes."""
    from incident_service.incidents.models import Incident
    from incident_service.reporting.models import Deadline, DeadlineAlert

    policy = registry.get("twse")
    vendor_id = db.session.execute(sa.text("SELECT min(id) FROM vendors")).scalar()
    incidents = [dict(kind="outage", severity=2, title=f"Background {i}", status="open", vendor_id=vendor_id,
                      policies=["twse"], aware_at=now - timedelta(seconds=i % 300), trading_affected=False,
                      investors_affected=False, bcp_invoked=False, failover_performed=False,
                      created_at=now, updated_at=now, version=1) for i in range(count)]
    ids = db.session.execute(sa.insert(Incident).returning(Incident.id, Incident.aware_at), incidents).all()
    deadlines = []
    for incident_id, aware in ids:
        for clock in policy.clocks:
            if clock.applies.trading_or_investors_affected:
                continue
            due = clock.rules[0].duration.after(aware, registry.zone)
            deadlines.append(dict(incident_id=incident_id, policy_key="twse", clock_key=clock.key, label_zh=clock.label_zh,
                                  label_en=clock.label_en, stopped_by=clock.stopped_by, started_at=aware, due_at=due,
                                  state="pending", created_at=now, updated_at=now))
    rows = db.session.execute(sa.insert(Deadline).returning(Deadline.id, Deadline.clock_key, Deadline.due_at), deadlines).all()
    alerts = []
    for deadline_id, clock_key, due in rows:
        clock = policy.clock(clock_key)
        for w in clock.warnings:
            alerts.append(dict(deadline_id=deadline_id, stage="warning", offset_minutes=w.minutes, due_at=due,
                               fire_at=due - timedelta(minutes=w.minutes), state="scheduled"))
        alerts.append(dict(deadline_id=deadline_id, stage="escalation", offset_minutes=0, due_at=due, fire_at=due, state="scheduled"))
    for start in range(0, len(alerts), 20_000):
        db.session.execute(sa.insert(DeadlineAlert), alerts[start:start + 20_000])
    db.session.commit()


def _open_hot(db, registry, count: int, due_from: datetime, created_at: datetime) -> None:
    """Incidents opened through the service whose initial report falls due within one minute from ``due_from``."""
    from incident_service.cases.incidents import open_incident

    vendor_id = db.session.execute(sa.text("SELECT min(id) FROM vendors")).scalar()
    for i in range(count):
        aware = due_from - timedelta(minutes=30) + timedelta(milliseconds=60_000 * i // count)
        open_incident(session=db.session, actor="bench", registry=registry, default_policies=["twse"], now=created_at,
                      data={"vendor_id": vendor_id, "kind": "outage", "severity": 3, "title": f"Hot {i}", "aware_at": aware})


def _engine(url: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "INCIDENT_SERVICE_ENV": "development"}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class MemorySampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.process, self.peak, self.running = psutil.Process(pid), 0, True

    def run(self):
        while self.running:
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.2)


def _escalations(db, since_id: int = 0):
    return db.session.execute(sa.text(
        "SELECT n.id, n.fire_at, n.created_at FROM notifications n WHERE n.stage = 'escalation' AND n.id > :since"
    ), {"since": since_id}).all()


def _wait(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _lateness(rows) -> list[float]:
    def aware(v):
        return v if isinstance(v, datetime) and v.tzinfo else (datetime.fromisoformat(str(v)).replace(tzinfo=UTC))
    return sorted((aware(created) - aware(fire)).total_seconds() for _, fire, created in rows)


def _p(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--hot", type=int, default=1_000)
    parser.add_argument("--real-downtime", action="store_true", help="really stop the engine for 5 minutes")
    args = parser.parse_args()

    app = _app(args.url)
    from incident_service.extensions import db

    with app.app_context():
        registry = app.extensions["policies"]
        print(f"database: {db.engine.url.render_as_string(hide_password=True)}")
        empty_database(db)
        db.create_all()
        from incident_service.demo import load_demo_data

        load_demo_data(session=db.session, registry=registry, now=datetime.now(UTC))
        db.session.execute(sa.text("UPDATE deadline_alerts SET state = 'cancelled' WHERE state = 'scheduled'"))
        db.session.commit()
        t = time.monotonic()
        now = datetime.now(UTC)
        _bulk_background(db, registry, args.incidents - args.hot, now)
        due_from = datetime.now(UTC) + timedelta(seconds=100)
        _open_hot(db, registry, args.hot, due_from, datetime.now(UTC))
        pending = db.session.execute(sa.text("SELECT count(*) FROM deadlines WHERE state = 'pending'")).scalar()
        open_incidents = db.session.execute(sa.text("SELECT count(*) FROM incidents WHERE status != 'closed'")).scalar()
        print(f"setup: {open_incidents} open incidents, {pending} pending deadlines, {args.hot} initial reports due "
              f"between {due_from:%H:%M:%S} and {due_from + timedelta(minutes=1):%H:%M:%S} UTC ({time.monotonic() - t:.1f} s)")

        # Phase 1: a running engine fires 1,000 escalations due within the same minute.
        started = time.monotonic()
        engine = _engine(args.url)
        sampler = MemorySampler(engine.pid)
        sampler.start()
        _wait(lambda: db.session.execute(sa.text("SELECT count(*) FROM engine_heartbeats WHERE last_tick_at IS NOT NULL")).scalar() > 0
              or (db.session.rollback() or False), 60)
        startup_1 = time.monotonic() - started
        ok = _wait(lambda: (db.session.rollback(), len(_escalations(db)) >= args.hot)[1],
                   (due_from - datetime.now(UTC)).total_seconds() + 90)
        rows = _escalations(db)
        lateness = _lateness(rows)
        time.sleep(2)  # let any duplicate show up before counting
        db.session.rollback()
        duplicates = db.session.execute(sa.text(
            "SELECT count(*) FROM (SELECT deadline_id, stage, due_at FROM notifications GROUP BY deadline_id, stage, due_at "
            "HAVING count(*) > 1) d")).scalar()
        print(f"phase 1: all {args.hot} fired: {ok}; firing lateness p50 {_p(lateness, .5):.3f} s, p99 {_p(lateness, .99):.3f} s, "
              f"max {lateness[-1] if lateness else float('nan'):.3f} s; duplicates {duplicates}; engine start-up {startup_1:.2f} s")

        # Phase 2: downtime. Stop the engine; 1,000 deadlines fall due while it is down; restart.
        engine.send_signal(signal.SIGTERM)
        engine.wait(timeout=30)
        sampler.running = False
        last_id = max((r[0] for r in rows), default=0)
        if args.real_downtime:
            stop = datetime.now(UTC)
            _open_hot(db, registry, args.hot, stop + timedelta(seconds=30), stop)
            print("engine stopped; waiting 5 minutes of real downtime ...")
            time.sleep(300)
        else:
            stop = datetime.now(UTC) - timedelta(minutes=5)
            _open_hot(db, registry, args.hot, stop + timedelta(minutes=3), stop)
        restarted = time.monotonic()
        engine = _engine(args.url)
        sampler2 = MemorySampler(engine.pid)
        sampler2.start()
        ok2 = _wait(lambda: (db.session.rollback(), len(_escalations(db, last_id)) >= args.hot)[1], 60)
        catch_up = time.monotonic() - restarted
        _wait(lambda: (db.session.rollback(), db.session.execute(sa.text(
            "SELECT count(*) FROM engine_heartbeats WHERE stopped_at IS NULL AND last_tick_at IS NOT NULL")).scalar() > 0)[1], 60)
        startup_2 = time.monotonic() - restarted
        time.sleep(2)
        db.session.rollback()
        missed_rows = len(_escalations(db, last_id))
        duplicates2 = db.session.execute(sa.text(
            "SELECT count(*) FROM (SELECT deadline_id, stage, due_at FROM notifications GROUP BY deadline_id, stage, due_at "
            "HAVING count(*) > 1) d")).scalar()
        engine.send_signal(signal.SIGTERM)
        engine.wait(timeout=30)
        sampler2.running = False
        peak = max(sampler.peak, sampler2.peak) / 2**20
        print(f"phase 2: {missed_rows}/{args.hot} deadlines missed during 5 min of downtime handled: {ok2}, "
              f"{catch_up:.2f} s after restart; start-up incl. reconcile {startup_2:.2f} s; duplicates {duplicates2}")
        print(f"engine resident memory (peak): {peak:.0f} MB")
        verdict = {
            "lateness p99 <= 1 s": _p(lateness, .99) <= 1.0,
            "duplicates == 0": duplicates == 0 and duplicates2 == 0,
            "downtime catch-up <= 10 s": ok2 and catch_up <= 10,
            "start-up <= 10 s": startup_1 <= 10 and startup_2 <= 10,
            "memory <= 300 MB": peak <= 300,
        }
        for name, passed in verdict.items():
            print(f"  target {name}: {'met' if passed else 'NOT MET'}")
        db.session.remove()
        return 0 if all(verdict.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
