"""API tokens: made by the CLI or an admin's page, shown once, stored as a hash, revocable, last use kept."""
from __future__ import annotations

import sqlalchemy as sa

from incident_service.auth.models import ApiToken
from incident_service.extensions import db
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


def test_admin_creates_a_token_on_the_web_sees_it_once_and_revokes_it(app, client, login_as, make_user):
    login_as("admin")
    feed = make_user("feed", "oncall")
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
