"""Clock engine benchmark: python -m bench.clock  (or: make bench-clock)

On the machine's PostgreSQL (database test_bench; BENCH_DATABASE_URL overrides, an sqlite:/// URL works too with
--engines 1; the schema is dropped):
- 100,000 pending deadlines (open incidents, three clocks each), 10,000 of them initial reports due in the same
  minute, written in bulk with the rows the service writes;
- two real engine processes (`flask --app wsgi scheduler`) fire them: firing lateness p50/p99/max (the notification's
  time against the alert's instant), duplicates, each engine's resident memory;
- while the engines sleep, incidents reported late through the service (their escalation due the moment they are
  written): how long after the write each one fires (PostgreSQL wakes the engines with NOTIFY; else the poll);
- then both engines stop, 1,000 more deadlines fall due during the downtime, and they are restarted: time until
  every one of them is handled, and the start-up (reconcile) time.

Downtime is simulated: the database holds exactly what five minutes without an engine would leave.
Goals: lateness p99 <= 0.1 s, 0 duplicates, memory <= 150 MB per engine, catch-up and start-up <= 10 s.
Options: --deadlines N, --hot N, --engines N, --late N.
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import sqlalchemy as sa

from bench.dataset import ensure_database
from config import DevelopmentConfig
from incident_service import create_app
from incident_service.cases.incidents import open_incident
from incident_service.database import empty_database
from incident_service.demo import load_demo_data
from incident_service.extensions import db
from incident_service.incidents.models import Incident
from incident_service.reporting.models import Deadline, DeadlineAlert

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_bench"
HOT_WINDOW = timedelta(minutes=1)


def _clocks(registry):
    return [c for c in registry.get("twse").clocks if not c.applies.trading_or_investors_affected]


def _bulk_incidents(registry, awares: list[datetime], now: datetime, title: str) -> None:
    """Open incidents aware at ``awares``, written in bulk with the rows the service writes at ``now``. Warnings
    already past at ``now`` are written skipped (as if sent): only instants after ``now`` are left to fire."""
    vendor_id = db.session.execute(sa.text("SELECT min(id) FROM vendors")).scalar()
    clocks = _clocks(registry)
    for start in range(0, len(awares), 10_000):
        chunk = awares[start:start + 10_000]
        incidents = [dict(kind="outage", severity=2, title=f"{title} {start + i}", status="open", vendor_id=vendor_id,
                          policies=["twse"], aware_at=aware, aware_on=aware.astimezone(registry.zone).date(),
                          trading_affected=False, investors_affected=False,
                          bcp_invoked=False, failover_performed=False, created_at=now, updated_at=now, version=1)
                     for i, aware in enumerate(chunk)]
        ids = db.session.execute(sa.insert(Incident).returning(Incident.id, Incident.aware_at), incidents).all()
        deadlines = [dict(incident_id=incident_id, policy_key="twse", clock_key=clock.key, label_zh=clock.label_zh,
                          label_en=clock.label_en, stopped_by=clock.stopped_by, started_at=aware,
                          due_at=clock.rules[0].duration.after(aware, registry.zone), state="pending",
                          created_at=now, updated_at=now)
                     for incident_id, aware in ids for clock in clocks]
        rows = db.session.execute(sa.insert(Deadline).returning(Deadline.id, Deadline.clock_key, Deadline.due_at),
                                  deadlines).all()
        by_key = {c.key: c for c in clocks}
        alerts = []
        for deadline_id, clock_key, due in rows:
            for w in by_key[clock_key].warnings:
                fire = due - timedelta(minutes=w.minutes)
                alerts.append(dict(deadline_id=deadline_id, stage="warning", offset_minutes=w.minutes, due_at=due,
                                   fire_at=fire, state="scheduled" if fire > now else "skipped"))
            alerts.append(dict(deadline_id=deadline_id, stage="escalation", offset_minutes=0, due_at=due, fire_at=due,
                               state="scheduled"))
        for i in range(0, len(alerts), 20_000):
            db.session.execute(sa.insert(DeadlineAlert), alerts[i:i + 20_000])
        db.session.commit()


def _hot_awares(count: int, due_from: datetime) -> list[datetime]:
    """Aware 30 minutes before an initial report due within one minute from ``due_from``, evenly spread."""
    return [due_from - timedelta(minutes=30) + HOT_WINDOW * i / count for i in range(count)]


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


def _fresh(query: str, **params):
    db.session.rollback()
    return db.session.execute(sa.text(query), params)


def _escalations():
    return _fresh("SELECT n.id, n.fire_at, n.created_at, n.incident_id FROM notifications n "
                  "WHERE n.stage = 'escalation'").all()


def _fired(since_id: int = 0) -> int:
    """How many escalations were raised (a count: polling must not load the engines' machine)."""
    return _fresh("SELECT count(*) FROM notifications WHERE stage = 'escalation' AND id > :since", since=since_id).scalar()


def _duplicates() -> int:
    return _fresh("SELECT count(*) FROM (SELECT deadline_id, stage, due_at FROM notifications "
                  "GROUP BY deadline_id, stage, due_at HAVING count(*) > 1) d").scalar()


def _wait(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _aware(v) -> datetime:
    return v if isinstance(v, datetime) and v.tzinfo else datetime.fromisoformat(str(v)).replace(tzinfo=UTC)


def _p(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


def _start(url: str, n: int):
    engines = [_engine(url) for _ in range(n)]
    samplers = [MemorySampler(e.pid) for e in engines]
    for s in samplers:
        s.start()
    return engines, samplers


def _stop(engines, samplers) -> None:
    for e in engines:
        e.send_signal(signal.SIGTERM)
    for e in engines:
        e.wait(timeout=30)
    for s in samplers:
        s.running = False


def _ticking(n: int, since: datetime) -> bool:
    return _fresh("SELECT count(*) FROM engine_heartbeats WHERE stopped_at IS NULL AND last_tick_at >= :t",
                  t=since).scalar() >= n


def _late_reports(registry, count: int) -> tuple[list[float], list[float]]:
    """Incidents reported 31 minutes after awareness, through the service while the engines sleep: the initial
    report's escalation is due as it is written. Seconds from each request's start to its escalation, and how
    long the requests took."""
    vendor_id = db.session.execute(sa.text("SELECT min(id) FROM vendors")).scalar()
    written: dict[int, datetime] = {}
    took: list[float] = []
    for i in range(count):
        now = datetime.now(UTC)
        incident = open_incident(session=db.session, actor="bench", registry=registry, default_policies=["twse"],
                                 now=now, data={"vendor_id": vendor_id, "kind": "outage", "severity": 2,
                                                "title": f"Late {i}", "aware_at": now - timedelta(minutes=31)})
        written[incident.id] = now  # the request's start: its commit wakes the engines before it even returns
        took.append((datetime.now(UTC) - now).total_seconds())
        time.sleep(0.2)  # one every 0.2 s, so each one finds the engines asleep
    _wait(lambda: _fresh("SELECT count(*) FROM notifications WHERE stage = 'escalation' AND incident_id IN "
                         "(SELECT id FROM incidents WHERE title LIKE 'Late %')").scalar() >= count, 30)
    fired = sorted((_aware(created) - written[incident_id]).total_seconds()
                   for _, _, created, incident_id in _escalations() if incident_id in written)
    return fired, sorted(took)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--deadlines", type=int, default=100_000, help="pending deadlines in all")
    parser.add_argument("--hot", type=int, default=10_000, help="initial reports due in the same minute")
    parser.add_argument("--engines", type=int, default=2)
    parser.add_argument("--late", type=int, default=50, help="incidents reported late through the service")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.url
    ensure_database(args.url)
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=args.url)
    with app.app_context():
        registry = app.extensions["policies"]
        print(f"database: {db.engine.url.render_as_string(hide_password=True)}")
        empty_database(db)
        db.create_all()
        load_demo_data(session=db.session, registry=registry, now=datetime.now(UTC))
        db.session.execute(sa.text("UPDATE deadline_alerts SET state = 'cancelled' WHERE state = 'scheduled'"))
        db.session.commit()
        t = time.monotonic()
        per_incident = len(_clocks(registry))
        background = max(math.ceil(args.deadlines / per_incident) - args.hot, 0)
        now = datetime.now(UTC)
        _bulk_incidents(registry, [now - timedelta(seconds=i % 300) for i in range(background)], now, "Background")
        due_from = datetime.now(UTC) + timedelta(seconds=60)
        _bulk_incidents(registry, _hot_awares(args.hot, due_from), datetime.now(UTC), "Hot")
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        pending = _fresh("SELECT count(*) FROM deadlines WHERE state = 'pending'").scalar()
        print(f"setup: {pending} pending deadlines, {args.hot} initial reports due between {due_from:%H:%M:%S} and "
              f"{due_from + HOT_WINDOW:%H:%M:%S} UTC ({time.monotonic() - t:.1f} s)")

        # Phase 1: the engines fire 10,000 escalations due within the same minute.
        started, started_at = time.monotonic(), datetime.now(UTC)
        engines, samplers = _start(args.url, args.engines)
        _wait(lambda: _ticking(args.engines, started_at), 60)
        startup_1 = time.monotonic() - started
        print(f"{args.engines} engine(s) ticking {startup_1:.2f} s after start; waiting for the hot minute")
        # While they sleep before the hot minute: reports written late, due as they are written.
        late, took = _late_reports(registry, args.late) if args.late else ([], [])
        ok = _wait(lambda: _fired() >= args.hot + len(late),
                   (due_from + HOT_WINDOW - datetime.now(UTC)).total_seconds() + 60)
        hot_ids = set(_fresh("SELECT id FROM incidents WHERE title LIKE 'Hot %'").scalars())
        rows = [r for r in _escalations() if r[3] in hot_ids]
        lateness = sorted((_aware(created) - _aware(fire)).total_seconds() for _, fire, created, _ in rows)
        time.sleep(2)  # let any duplicate show up before counting
        duplicates = _duplicates()
        by_engine = dict(_fresh("SELECT fired_by, count(*) FROM deadline_alerts WHERE state = 'fired' "
                                "GROUP BY fired_by").all())
        print(f"phase 1: all {args.hot} fired: {ok}; firing lateness p50 {_p(lateness, .5):.3f} s, "
              f"p99 {_p(lateness, .99):.3f} s, max {lateness[-1] if lateness else float('nan'):.3f} s; "
              f"duplicates {duplicates}; fired per engine {sorted(by_engine.values(), reverse=True)}")
        if late:
            print(f"reported late through the service ({len(late)}): escalation fired p50 {_p(late, .5):.3f} s, "
                  f"max {late[-1]:.3f} s after the request started (the request itself took p50 {_p(took, .5):.3f} s)")

        # Phase 2: downtime. Stop the engines; 1,000 deadlines fall due while they are down; restart.
        _stop(engines, samplers)
        last_id = _fresh("SELECT coalesce(max(id), 0) FROM notifications").scalar()
        stop = datetime.now(UTC) - timedelta(minutes=5)
        _bulk_incidents(registry, _hot_awares(1000, stop + timedelta(minutes=3)), stop, "Missed")
        restarted, restarted_at = time.monotonic(), datetime.now(UTC)
        engines2, samplers2 = _start(args.url, args.engines)
        ok2 = _wait(lambda: _fired(last_id) >= 1000, 60)
        catch_up = time.monotonic() - restarted
        _wait(lambda: _ticking(args.engines, restarted_at), 60)
        startup_2 = time.monotonic() - restarted
        time.sleep(2)
        handled = _fired(last_id)
        duplicates2 = _duplicates()
        _stop(engines2, samplers2)
        peaks = [s.peak / 2**20 for s in samplers + samplers2]
        print(f"phase 2: {handled}/1000 deadlines missed during 5 min of downtime handled: {ok2}, "
              f"{catch_up:.2f} s after restart; start-up incl. reconcile {startup_2:.2f} s; duplicates {duplicates2}")
        print("engine resident memory (peak): " + ", ".join(f"{p:.0f} MB" for p in peaks))
        verdict = {
            "lateness p99 <= 0.1 s": ok and _p(lateness, .99) <= 0.1,
            "duplicates == 0": duplicates == 0 and duplicates2 == 0,
            "downtime catch-up <= 10 s": ok2 and catch_up <= 10,
            "start-up <= 10 s": startup_1 <= 10 and startup_2 <= 10,
            "memory <= 150 MB per engine": max(peaks) <= 150,
        }
        for name, passed in verdict.items():
            print(f"  target {name}: {'met' if passed else 'NOT MET'}")
        db.session.remove()
        return 0 if all(verdict.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
