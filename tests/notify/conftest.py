"""Fixtures for delivery: users, incidents whose clocks raise warnings, and real servers on loopback
(an SMTP server from aiosmtpd, an HTTP endpoint that records what it receives)."""
from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
from datetime import timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from incident_service.auth.service import create_user
from incident_service.cases import incidents
from incident_service.incidents.models import IncidentKind
from incident_service.notify.settings import NotifySettings, SmtpSettings
from incident_service.reporting.alerts import fire_due_alerts
from tests import factories
from tests.conftest import T0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 5.0) -> bool:
    """Poll briefly for a loopback server thread to have received something (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


class Mailbox:
    """An aiosmtpd server on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.messages = []
        self._controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"to": list(envelope.rcpt_tos), "from": envelope.mail_from, "msg": msg,
                              "body": msg.get_content()})
        return "250 OK"

    def start(self):
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def mailbox():
    box = Mailbox()
    yield box
    box.stop()


class Endpoint:
    """An HTTP endpoint on 127.0.0.1 recording each request; ``answers`` are the statuses to give, in turn."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[int] = []
        self.delay = 0.0  # seconds each answer takes: a slow receiver keeps sends in flight
        self.held = threading.Event()  # cleared: every request waits until it is set
        self.held.set()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = endpoint.answers.pop(0) if endpoint.answers else 200
                endpoint.requests.append({"path": self.path, "headers": dict(self.headers), "body": body, "status": status})
                endpoint.held.wait(30)
                time.sleep(endpoint.delay)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def json(self, i: int = -1) -> dict:
        return json.loads(self.requests[i]["body"])

    def accepted(self) -> list[dict]:
        return [r for r in self.requests if 200 <= r["status"] < 300]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    e = Endpoint()
    yield e
    e.close()


# These tests post to receivers on loopback, and name hosts that do not resolve: allowed on purpose (the egress
# rules themselves are tested in test_egress.py with nothing allowed).
TEST_WEBHOOK_HOSTS = ("127.0.0.1", "hooks.slack.example", "teams.example")


@pytest.fixture(autouse=True)
def allow_test_webhooks(app):
    app.config["WEBHOOK_ALLOWED_HOSTS"] = list(TEST_WEBHOOK_HOSTS)


@pytest.fixture
def settings(registry):
    """Delivery settings as the app builds them; links point at a test host; short timeouts."""
    return NotifySettings(zone=registry.zone, base_url="http://incidents.test", workers=2, send_timeout=3,
                          webhook_allowed_hosts=TEST_WEBHOOK_HOSTS)


def with_smtp(settings: NotifySettings, box: Mailbox) -> NotifySettings:
    return dataclasses.replace(settings, smtp=SmtpSettings(host="127.0.0.1", port=box.port, from_address="soc@firm.test"))


@pytest.fixture
def people(session):
    """A reporter (on-call), two supervisors, an admin; each with an email address."""
    def user(name, *roles):
        return create_user(session=session, username=name, password="correct horse battery", roles=list(roles),
                           now=T0, email=f"{name}@firm.test")

    return {"reporter": user("ming", "oncall"), "boss": user("hua", "supervisor"), "ciso": user("lin", "supervisor"),
            "admin": user("chen", "admin")}


@pytest.fixture
def open_incident(session, registry):
    """Open an incident reported by a user; its clocks start at ``aware_at`` (default: a minute before T0)."""
    def _open(reporter, *, aware_at=None, severity=2, now=T0, **kw):
        vendor = factories.vendor(session, now)
        data = {"vendor_id": vendor.id, "kind": IncidentKind.outage, "severity": severity, "title": "下單 App 無法登入",
                "aware_at": aware_at or now - timedelta(minutes=1), **kw}
        return incidents.open_incident(session=session, data=data, actor=reporter.username, registry=registry,
                                       default_policies=["twse"], now=now, reporter_id=reporter.id)

    return _open


@pytest.fixture
def raise_alerts(session, registry):
    """Let the clock engine fire what is due at ``now`` (writes Notification rows)."""
    def _fire(now):
        return fire_due_alerts(session=session, now=now, engine_id="test-engine", zone=registry.zone)[1]

    return _fire
