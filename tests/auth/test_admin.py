"""The admin's user pages: create with roles, disable, reset MFA."""
from __future__ import annotations

from incident_service.auth.models import User
from incident_service.auth.service import get_user_by_name
from incident_service.extensions import db
from tests.auth.conftest import post_form


def test_admin_creates_a_user_with_roles_and_a_generated_password(client, login_as):
    login_as("admin")
    r = post_form(client, "/admin/users", {"username": "carol", "roles": ["oncall", "supervisor"]})
    assert r.status_code == 302
    page = client.get("/admin/users").get_data(as_text=True)
    assert "已建立使用者 carol，密碼為" in page  # the page speaks zh-TW by default
    assert get_user_by_name(db.session, "carol").roles == ["oncall", "supervisor"]


def test_a_bad_new_user_names_the_field(client, login_as):
    login_as("admin")
    r = post_form(client, "/admin/users", {"username": "dave", "password": "short"})
    assert r.status_code == 422
    assert "12" in r.get_data(as_text=True).split('id="password"')[1]  # the error sits by the password field
    assert get_user_by_name(db.session, "dave") is None


def test_admin_disables_and_resets_mfa(client, login_as, make_user):
    login_as("admin")
    erin = make_user("erin", "oncall")
    erin.mfa_secret = "JBSWY3DPEHPK3PXP"
    db.session.commit()
    post_form(client, f"/admin/users/{erin.id}/reset-mfa", {}, form_url="/admin/users")
    post_form(client, f"/admin/users/{erin.id}/disable", {}, form_url="/admin/users")
    db.session.expire_all()
    erin = db.session.get(User, erin.id)
    assert erin.mfa_secret is None and not erin.is_active and erin.disabled_at is not None


def test_a_disabled_users_session_ends(client, login_as):
    user = login_as("oncall")
    user.is_active = False
    db.session.commit()
    r = client.get("/api/v1/incidents")
    assert r.status_code == 401
