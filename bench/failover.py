"""Failover benchmark: python -m bench.failover  (or: make bench-failover)

Two clock engines on PostgreSQL (database bench_failover; BENCH_FAILOVER_DATABASE_URL overrides, its schema is
dropped), 1,000 escalations due in the same minute (bench.notify's setup) posted to a loopback webhook that records
every idempotency key. After ~150 deliveries the engine holding the most messages in flight is killed with SIGKILL;
the other carries on, takes over the dead one's leases, and the killed one is restarted. Prints what was delivered,
the time to all delivered (from the start and from the kill), duplicates (the same key twice: only the messages in
flight at the kill may repeat, at most NOTIFY_WORKERS), duplicates after the restart (none), how the survivor and
the restarted engine stopped on SIGTERM, and the outbox's final states.

Goals: all delivered within 15 s of the kill, duplicates <= the send parallelism, none after the restart.
Options: --count N, --kill-after N, --timeout S.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from bench.dataset import ensure_database
from bench.notify import Receiver, _outbox_states, _setup
from config import DevelopmentConfig
from incident_service import create_app
from incident_service.extensions import db

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_failover"


def _engine(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"], cwd=ROOT, env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def _busiest(app, engines: list[subprocess.Popen]) -> subprocess.Popen:
    """The engine holding the most messages in flight right now: killing it is the worst case."""
    with app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT h.pid, count(m.id) FROM engine_heartbeats h LEFT JOIN notify_outbox m "
            "ON m.claimed_by = h.engine_id AND m.state = 'sending' WHERE h.stopped_at IS NULL GROUP BY h.pid")).all()
        db.session.remove()
    holding = dict(rows)
    return max(engines, key=lambda p: holding.get(p.pid, 0))


def _stop(proc: subprocess.Popen) -> tuple[int, float]:
    """SIGTERM and wait: (exit code, seconds it took)."""
    t = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    return code, time.monotonic() - t


def _wait(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--kill-after", type=int, default=150, help="deliveries before the SIGKILL")
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args()
    url = os.environ.get("BENCH_FAILOVER_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url, WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"])
    receiver = Receiver()
    receiver.expected = args.count
    t = time.monotonic()
    _setup(app, args.count, receiver.url)
    print(f"database: {url.split('@')[-1]}")
    print(f"setup: {args.count} incidents with the initial report due in the same minute ({time.monotonic() - t:.1f} s)")

    env = {**os.environ, "DATABASE_URL": url, "INCIDENT_SERVICE_ENV": "development", "SMTP_HOST": "",
           "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "NOTIFY_TICK_SECONDS": "0.5"}
    workers = int(env.get("NOTIFY_WORKERS", "8"))
    logs = Path(os.environ.get("BENCH_FAILOVER_LOGS", "/tmp"))
    t0 = time.monotonic()
    engines = [_engine(env, logs / f"bench-failover-engine-{n}.log") for n in (1, 2)]
    try:
        _wait(lambda: len(receiver.keys) >= args.kill_after, args.timeout)
        victim = _busiest(app, engines)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        t_kill = time.monotonic()
        at_kill = len(receiver.keys)
        survivor = next(p for p in engines if p is not victim)
        all_in = _wait(lambda: receiver.all_at is not None, args.timeout)
        time.sleep(1.0)  # a copy still on its way would show as a duplicate
        duplicates = sum(n - 1 for n in receiver.keys.values())

        restarted = _engine(env, logs / "bench-failover-engine-restarted.log")
        t_restart = time.monotonic()
        _wait(lambda: restarted.poll() is not None, 8.0)  # let it run (reconcile, ticks) for a while
        seen_before = {key for at, key in receiver.arrivals if at < t_restart}
        after_restart = sum(1 for at, key in receiver.arrivals if at >= t_restart and key in seen_before)
    finally:
        stops = [_stop(p) for p in engines if p.poll() is None]
        if "restarted" in locals() and restarted.poll() is None:
            stops.append(_stop(restarted))
    states = _outbox_states(app)
    delivered = len(receiver.keys)
    print(f"escalations delivered to the loopback webhook: {delivered} / {args.count}")
    print(f"engine pid {victim.pid} killed (SIGKILL) after {at_kill} deliveries, {t_kill - t0:.2f} s after the start")
    if all_in:
        print(f"time to all delivered: {receiver.all_at - t0:.2f} s from the start, {receiver.all_at - t_kill:.2f} s after the kill")
    else:
        print(f"NOT all delivered within {args.timeout:.0f} s of the kill")
    print(f"duplicates (same key twice): {duplicates} (send parallelism {workers}); after the restart: {after_restart}")
    print("engines stopped on SIGTERM: " + ", ".join(f"exit {code} in {took:.2f} s" for code, took in stops))
    print(f"outbox states: {states}")
    verdict = {
        "all delivered within 15 s of the kill": all_in and receiver.all_at - t_kill <= 15,
        f"duplicates <= {workers}": duplicates <= workers,
        "none after the restart": after_restart == 0,
        "outbox all sent": states == {"sent": args.count},
        "SIGTERM stops cleanly": all(code == 0 for code, _ in stops),
    }
    for name, passed in verdict.items():
        print(f"  target {name}: {'met' if passed else 'NOT MET'}")
    print("RESULT:", "PASS" if all(verdict.values()) else "FAIL")
    return 0 if all(verdict.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
