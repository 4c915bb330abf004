"""Fixtures: a fresh app per test on SQLite (or TEST_DATABASE_URL), a client, and a controlled clock."""
from __future__ import annotations

import functools
import os
import secrets
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

# Random keys for this run, in the environment before the configuration is read, so that processes the tests start
# (the clock engine) encrypt and sign with the same keys as the test's app. Never a key known beforehand.
for _name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "AUDIT_ANCHOR_KEY"):
    os.environ.setdefault(_name, secrets.token_urlsafe(48))

from config import TestingConfig  # noqa: E402 - after the keys above
from incident_service import create_app
from incident_service.database import empty_database
from incident_service.extensions import db as _db

# A fixed instant: 2026-11-21 02:10 in Taipei.
T0 = datetime(2026, 11, 20, 18, 10, tzinfo=UTC)


RESET_SEQUENCES = ("SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE c.relkind = 'S' AND n.nspname = 'public'")


def _reset_schema():
    """An empty schema as the models describe it. On PostgreSQL, when the tables are already those of the models (the
    previous test's), their rows are deleted and the ids start at 1 again (a thirtieth of dropping and creating);
    otherwise (a first test, or one that ran the migrations) the schema is rebuilt."""
    engine = _db.engine
    if engine.dialect.name == "postgresql":
        tables = set(sa.inspect(engine).get_table_names())
        if tables == set(_db.metadata.tables):
            # Replica mode skips triggers: the foreign keys' (any order will do) and the trail's append-only guard,
            # which must hold in service and is stepped around only by this reset.
            emptying = "; ".join(f'DELETE FROM "{name}"' for name in _db.metadata.tables)
            with engine.begin() as conn:
                conn.execute(sa.text(f"SET LOCAL session_replication_role = replica; {emptying}; {RESET_SEQUENCES}"))
            return
    empty_database(_db)
    _db.create_all()


@functools.cache
def _sqlite_template() -> bytes:
    """An empty SQLite database file with the models' schema, built once per test process and copied for each test."""
    path = os.path.join(tempfile.mkdtemp(prefix="incident-service-template-"), "template.db")
    template = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with template.app_context():
        _db.create_all()
        _db.engine.dispose()
    with open(path, "rb") as file:
        return file.read()


class ContextPerRequestClient(FlaskClient):
    """Each request runs in an app context of its own, as under a real server: ``g``, the database session and the
    request's "now" start fresh, while the test keeps its own context (and session) around the requests."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@functools.cache
def _test_database_url() -> str | None:
    """TEST_DATABASE_URL, or under pytest-xdist a database of this worker's own beside it (created once)."""
    url = os.environ.get("TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker or not url.startswith("postgresql"):
        return url
    base = sa.engine.make_url(url)
    name = f"{base.database}_{worker}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def app(tmp_path):
    overrides = {"SQLALCHEMY_DATABASE_URI": _test_database_url(),
                 "AUDIT_ANCHOR_DIR": str(tmp_path / "audit-anchors")}
    fresh_file = not overrides["SQLALCHEMY_DATABASE_URI"]
    if fresh_file:
        # A file database, so several connections (threads, engine processes) see the same data.
        (tmp_path / "test.db").write_bytes(_sqlite_template())
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app(TestingConfig, **overrides)
    app.test_client_class = ContextPerRequestClient
    with app.app_context():
        if not fresh_file:
            _reset_schema()
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def session(db):
    return db.session


def _api_client(app, *roles: str, username: str):
    """A test client whose API calls carry a bearer token of a new user holding ``roles``."""
    from incident_service.auth.service import create_user
    from incident_service.auth.tokens import create_token

    user = create_user(session=_db.session, username=username, password="correct horse battery", roles=list(roles),
                       now=datetime.now(UTC))
    _, token = create_token(session=_db.session, user=user, name="tests", created_by="tests", now=datetime.now(UTC))
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture
def client(app):
    """API calls act as a user holding admin and supervisor (web pages still need ``login_as``)."""
    return _api_client(app, "admin", "supervisor", username="api-admin-supervisor")


@pytest.fixture
def api_as(app):
    """``api_as("auditor")``: a new client whose API calls act as a new user holding those roles."""
    return lambda *roles: _api_client(app, *roles, username=f"api-{'-'.join(roles) or 'none'}-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def registry(app):
    return app.extensions["policies"]


class Clock:
    """A controllable "now" for service calls and (through time-machine) for requests."""

    def __init__(self, start: datetime):
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **kwargs) -> datetime:
        self.value += timedelta(**kwargs)
        return self.value


@pytest.fixture
def frozen(monkeypatch):
    """Freeze the service's clock (``incident_service.clock.now``) at T0; advance it with ``frozen.advance``."""
    clock = Clock(T0)
    monkeypatch.setattr("incident_service.clock.now", clock)
    return clock


@pytest.fixture
def login_as(app, client):
    """Log the test client in as a new user holding the given roles; returns the user."""
    from incident_service.auth.service import create_user

    def _login(*roles: str, username: str | None = None):
        name = username or f"{'-'.join(roles)}-user"
        user = create_user(session=_db.session, username=name, password="correct horse battery", roles=list(roles),
                           now=datetime.now(UTC))
        client.environ_base.pop("HTTP_AUTHORIZATION", None)  # act as this user on the API too
        with client.session_transaction() as sess:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True
            sess["_login_at"] = sess["_last_seen"] = time.time()  # as after password + TOTP
            sess["_epoch"] = user.session_epoch  # the server-side generation of this user's sessions
        return user

    return _login
