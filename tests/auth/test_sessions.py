"""Sessions end on the server: a replayed cookie after logout, disabling, an MFA reset or a password change is
refused; a forged cookie (signed with a known key) gets nowhere; `next` only goes to local pages; the lock-out
counter is atomic; logins, failures and logouts are in the audit trail; re-enrolment after a reset needs the
admin's one-time code."""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from incident_service.audit.models import AuditEntry
from incident_service.auth import service
from incident_service.auth.models import User
from incident_service.auth.views import _safe_next
from incident_service.extensions import db
from tests.auth.conftest import PASSWORD, code_at, csrf_token, post_form, secret_on_page

COOKIE = "session"


def _cookie(client) -> str:
    return client.get_cookie(COOKIE).value


def _replay(app, value: str):
    other = app.test_client()
    other.set_cookie(COOKIE, value)
    return other


def _in(client, url="/admin/users") -> bool:
    return client.get(url).status_code == 200


def _password_login(client, username="alice", password=PASSWORD):
    return post_form(client, "/login", {"username": username, "password": password})


def _entries(action):
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


def test_a_cookie_replayed_after_logout_is_refused(app, client, login_as):
    login_as("admin")
    assert _in(client)
    stolen = _cookie(client)
    page = client.get("/admin/users").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_token(page)}).status_code == 302
    replayed = _replay(app, stolen)
    r = replayed.get("/admin/users")
    assert r.status_code == 302 and r.location.startswith("/login")
    assert replayed.get("/api/v1/incidents").status_code == 401


def test_logout_ends_every_session_of_that_user(app, client, make_user):
    app.config["MFA_REQUIRED"] = False
    make_user("alice", "admin")
    laptop, wall = app.test_client(), app.test_client()
    for browser in (laptop, wall):
        assert _password_login(browser).status_code == 302 and _in(browser)
    page = laptop.get("/admin/users").get_data(as_text=True)
    laptop.post("/logout", data={"csrf_token": csrf_token(page)})
    r = wall.get("/admin/users")
    assert r.status_code == 302 and "AUTH-441" in wall.get(r.location).get_data(as_text=True)


@pytest.mark.parametrize("change", ["disable", "reset-mfa"])
def test_disabling_or_resetting_mfa_ends_the_users_sessions(app, client, make_user, change):
    app.config["MFA_REQUIRED"] = False
    victim = make_user("bob", "oncall")
    browser = app.test_client()
    _password_login(browser, "bob")
    assert browser.get("/incidents").status_code == 200
    stolen = _cookie(browser)
    result = app.test_cli_runner().invoke(args=["user", change, "bob"])
    assert result.exit_code == 0, result.output
    for c in (browser, _replay(app, stolen)):
        assert c.get("/incidents").status_code == 302
        assert c.get("/api/v1/incidents").status_code == 401
    assert db.session.get(User, victim.id).session_epoch >= 1


def test_a_password_change_needs_the_current_password_and_a_code_and_ends_the_other_sessions(app, client, enrolled,
                                                                                              frozen):
    user, secret = enrolled("alice", "admin")
    other = app.test_client()
    for browser in (client, other):
        _password_login(browser)
        assert post_form(browser, "/login/mfa", {"code": code_at(secret, frozen())}).status_code == 302
        frozen.advance(seconds=30)
    before = _cookie(client)
    new = "a brand new passphrase"
    r = post_form(client, "/account/password", {"current_password": "wrong password!!", "new_password": new,
                                                "confirm": new, "code": code_at(secret, frozen())})
    assert r.status_code == 401 and "AUTH-401" in r.get_data(as_text=True)
    r = post_form(client, "/account/password", {"current_password": PASSWORD, "new_password": new, "confirm": new,
                                                "code": "000000"})
    assert r.status_code == 401
    frozen.advance(seconds=30)
    r = post_form(client, "/account/password", {"current_password": PASSWORD, "new_password": new, "confirm": new,
                                                "code": code_at(secret, frozen())})
    assert r.status_code == 302
    assert _in(client)  # this session goes on
    assert other.get("/admin/users").status_code == 302  # the other one ended
    assert _replay(app, before).get("/admin/users").status_code == 302  # and so did this one's old cookie
    db.session.expire_all()
    assert service.password_matches(db.session.get(User, user.id), new)


def test_the_password_page_refuses_a_short_new_password(app, client, login_as):
    login_as("oncall")
    r = post_form(client, "/account/password", {"current_password": "correct horse battery", "new_password": "short",
                                                "confirm": "short"})
    assert r.status_code == 422 and "12" in r.get_data(as_text=True)


@pytest.mark.parametrize("key", ["dev-only-not-secret", "testing-secret"])
def test_a_cookie_forged_with_a_known_key_gets_nowhere(app, make_user, key):
    admin = make_user("root", "admin")
    interface = SecureCookieSessionInterface()
    signer = URLSafeTimedSerializer(key, salt=interface.salt, serializer=interface.serializer,
                                    signer_kwargs={"key_derivation": interface.key_derivation,
                                                   "digest_method": interface.digest_method})
    forged = signer.dumps({"_user_id": str(admin.id), "_fresh": True, "_login_at": time.time(),
                           "_last_seen": time.time(), "_epoch": 0})
    attacker = _replay(app, forged)
    assert attacker.get("/admin/users").status_code == 302
    assert attacker.get("/api/v1/incidents").status_code == 401


NEXT_CASES = [
    ("/incidents/3?x=1", "/incidents/3?x=1"),
    ("/board#top", "/board#top"),
    ("//evil.example/x", "/"),
    ("/\\evil.example", "/"),
    ("\\\\evil.example", "/"),
    ("/\t/evil.example", "/"),
    ("/\n/evil.example", "/"),
    ("/\r\n/evil.example", "/"),
    (" //evil.example", "/"),
    ("https://evil.example/", "/"),
    ("javascript:alert(1)", "/"),
    ("http:/evil.example", "/"),
    ("/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"),
    ("evil.example", "/"),
    ("", "/"),
    (None, "/"),
    ("/\x00", "/"),
    ("/" + "a" * 3000, "/"),
]


@pytest.mark.parametrize("target, expected", NEXT_CASES)
def test_next_accepts_only_a_local_path(target, expected):
    assert _safe_next(target) == expected


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example", "/\t/evil.example", "https://evil.example"])
def test_the_login_page_never_redirects_off_site(app, client, make_user, target):
    app.config["MFA_REQUIRED"] = False
    make_user("alice", "admin")
    r = post_form(client, "/login?next=" + target.replace("\t", "%09"), {"username": "alice", "password": PASSWORD},
                  form_url="/login")
    # Either the login lands on the start page, or (control characters in the address) the request is refused.
    assert (r.status_code == 302 and r.location == "/") or (r.status_code == 400 and "Location" not in r.headers)


def test_concurrent_wrong_passwords_all_count_and_lock_the_account(app, make_user, frozen):
    """Each thread is its own request with its own database connection, as gunicorn workers are."""
    app.config.update(LOGIN_MAX_FAILURES=5, LOGIN_LOCK_MINUTES=15)
    user = make_user("alice", "oncall")
    barrier = threading.Barrier(5)
    outcomes = []

    def attempt():
        with app.app_context():
            barrier.wait()
            try:
                service.check_password(session=db.session, username="alice", password="wrong password!", now=frozen(),
                                       max_failures=5, lock_minutes=15)
            except service.LoginFailed as failure:
                outcomes.append(failure.reason)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 5
    db.session.expire_all()
    locked = db.session.get(User, user.id)
    assert locked.locked_until is not None and locked.locked_until > frozen()


def test_logins_failures_and_logouts_are_in_the_trail(app, client, make_user):
    app.config["MFA_REQUIRED"] = False
    make_user("alice", "admin")
    _password_login(client, "nobody-here")
    _password_login(client, "alice", "wrong password!")
    _password_login(client, "alice")
    page = client.get("/admin/users").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(page)})
    failed = _entries("login_failed")
    assert [e.details["username"] for e in failed] == ["nobody-here", "alice"]
    assert failed[0].actor == "anonymous" and "unknown user" in failed[0].details["reason"]
    (login,) = _entries("login")
    (logout,) = _entries("logout")
    assert login.actor == logout.actor == "alice" and login.details["ip"] == "127.0.0.1"


def test_after_an_mfa_reset_enrolment_needs_the_admins_one_time_code(app, client, enrolled, frozen):
    enrolled("alice", "oncall")
    result = app.test_cli_runner().invoke(args=["user", "reset-mfa", "alice"])
    code = result.output.strip().split()[-1]
    _password_login(client)
    page = client.get("/login/mfa/setup").get_data(as_text=True)
    assert 'id="reset_code"' in page
    secret = secret_on_page(page)
    r = post_form(client, "/login/mfa/setup", {"code": code_at(secret, frozen())})  # no code from the admin
    assert r.status_code == 401
    r = post_form(client, "/login/mfa/setup", {"code": code_at(secret, frozen()), "reset_code": "aaaaa-bbbbb"})
    assert r.status_code == 401
    frozen.advance(hours=25)  # the admin's code has expired
    client.delete_cookie(COOKIE)
    _password_login(client)
    secret = secret_on_page(client.get("/login/mfa/setup").get_data(as_text=True))
    r = post_form(client, "/login/mfa/setup", {"code": code_at(secret, frozen()), "reset_code": code})
    assert r.status_code == 401
    # the admin resets again and hands over a fresh code
    code = app.test_cli_runner().invoke(args=["user", "reset-mfa", "alice"]).output.strip().split()[-1]
    client.delete_cookie(COOKIE)
    _password_login(client)
    secret = secret_on_page(client.get("/login/mfa/setup").get_data(as_text=True))
    r = post_form(client, "/login/mfa/setup", {"code": code_at(secret, frozen()), "reset_code": code})
    assert r.status_code == 200 and "<li><code>" in r.get_data(as_text=True)


def test_the_admin_page_shows_the_one_time_code_once(app, client, login_as, make_user):
    login_as("admin")
    erin = make_user("erin", "oncall")
    r = post_form(client, f"/admin/users/{erin.id}/reset-mfa", {}, form_url="/admin/users", follow_redirects=True)
    assert "erin 的一次性註冊代碼" in r.get_data(as_text=True)  # "One-time enrolment code for erin"
    assert "一次性註冊代碼" not in client.get("/admin/users").get_data(as_text=True)
    db.session.expire_all()  # the reset was written by the request's session, not this one
    assert db.session.get(User, erin.id).mfa_reset_code_hash is not None


def test_first_enrolment_needs_no_admin_code(client, make_user, frozen):
    make_user("alice", "admin")
    _password_login(client)
    page = client.get("/login/mfa/setup").get_data(as_text=True)
    assert 'id="reset_code"' not in page
