"""Real engine processes at their limits: one killed outright has its work taken over (alerts, delivery, vendor
duties), and SIGTERM lets the sends in flight finish and be marked before the engine exits."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from incident_service.notify import service
from incident_service.notify.models import ChannelKind, OutboxMessage
from incident_service.vendors.duties import VendorDuty
from tests import factories
from tests.notify.conftest import Endpoint
from tests.engine.processes import wait_for

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4


def _engine(db_url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db_url, "INCIDENT_SERVICE_ENV": "development", "ENGINE_TICK_SECONDS": "0.2",
           "NOTIFY_TICK_SECONDS": "0.2", "NOTIFY_LEASE_SECONDS": "2", "NOTIFY_WORKERS": str(WORKERS),
           "DUTY_SYNC_MINUTES": "0.02", "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "SMTP_HOST": "",
           "AUDIT_ANCHOR_DIR": str(log.parent / "anchors")}
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


@pytest.fixture
def webhook(session):
    """A receiver on loopback, with every escalation routed to it."""
    endpoint = Endpoint()
    channel = service.create_channel(session=session, now=datetime.now(UTC), allowed_hosts=("127.0.0.1",), data={
        "name": "SOC", "kind": ChannelKind.webhook, "url": endpoint.url, "secret": "s3cret"})
    service.create_rule(session=session, now=datetime.now(UTC), data={
        "name": "to the SOC", "target": "channel", "channel_id": channel.id, "events": ["escalation"]})
    yield endpoint
    endpoint.held.set()
    endpoint.close()


def _overdue(session, registry, n: int) -> None:
    """n incidents whose initial report is 40 minutes overdue (real processes run on the real clock)."""
    now = datetime.now(UTC)
    for i in range(n):
        factories.incident(session, registry, now, aware_at=now - timedelta(minutes=40, seconds=i))


def _keys(endpoint) -> Counter:
    return Counter(r["headers"]["Idempotency-Key"] for r in endpoint.requests)


def _health(client) -> dict:
    return client.get("/api/v1/health").json["scheduler"]


def _role(client, proc) -> str | None:
    return next((e["role"] for e in _health(client)["engines"] if e["pid"] == proc.pid), None)


def _states(session) -> dict[str, int]:
    session.rollback()
    return {s.value: n for s, n in session.execute(
        sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state))}


def test_a_killed_engines_alerts_deliveries_and_vendor_duties_are_taken_over(app, session, registry, client, webhook,
                                                                            tmp_path):
    db_url = app.config["SQLALCHEMY_DATABASE_URI"]
    postgres = db_url.startswith("postgresql")
    webhook.delay = 0.05  # sends stay in flight long enough to be cut off
    _overdue(session, registry, 40)
    first = _engine(db_url, tmp_path / "first.log")
    engines = [first]
    try:
        assert wait_for(lambda: _role(client, first) == "active"), (tmp_path / "first.log").read_text()
        if postgres:  # a second engine is a standby: it shares the alerts and the delivery
            second = _engine(db_url, tmp_path / "second.log")
            engines.append(second)
            assert wait_for(lambda: _role(client, second) == "standby")
            health = _health(client)
            assert (health["engines_alive"], health["engines_standby"]) == (2, 1)
        assert wait_for(lambda: len(webhook.requests) >= 10)
        first.send_signal(signal.SIGKILL)  # mid-burst: messages claimed, some sent and not yet marked
        first.wait(timeout=10)
        if not postgres:  # SQLite: one engine at a time; the lock died with the first, so a new one starts at once
            second = _engine(db_url, tmp_path / "second.log")
            engines.append(second)

        # New work after the kill: more alerts, and a vendor whose duties only the calendar job sets up.
        _overdue(session, registry, 20)
        vendor = factories.vendor(session, datetime.now(UTC))
        factories.contract(session, datetime.now(UTC), vendor.id)

        assert wait_for(lambda: _role(client, second) == "active"), (tmp_path / "second.log").read_text()
        assert wait_for(lambda: len(_keys(webhook)) >= 60 and _states(session) == {"sent": 60}), _states(session)
        assert wait_for(lambda: (session.rollback(), session.scalar(
            sa.select(sa.func.count()).select_from(VendorDuty).where(VendorDuty.vendor_id == vendor.id)))[1] > 0)
    finally:
        codes = [_stop(p) for p in engines if p is not first]
    assert codes == [0]
    repeated = sum(n - 1 for n in _keys(webhook).values())
    assert repeated <= WORKERS + (20 if not postgres else 0)  # only what was in flight (SQLite marks in groups of 20)


def test_sigterm_lets_the_sends_in_flight_finish_and_marks_them_before_the_engine_exits(app, session, registry,
                                                                                        webhook, tmp_path):
    db_url = app.config["SQLALCHEMY_DATABASE_URI"]
    webhook.delay = 0.3
    _overdue(session, registry, 30)
    engine = _engine(db_url, tmp_path / "engine.log")
    try:
        assert wait_for(lambda: len(webhook.requests) >= 3), (tmp_path / "engine.log").read_text()
    finally:
        engine.send_signal(signal.SIGTERM)
        code = _stop(engine)
    assert code == 0
    states = _states(session)
    assert "sending" not in states and states["sent"] >= 3  # nothing left leased: sent and marked, or given back
    sent_keys = set(session.scalars(sa.select(OutboxMessage.idempotency_key).where(OutboxMessage.state == "sent")))
    assert sent_keys == set(_keys(webhook))  # every message the receiver took is marked

    # The next engine sends the rest at once (nothing to wait out), none twice.
    webhook.delay = 0
    follower = _engine(db_url, tmp_path / "follower.log")
    try:
        assert wait_for(lambda: _states(session) == {"sent": 30})
    finally:
        _stop(follower)
    assert sorted(_keys(webhook).values()) == [1] * 30
