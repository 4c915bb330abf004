"""Keys and stored secrets: TOTP keys are encrypted at rest, several field keys rotate (MultiFernet and
`keys rotate`), an unreadable secret is a clear error (never a 500, never "no secret"), and no session is ever
signed with a known or short key."""
from __future__ import annotations

import os
import secrets
import stat
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from config import DevelopmentConfig, ProductionConfig, TestingConfig
from incident_service import create_app
from incident_service.auth.models import User
from incident_service.auth.service import create_user, get_user_by_name
from incident_service.database import UNREADABLE
from incident_service.extensions import db
from incident_service.keys import KeyProblem
from tests.auth.conftest import PASSWORD, code_at, post_form, secret_on_page

TOTP = "JBSWY3DPEHPK3PXP"


def _enrolled_user(session, name="erin"):
    user = create_user(session=session, username=name, password=PASSWORD, roles=["oncall"], now=datetime.now(UTC))
    user.mfa_secret = TOTP
    user.mfa_enrolled_at = datetime.now(UTC)
    session.commit()
    return user


def _stored(session, user_id):
    return session.execute(sa.text("SELECT mfa_secret FROM users WHERE id = :id"), {"id": user_id}).scalar()


def test_mfa_secret_is_encrypted_at_rest_and_read_back_plain(app, session):
    user = _enrolled_user(session)
    stored = _stored(session, user.id)
    assert stored and TOTP not in stored
    session.expire_all()
    assert session.get(User, user.id).mfa_secret == TOTP


def test_a_secret_under_another_key_reads_as_unreadable_never_as_none(app, session):
    user = _enrolled_user(session, "ivan")
    session.expire_all()
    app.config["FIELD_ENCRYPTION_KEY"] = secrets.token_urlsafe(48)
    ivan = session.get(User, user.id)
    assert ivan.mfa_secret is UNREADABLE and ivan.mfa_enrolled  # never "not enrolled": a password alone is not enough
    with pytest.raises(sa.exc.StatementError, match="unreadable secret cannot be stored"):
        session.execute(sa.update(User).where(User.id == ivan.id).values(mfa_secret=UNREADABLE))
    session.rollback()


def test_login_with_an_unreadable_totp_key_is_a_clear_error_and_reset_mfa_still_works(app, client, frozen):
    user = _enrolled_user(db.session, "judy")
    db.session.expire_all()
    app.config["FIELD_ENCRYPTION_KEY"] = secrets.token_urlsafe(48)  # the key was lost
    r = post_form(client, "/login", {"username": "judy", "password": PASSWORD})
    assert r.status_code == 302 and r.location.endswith("/login/mfa")
    r = post_form(client, "/login/mfa", {"code": "123456"})
    assert r.status_code == 401 and "AUTH-KEY" in r.get_data(as_text=True)

    result = app.test_cli_runner().invoke(args=["user", "reset-mfa", "judy"])
    assert result.exit_code == 0, result.output
    code = result.output.strip().split()[-1]
    db.session.expire_all()
    assert get_user_by_name(db.session, "judy").mfa_secret is None
    # the next enrolment needs the admin's one-time code
    client.delete_cookie("session")
    post_form(client, "/login", {"username": "judy", "password": PASSWORD})
    secret = secret_on_page(client.get("/login/mfa/setup").get_data(as_text=True))
    r = post_form(client, "/login/mfa/setup", {"code": code_at(secret, frozen()), "reset_code": code})
    assert r.status_code == 200 and "<li><code>" in r.get_data(as_text=True)
    assert user.id == get_user_by_name(db.session, "judy").id


def test_several_keys_read_old_secrets_and_keys_rotate_moves_them_to_the_newest(app, session):
    old, new = app.config["FIELD_ENCRYPTION_KEY"], secrets.token_urlsafe(48)
    user_id = _enrolled_user(session, "kim").id
    before = _stored(session, user_id)
    app.config["FIELD_ENCRYPTION_KEY"] = f"{new},{old}"
    session.expire_all()
    assert session.get(User, user_id).mfa_secret == TOTP  # the old key still reads it
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0 and "Re-encrypted 1 stored secret" in result.output
    db.session.remove()
    assert _stored(db.session, user_id) != before
    app.config["FIELD_ENCRYPTION_KEY"] = new  # the old key is gone now
    assert db.session.get(User, user_id).mfa_secret == TOTP


def test_keys_rotate_names_what_no_key_reads(app, session):
    user_id = _enrolled_user(session, "lee").id
    app.config["FIELD_ENCRYPTION_KEY"] = secrets.token_urlsafe(48)
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 1 and f"users.mfa_secret#{user_id}" in result.output


def test_development_generates_its_session_key_once_into_instance_with_mode_0600(tmp_path, monkeypatch):
    for name in ("SECRET_KEY", "AUDIT_ANCHOR_KEY", "FIELD_ENCRYPTION_KEY"):
        monkeypatch.delenv(name, raising=False)
    overrides = dict(SECRET_KEY=None, AUDIT_ANCHOR_KEY=None, FIELD_ENCRYPTION_KEY=None,
                     SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'd.db'}")
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    first = create_app(DevelopmentConfig, **overrides)
    key_file = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.config["SECRET_KEY"] == key_file.read_text().strip() and len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] not in ("dev-only-not-secret", "testing-secret")
    second = create_app(DevelopmentConfig, **overrides)
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]  # reused, so sessions survive a restart
    assert stat.S_IMODE((tmp_path / "instance" / "audit_anchor_key").stat().st_mode) == 0o600


@pytest.mark.parametrize("config", [DevelopmentConfig, TestingConfig, ProductionConfig])
@pytest.mark.parametrize("name", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY", "AUDIT_ANCHOR_KEY"])
@pytest.mark.parametrize("value", ["dev-only-not-secret", "testing-secret", "short-key", "x" * 40, "changeme"])
def test_every_environment_refuses_a_short_or_known_key(tmp_path, config, name, value):
    with pytest.raises(KeyProblem, match=name):
        create_app(config, **{name: value}, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'k.db'}")


def test_production_needs_every_key_from_the_environment(tmp_path):
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "AUDIT_ANCHOR_KEY"):
        with pytest.raises(KeyProblem, match=name):
            create_app(ProductionConfig, **{name: None}, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.db'}")


def test_the_tests_own_keys_are_random(app):
    assert app.config["SECRET_KEY"] == os.environ["SECRET_KEY"] and len(app.config["SECRET_KEY"]) >= 32
