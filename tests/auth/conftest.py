"""Helpers for the auth tests: users with a known password, CSRF tokens read off forms, TOTP codes."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pyotp
import pytest

from incident_service.auth import service
from incident_service.extensions import db

PASSWORD = "correct horse battery"


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "the form carries no CSRF token"
    return match.group(1)


def post_form(client, url: str, data: dict, *, form_url: str | None = None, **kw):
    """Open the page with the form, then post it with its CSRF token (as a browser does)."""
    page = client.get(form_url or url)
    return client.post(url, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))}, **kw)


@pytest.fixture
def make_user(app):
    def _make(username: str = "alice", *roles: str, password: str = PASSWORD):
        return service.create_user(session=db.session, username=username, password=password,
                                   roles=list(roles) or ["oncall"], now=datetime.now(UTC))

    return _make


def secret_on_page(html: str) -> str:
    match = re.search(r'<code id="mfa-secret">([A-Z2-7 ]+)</code>', html)
    assert match, "the enrolment page shows no key"
    return match.group(1).replace(" ", "")


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


@pytest.fixture
def enrolled(app, client, make_user, frozen):
    """A user who has enrolled TOTP (through the pages), then logged out; returns (user, secret)."""

    def _enrolled(username: str = "alice", *roles: str):
        user = make_user(username, *roles)
        r = post_form(client, "/login", {"username": username, "password": PASSWORD})
        assert r.status_code == 302 and r.location.endswith("/login/mfa/setup")
        secret = secret_on_page(client.get("/login/mfa/setup").get_data(as_text=True))
        r = post_form(client, "/login/mfa/setup", {"code": code_at(secret, frozen())})
        assert r.status_code == 200
        client.delete_cookie("session")  # a fresh browser
        frozen.advance(seconds=30)  # the next code is a new one
        return user, secret

    return _enrolled
