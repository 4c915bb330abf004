"""Helpers for the web page tests: a logged-in client, CSRF tokens read off pages, data built through services."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_service.extensions import db
from tests import factories


def csrf_token(html: str) -> str:
    match = re.search(r'name="(?:[\w-]+-)?csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "the page carries no form with a CSRF token"
    return match.group(1)


@pytest.fixture
def web(app, client, login_as):
    """A client logged in with the given roles (``web.login("oncall")``), posting forms with their CSRF token."""

    class Web:
        def login(self, *roles: str, username: str | None = None):
            user = login_as(*roles, username=username)
            with client.session_transaction() as sess:
                # The session guard wants the login's time stamps (wall clock), as a real login sets them.
                sess.setdefault("_login_at", time.time())
                sess.setdefault("_last_seen", time.time())
            return user

        def get(self, url: str, **kw):
            return client.get(url, **kw)

        def post(self, url: str, data: dict, *, token_from: str = "/incidents", prefix: str = "", **kw):
            token = csrf_token(self.get(token_from).get_data(as_text=True))
            return client.post(url, data={**data, f"{prefix}csrf_token": token}, **kw)

    return Web()


@pytest.fixture
def world(app, session, registry, frozen):
    """Two vendors, two systems (one core) and a contract with RTO 30 / RPO 5 min and a 15-minute duty to notify."""
    now = frozen()
    vendor = factories.vendor(session, now, name="鼎新資訊")
    other = factories.vendor(session, now, name="Other Vendor")
    core = factories.system(session, now, name="APP電子下單系統", rto_minutes=30, rpo_minutes=5)
    backoffice = factories.system(session, now, name="後台帳務系統", is_core=False, rto_minutes=240, rpo_minutes=60)
    contract = factories.contract(session, now, vendor.id, [core.id], vendor_notify_minutes=15)

    class World:
        pass

    w = World()
    w.vendor, w.other, w.core, w.backoffice, w.contract, w.now = vendor, other, core, backoffice, contract, now
    w.incident = lambda **kw: factories.incident(session, registry, frozen(), vendor_id=kw.pop("vendor_id", vendor.id), **kw)
    return w


def count_queries(app, fn) -> int:
    """How many SQL statements ``fn`` sends."""
    statements = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    return len(statements)


def minutes_ago(now, n):
    return now - timedelta(minutes=n)
