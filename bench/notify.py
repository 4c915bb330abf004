"""Delivery benchmark: python -m bench.notify

1,000 incidents whose initial report falls due in the same minute, with no filing: a real clock engine
process (`flask --app wsgi scheduler`) raises the 1,000 escalations, routes them and posts each to a
signed webhook on loopback. Prints the time from the engine's start until the receiver holds all 1,000,
duplicates seen by the receiver (same idempotency key twice), failures, and the outbox's final states.

SQLite (a file in a temporary folder) by default; BENCH_NOTIFY_DATABASE_URL picks another database, e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test_notify. Options: --count N, --timeout S.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sqlalchemy as sa

from incident_service.database import empty_database

ROOT = Path(__file__).resolve().parents[1]


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when 8 senders connect at once (a 1 s SYN retry each).
    request_queue_size = 128
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A sender killed mid-request (bench.failover) resets its connection: not the receiver's error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records each idempotency key it accepts."""

    def __init__(self):
        self.keys: Counter[str] = Counter()
        self.arrivals: list[tuple[float, str]] = []  # (monotonic time, idempotency key), in order
        self.first_at: float | None = None
        self.all_at: float | None = None
        self.expected = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = self.headers.get("Idempotency-Key") or json.loads(body)["idempotency_key"]
                with receiver.lock:
                    receiver.keys[key] += 1
                    now = time.monotonic()
                    receiver.arrivals.append((now, key))
                    receiver.first_at = receiver.first_at or now
                    if receiver.all_at is None and len(receiver.keys) >= receiver.expected:
                        receiver.all_at = now
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _setup(app, count: int, url: str) -> None:
    """1,000 incidents whose initial report is due within the last minute, a webhook and a rule to it."""
    from incident_service.auth.service import create_user
    from incident_service.extensions import db
    from incident_service.cases.incidents import open_incident
    from incident_service.notify import service as notify
    from incident_service.notify.models import ChannelKind
    from incident_service.vendors.service import create_vendor

    with app.app_context():
        empty_database(db)
        db.create_all()
        now = datetime.now(UTC)
        reporter = create_user(session=db.session, username="bench-oncall", password="correct horse battery",
                               roles=["oncall"], now=now)
        vendor = create_vendor(session=db.session, data={"name": "Bench vendor", "category": "operations"}, now=now)
        channel = notify.create_channel(session=db.session, now=now, data={
            "name": "SOC webhook", "kind": ChannelKind.webhook, "url": url, "secret": "bench-secret"})
        notify.create_rule(session=db.session, now=now, data={"name": "Escalations to the SOC", "events": ["escalation"],
                                                              "target": "channel", "channel_id": channel.id})
        registry = app.extensions["policies"]
        # Aware 30 to 31 minutes ago: every initial report fell due within the last minute; opened "then".
        due_minute_start = now - timedelta(seconds=60)
        # Severity 2: a 3 would also open a vendor audit duty per incident, and every new duty makes the next
        # incident's duty sync of the same vendor slower (a 1,000-incident setup took a quarter of an hour).
        for i in range(count):
            aware = due_minute_start - timedelta(minutes=30) + timedelta(seconds=59 * i / max(count - 1, 1))
            open_incident(session=db.session, data={"vendor_id": vendor.id, "kind": "outage", "severity": 2,
                                                    "title": f"Bench {i}", "aware_at": aware},
                          actor="bench", registry=registry, default_policies=["twse"], now=aware, reporter_id=reporter.id)


def _outbox_states(app) -> dict[str, int]:
    from incident_service.extensions import db
    from incident_service.notify.models import OutboxMessage

    with app.app_context():
        rows = db.session.execute(sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state))
        return {state.value: n for state, n in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-notify-")
    url = os.environ.get("BENCH_NOTIFY_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
    # The receiver is on loopback, which webhooks may reach only when allowed (the engine inherits this).
    os.environ.update({"DATABASE_URL": url, "INCIDENT_SERVICE_ENV": "development", "SMTP_HOST": "",
                       "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"})

    from config import DevelopmentConfig
    from incident_service import create_app

    # config.py read the environment before the update above: the bench's app gets the loopback allowance directly.
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url, WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"])
    receiver = Receiver()
    receiver.expected = args.count
    started = time.monotonic()
    _setup(app, args.count, receiver.url)
    print(f"database: {url.split('@')[-1]}")
    print(f"setup: {args.count} incidents with the initial report due in the same minute ({time.monotonic() - started:.1f} s)")

    env = {**os.environ, "ENGINE_TICK_SECONDS": "0.5", "NOTIFY_TICK_SECONDS": "0.5"}
    t0 = time.monotonic()
    engine = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while time.monotonic() - t0 < args.timeout and receiver.all_at is None and engine.poll() is None:
            time.sleep(0.05)
        time.sleep(1.0)  # anything still in flight would show as a duplicate
    finally:
        engine.send_signal(signal.SIGTERM)
        try:
            _, err = engine.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            engine.kill()
            _, err = engine.communicate()
    delivered = len(receiver.keys)
    duplicates = sum(n - 1 for n in receiver.keys.values())
    states = _outbox_states(app)
    failures = states.get("dead", 0) + states.get("pending", 0) + states.get("sending", 0)
    print(f"escalations delivered to the loopback webhook: {delivered} / {args.count}")
    if receiver.all_at is not None:
        print(f"time from engine start to all delivered: {receiver.all_at - t0:.2f} s "
              f"(first after {receiver.first_at - t0:.2f} s; limit {args.timeout:.0f} s)")
    else:
        print(f"NOT all delivered within {args.timeout:.0f} s")
    print(f"duplicates seen by the receiver: {duplicates}")
    print(f"failures (not sent): {failures}; outbox states: {states}")
    ok = receiver.all_at is not None and receiver.all_at - t0 <= args.timeout and duplicates == 0 and failures == 0
    if not ok and err:
        print(err[-2000:], file=sys.stderr)
    print("RESULT:", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
