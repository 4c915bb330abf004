"""`flask user ...` and the demo logins."""
from __future__ import annotations

from incident_service.auth.service import get_user_by_name, password_matches
from incident_service.extensions import db


def test_user_create_asks_for_the_password(app):
    result = app.test_cli_runner().invoke(args=["user", "create", "frank", "--role", "oncall", "--role", "auditor"],
                                          input="a long enough password\na long enough password\n")
    assert result.exit_code == 0, result.output
    frank = get_user_by_name(db.session, "frank")
    assert frank.roles == ["auditor", "oncall"] and password_matches(frank, "a long enough password")


def test_user_create_generates_a_password_and_prints_it_once(app):
    result = app.test_cli_runner().invoke(args=["user", "create", "gina", "--role", "admin", "--generate-password"])
    password = result.output.split("Password (shown once): ")[1].split()[0]
    assert password_matches(get_user_by_name(db.session, "gina"), password)


def test_user_create_refuses_an_unknown_role_and_a_taken_name(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["user", "create", "h", "--role", "root", "--generate-password"]).exit_code != 0
    runner.invoke(args=["user", "create", "h", "--role", "oncall", "--generate-password"])
    result = runner.invoke(args=["user", "create", "h", "--role", "oncall", "--generate-password"])
    assert result.exit_code == 1 and "taken" in result.output


def test_user_disable_and_reset_mfa(app, make_user):
    user = make_user("ivan", "oncall")
    user.mfa_secret = "JBSWY3DPEHPK3PXP"
    db.session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["user", "reset-mfa", "ivan"]).exit_code == 0
    assert runner.invoke(args=["user", "disable", "ivan"]).exit_code == 0
    db.session.expire_all()
    ivan = get_user_by_name(db.session, "ivan")
    assert ivan.mfa_secret is None and not ivan.is_active
    assert runner.invoke(args=["user", "disable", "nobody"]).exit_code == 1


def test_demo_data_prints_a_login_per_role_that_works(app, client):
    app.config["MFA_REQUIRED"] = False
    result = app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    line = next(l for l in result.output.splitlines() if l.strip().startswith("demo-supervisor"))
    password = line.split()[1]
    assert password_matches(get_user_by_name(db.session, "demo-supervisor"), password)
    assert "MFA is off" in result.output
