"""Logging in: password then TOTP (enrolled at the first login), lock-out, rate limits, CSRF, sessions."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
import time_machine

from config import ProductionConfig
from incident_service import create_app
from incident_service.auth.models import User
from incident_service.extensions import db
from tests.auth.conftest import PASSWORD, code_at, csrf_token, post_form, secret_on_page


def _login(client, username="alice", password=PASSWORD):
    return post_form(client, "/login", {"username": username, "password": password})


def _logged_in(client) -> bool:
    return client.get("/admin/users").status_code in (200, 403)


def test_first_login_enrols_totp_with_qr_and_recovery_codes_then_lets_the_user_in(client, make_user, frozen):
    make_user("alice", "admin")
    r = _login(client)
    assert r.status_code == 302 and r.location.endswith("/login/mfa/setup")
    assert not _logged_in(client)  # the password alone is not a login
    page = client.get("/login/mfa/setup").get_data(as_text=True)
    assert "<svg" in page  # the QR code, inline
    secret = secret_on_page(page)
    r = post_form(client, "/login/mfa/setup", {"code": code_at(secret, frozen())})
    assert r.status_code == 200
    codes = r.get_data(as_text=True).count("<li><code>")
    assert codes == 10 and "之後不會再顯示" in r.get_data(as_text=True)  # "not shown again"
    assert client.get("/admin/users").status_code == 200
    user = db.session.scalar(db.select(User).where(User.username == "alice"))
    assert user.mfa_secret == secret and user.last_login_at == frozen()
    assert all(len(h) == 64 for h in user.recovery_codes)  # only hashes are kept


def test_enrolment_needs_a_right_code(client, make_user, frozen):
    make_user("alice", "admin")
    _login(client)
    secret_on_page(client.get("/login/mfa/setup").get_data(as_text=True))
    r = post_form(client, "/login/mfa/setup", {"code": "000000"})
    assert r.status_code == 401 and "AUTH-401" in r.get_data(as_text=True)
    assert not _logged_in(client)


def test_right_password_with_wrong_or_replayed_code_fails(client, enrolled, frozen):
    _, secret = enrolled("alice", "admin")
    assert _login(client).location.endswith("/login/mfa")
    r = post_form(client, "/login/mfa", {"code": "123456" if code_at(secret, frozen()) != "123456" else "654321"})
    assert r.status_code == 401 and not _logged_in(client)

    code = code_at(secret, frozen())
    assert post_form(client, "/login/mfa", {"code": code}).status_code == 302
    assert _logged_in(client)

    client.delete_cookie("session")
    _login(client)
    r = post_form(client, "/login/mfa", {"code": code})  # the same code again, within its 30 seconds
    assert r.status_code == 401 and not _logged_in(client)

    frozen.advance(seconds=30)
    assert post_form(client, "/login/mfa", {"code": code_at(secret, frozen())}).status_code == 302


def test_a_recovery_code_logs_in_once(client, make_user, frozen):
    make_user("alice", "admin")
    _login(client)
    secret = secret_on_page(client.get("/login/mfa/setup").get_data(as_text=True))
    page = post_form(client, "/login/mfa/setup", {"code": code_at(secret, frozen())}).get_data(as_text=True)
    recovery = page.split("<li><code>")[1].split("</code>")[0]
    for expected in (302, 401):
        client.delete_cookie("session")
        _login(client)
        assert post_form(client, "/login/mfa", {"code": recovery}).status_code == expected


def test_the_nth_wrong_password_locks_the_account_until_the_lock_ends(app, client, make_user, frozen):
    app.config.update(LOGIN_MAX_FAILURES=3, LOGIN_LOCK_MINUTES=15)
    make_user("alice", "admin")
    for _ in range(2):
        assert _login(client, password="wrong password!").status_code == 401
    assert _login(client).status_code == 302  # two failures: not locked; success resets the count later
    client.delete_cookie("session")
    for _ in range(3):
        _login(client, password="wrong password!")
    r = _login(client)
    assert r.status_code == 401  # the right password, but locked
    assert "帳號已鎖定" in r.get_data(as_text=True)  # one message for every refusal: "... or the account is locked"
    frozen.advance(minutes=16)
    assert _login(client).status_code == 302


def test_wrong_codes_count_towards_the_lock(app, client, enrolled, frozen):
    app.config.update(LOGIN_MAX_FAILURES=3)
    _, secret = enrolled("alice", "admin")
    _login(client)
    for _ in range(3):
        post_form(client, "/login/mfa", {"code": "000001"})
    assert post_form(client, "/login/mfa", {"code": code_at(secret, frozen())}).status_code == 401


def test_unknown_user_and_disabled_user_get_the_same_answer_as_a_wrong_password(client, make_user):
    user = make_user("bob", "oncall")
    user.is_active = False
    db.session.commit()
    answers = {_login(client, username=name).get_data(as_text=True).count("AUTH-401") for name in ("nobody", "bob")}
    assert answers == {1}


def test_too_many_login_posts_get_429(app, client, make_user):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    token = csrf_token(client.get("/login").get_data(as_text=True))
    statuses = [client.post("/login", data={"username": "x", "password": "y", "csrf_token": token}).status_code
                for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    r = client.post("/login", data={"username": "x", "password": "y", "csrf_token": token})
    assert r.status_code == 429 and "too_many_requests" in r.get_data(as_text=True)


def test_a_form_post_without_csrf_token_is_refused(client, make_user):
    make_user("alice", "admin")
    r = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert r.status_code == 400
    assert not _logged_in(client)


def test_next_only_goes_to_local_pages(app, client, make_user):
    app.config["MFA_REQUIRED"] = False
    make_user("alice", "admin")
    r = post_form(client, "/login?next=//evil.example/x", {"username": "alice", "password": PASSWORD},
                  form_url="/login")
    assert r.status_code == 302 and r.location == "/"


def test_without_mfa_in_the_development_demo_the_password_is_enough(app, client, make_user):
    app.config["MFA_REQUIRED"] = False
    make_user("alice", "admin")
    assert _login(client).location == "/"
    assert client.get("/admin/users").status_code == 200


def test_production_refuses_to_run_without_mfa(tmp_path):
    with pytest.raises(RuntimeError, match="MFA_REQUIRED"):
        create_app(ProductionConfig, MFA_REQUIRED=False, SECRET_KEY=secrets.token_urlsafe(48),
                   SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.db'}")


def test_idle_session_ends_after_15_minutes_and_any_session_after_its_lifetime(app, client, login_as):
    with time_machine.travel("2026-11-21 02:00:00+08:00", tick=False) as traveller:
        login_as("admin")
        traveller.shift(timedelta(minutes=14))
        assert client.get("/admin/users").status_code == 200
        traveller.shift(timedelta(minutes=16))
        r = client.get("/admin/users")
        assert r.status_code == 302 and "/login" in r.location
        assert "AUTH-440" in client.get(r.location).get_data(as_text=True)

    with time_machine.travel("2026-11-22 02:00:00+08:00", tick=False) as traveller:
        client.delete_cookie("session")
        login_as("admin", username="busy-admin")
        for _ in range(10 * 6 + 1):  # active every 10 minutes for over 10 hours
            traveller.shift(timedelta(minutes=10))
            r = client.get("/admin/users")
        assert r.status_code == 302 and "/login" in r.location


def test_pages_carry_security_headers_and_the_session_cookie_is_guarded(client, make_user, frozen):
    make_user("alice", "admin")
    r = client.get("/login")
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"
    r = _login(client)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_logout_ends_the_session(client, login_as):
    login_as("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    r = client.post("/logout", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 302 and not _logged_in(client)


def test_pages_need_a_login(client):
    r = client.get("/admin/users")
    assert r.status_code == 302 and r.location.startswith("/login?next=")
