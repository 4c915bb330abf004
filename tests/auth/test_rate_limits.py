"""Rate limits hold across several gunicorn workers (a shared Redis store) and behind a reverse proxy
(TRUSTED_PROXIES: the limits and the audit trail see the client's address, and only then)."""
from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from config import TestingConfig
from incident_service import create_app
from incident_service.audit.models import AuditEntry
from incident_service.extensions import db, limiter
from tests.auth.conftest import csrf_token

REDIS = "redis://127.0.0.1:6379/10"  # this work tree's own Redis database


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def _worker(app_config: dict):
    """A fresh app, as a new gunicorn worker process builds one (its own limiter storage connection)."""
    return create_app(TestingConfig, **app_config)


def _login_posts(app, n: int, **environ) -> list[int]:
    client = app.test_client()
    token = csrf_token(client.get("/login", environ_base=environ).get_data(as_text=True))
    return [client.post("/login", data={"username": "nobody", "password": "wrong password!", "csrf_token": token},
                        environ_base=environ).status_code for _ in range(n)]


@pytest.fixture
def shared_config(app):
    return {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "AUDIT_ANCHOR_DIR": app.config["AUDIT_ANCHOR_DIR"], "LOGIN_RATE_LIMIT": "3 per minute"}


@pytest.mark.skipif(not _redis_up(), reason="needs the machine's Redis on 127.0.0.1:6379")
def test_with_redis_several_workers_share_one_limit(shared_config):
    config = {**shared_config, "RATELIMIT_STORAGE_URI": REDIS}
    first = _worker(config)
    with first.app_context():
        limiter.reset()  # only this tree's database 10
        assert _login_posts(first, 2) == [401, 401]
    second = _worker(config)  # another worker: a new connection to the same store
    try:
        with second.app_context():
            assert _login_posts(second, 2) == [401, 429]
    finally:
        with second.app_context():
            limiter.reset()
            db.engine.dispose()
        with first.app_context():
            db.engine.dispose()


def test_in_memory_each_worker_counts_alone(shared_config):
    """Why production needs RATELIMIT_STORAGE_URI: with memory:// a second worker starts from zero."""
    first = _worker(shared_config)
    with first.app_context():
        assert _login_posts(first, 2) == [401, 401]
        db.engine.dispose()
    second = _worker(shared_config)
    with second.app_context():
        assert _login_posts(second, 2) == [401, 401]
        db.engine.dispose()


def _entries(action):
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


def test_behind_a_trusted_proxy_limits_and_the_trail_see_the_client(shared_config):
    app = _worker({**shared_config, "TRUSTED_PROXIES": 1})
    with app.app_context():
        limiter.reset()
        proxy = {"REMOTE_ADDR": "10.0.0.2"}
        one = {**proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.7"}
        two = {**proxy, "HTTP_X_FORWARDED_FOR": "198.51.100.9"}
        assert _login_posts(app, 3, **one) == [401, 401, 401]
        assert _login_posts(app, 1, **one) == [429]  # the same client, whichever connection it comes through
        assert _login_posts(app, 1, **two) == [401]  # another client behind the same proxy has its own limit
        assert {e.details["ip"] for e in _entries("login_failed")} == {"203.0.113.7", "198.51.100.9"}
        db.session.remove()
        db.engine.dispose()


def test_without_trusted_proxies_a_forged_forwarded_for_changes_nothing(shared_config):
    app = _worker({**shared_config, "TRUSTED_PROXIES": 0})
    with app.app_context():
        limiter.reset()
        statuses = [_login_posts(app, 1, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")[0] for n in range(4)]
        assert statuses == [401, 401, 401, 429]  # a new X-Forwarded-For per try does not escape the limit
        assert {e.details["ip"] for e in _entries("login_failed")} == {"127.0.0.1"}
        db.session.remove()
        db.engine.dispose()
