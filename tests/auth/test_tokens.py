"""API tokens: made by the CLI or an admin's page, shown once, stored as a hash, revocable, last use kept."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from incident_service.auth import service, tokens
from incident_service.auth.models import ApiToken
from incident_service.errors import Forbidden, ValidationFailed
from incident_service.extensions import db
from incident_service.reporting.models import Deadline
from tests import factories
from tests.auth.conftest import post_form


def _bearer(app, token):
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return c


def test_cli_token_acts_with_its_users_role_until_revoked(app, make_user, frozen):
    make_user("feed", "auditor")
    result = app.test_cli_runner().invoke(args=["token", "create", "feed", "--name", "SIEM"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    stored = db.session.scalars(sa.select(ApiToken)).one()
    assert token.startswith("isk_") and token not in (stored.token_hash, stored.prefix)
    caller = _bearer(app, token)
    assert caller.get("/api/v1/vendors").status_code == 200
    assert caller.post("/api/v1/vendors", json={"name": "X", "category": "cloud"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(ApiToken, stored.id).last_used_at == frozen()
    assert app.test_cli_runner().invoke(args=["token", "revoke", str(stored.id)]).exit_code == 0
    r = caller.get("/api/v1/vendors")
    assert r.status_code == 401 and r.json["code"] == "invalid_token"


def test_no_or_a_wrong_token_gets_401_and_repeated_wrong_tokens_get_429(app):
    app.config["API_AUTH_FAILURE_LIMIT"] = "3 per minute"
    r = app.test_client().get("/api/v1/incidents")
    assert r.status_code == 401 and set(r.json) == {"code", "message", "errors"}
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    statuses = [_bearer(app, "isk_guess").get("/api/v1/incidents").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_a_disabled_users_token_stops_working(app, make_user):
    make_user("feed", "auditor")
    token = app.test_cli_runner().invoke(args=["token", "create", "feed"]).output.strip().splitlines()[-1]
    app.test_cli_runner().invoke(args=["user", "disable", "feed"])
    assert _bearer(app, token).get("/api/v1/vendors").status_code == 401


def _service_account(name="feed", *roles):
    return service.create_user(session=db.session, username=name, password="correct horse battery",
                               roles=list(roles) or ["oncall"], now=datetime.now(UTC), service_account=True)


def test_admin_creates_a_token_on_the_web_sees_it_once_and_revokes_it(app, client, login_as):
    login_as("admin")
    feed = _service_account("feed", "oncall")
    r = post_form(client, "/admin/tokens", {"user_id": feed.id, "name": "monitoring"})
    assert r.status_code == 201
    token = r.get_data(as_text=True).split('<code id="new-token">')[1].split("</code>")[0]
    assert _bearer(app, token).get("/api/v1/incidents").status_code == 200
    assert token not in client.get("/admin/tokens").get_data(as_text=True)
    stored = db.session.scalars(sa.select(ApiToken).where(ApiToken.name == "monitoring")).one()
    r = post_form(client, f"/admin/tokens/{stored.id}/revoke", {}, form_url="/admin/tokens")
    assert r.status_code == 302
    assert _bearer(app, token).get("/api/v1/incidents").status_code == 401


def test_a_browser_session_may_read_the_api_and_write_only_with_the_pages_csrf_token(app, client, login_as):
    from tests.auth.conftest import csrf_token

    login_as("admin", "oncall")
    assert client.get("/api/v1/incidents").status_code == 200
    body = {"name": "Via page", "category": "cloud"}
    assert client.post("/api/v1/vendors", json=body).status_code == 401
    token = csrf_token(client.get("/admin/users").get_data(as_text=True))
    assert client.post("/api/v1/vendors", json=body, headers={"X-CSRFToken": token}).status_code == 201


def test_an_admin_cannot_make_a_token_for_another_person_only_for_self_or_a_service_account(app, client, login_as,
                                                                                           make_user):
    admin = login_as("admin")
    boss = make_user("boss", "supervisor")
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "boss" not in page.split("<h2>新增權杖</h2>")[1]  # not even offered ("New token")
    r = post_form(client, "/admin/tokens", {"user_id": boss.id, "name": "sneaky"}, form_url="/admin/tokens")
    assert r.status_code == 422 and db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)
                                                      .where(ApiToken.name == "sneaky")) == 0
    with pytest.raises(Forbidden):
        tokens.create_token(session=db.session, user=boss, name="x", created_by="admin", now=datetime.now(UTC),
                            actor=admin)
    r = post_form(client, "/admin/tokens", {"user_id": admin.id, "name": "mine"}, form_url="/admin/tokens")
    assert r.status_code == 201


def test_a_token_acting_for_an_admin_carries_only_the_admins_permissions(app, client, login_as, registry, frozen):
    admin = login_as("admin")
    r = post_form(client, "/admin/tokens", {"user_id": admin.id, "name": "mine"})
    token = r.get_data(as_text=True).split('<code id="new-token">')[1].split("</code>")[0]
    incident = factories.incident(db.session, registry, frozen())
    deadline_id = db.session.scalars(sa.select(Deadline.id).where(Deadline.incident_id == incident.id)).first()
    caller = _bearer(app, token)
    assert caller.post("/api/v1/vendors", json={"name": "Mine", "category": "cloud"}).status_code == 201
    assert caller.patch(f"/api/v1/incidents/{incident.id}", json={"status": "closed"}).status_code == 403
    assert caller.post(f"/api/v1/deadlines/{deadline_id}/waiver", json={"reason": "not owed"}).status_code == 403


@pytest.mark.parametrize("roles", [["supervisor"], ["oncall", "supervisor"], ["admin", "oncall"], ["admin", "auditor"]])
def test_a_service_account_never_holds_the_supervisor_role_nor_admin_with_another(app, roles):
    with pytest.raises(ValidationFailed) as refused:
        _service_account("bot", *roles)
    assert "roles" in refused.value.errors


def test_tokens_expire_after_api_token_days_and_can_be_renewed(app, client, login_as, frozen):
    app.config["API_TOKEN_DAYS"] = 30
    login_as("admin")
    feed = _service_account("feed", "auditor")
    r = post_form(client, "/admin/tokens", {"user_id": feed.id, "name": "siem"})
    token = r.get_data(as_text=True).split('<code id="new-token">')[1].split("</code>")[0]
    stored = db.session.scalars(sa.select(ApiToken).where(ApiToken.name == "siem")).one()
    assert stored.expires_at == stored.created_at + timedelta(days=30)
    assert "2026-12-21 02:10" in client.get("/admin/tokens").get_data(as_text=True)  # the expiry, in the firm's zone
    frozen.advance(days=30)
    r = _bearer(app, token).get("/api/v1/vendors")
    assert r.status_code == 401 and r.json["code"] == "invalid_token"
    assert "已到期" in client.get("/admin/tokens").get_data(as_text=True)  # "expired"
    r = post_form(client, f"/admin/tokens/{stored.id}/renew", {}, form_url="/admin/tokens")
    assert r.status_code == 302
    assert _bearer(app, token).get("/api/v1/vendors").status_code == 200
    frozen.advance(days=31)
    assert _bearer(app, token).get("/api/v1/vendors").status_code == 401
    result = app.test_cli_runner().invoke(args=["token", "renew", str(stored.id), "--days", "5"])
    assert result.exit_code == 0 and "expires" in result.output
    assert _bearer(app, token).get("/api/v1/vendors").status_code == 200
    listing = app.test_cli_runner().invoke(args=["token", "list"]).output
    assert "live" in listing and "expires" in listing


def test_a_revoked_token_cannot_be_renewed(app, make_user, frozen):
    make_user("feed", "auditor")
    app.test_cli_runner().invoke(args=["token", "create", "feed"])
    token_id = db.session.scalars(sa.select(ApiToken.id)).one()
    app.test_cli_runner().invoke(args=["token", "revoke", str(token_id)])
    result = app.test_cli_runner().invoke(args=["token", "renew", str(token_id)])
    assert result.exit_code == 1 and "revoked" in result.output
