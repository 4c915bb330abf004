"""The role matrix, table-driven: every API endpoint and every page against every role and no login."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from incident_service.audit.models import AuditEntry
from incident_service.api.guard import API_PERMISSIONS, PUBLIC_ENDPOINTS
from incident_service.auth.guards import PUBLIC_WEB_ENDPOINTS
from incident_service.auth.models import Role
from incident_service.auth.permissions import ROLE_PERMISSIONS, matrix_markdown, role_can
from incident_service.extensions import db

ROLES = [r.value for r in Role]
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


def _url(rule) -> str:
    return re.sub(r"<(?:[^:<>]+:)?[^<>]+>", "1", rule.rule)


def _api_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and rule.endpoint not in PUBLIC_ENDPOINTS:
            for method in sorted(rule.methods & set(METHODS)):
                yield rule, method


def _pages(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") and rule.endpoint not in PUBLIC_WEB_ENDPOINTS:
            for method in sorted(rule.methods & set(METHODS)):
                yield rule, method


def test_every_api_endpoint_has_an_entry_in_the_permission_map(app):
    unguarded = [f"{method} {rule.rule} ({rule.endpoint})" for rule, method in _api_rules(app)
                 if (rule.endpoint, method) not in API_PERMISSIONS]
    assert unguarded == [], "add these to api.guard.API_PERMISSIONS"


def test_every_page_declares_its_permission_with_require(app):
    unguarded = [f"{rule.rule} ({rule.endpoint})" for rule, _ in _pages(app)
                 if getattr(app.view_functions[rule.endpoint], "required_permission", None) is None]
    assert unguarded == [], "guard these views with @require(Permission.…)"


def test_an_unmapped_api_endpoint_is_refused_for_everyone(app, client):
    from flask import Blueprint

    extra = Blueprint("extra", __name__)
    extra.add_url_rule("/api/v1/new-thing", "new_thing", lambda: {"ok": True})
    app.register_blueprint(extra)
    r = client.get("/api/v1/new-thing")
    assert r.status_code == 403 and r.json["code"] == "forbidden"


@pytest.mark.parametrize("role", [None, *ROLES])
def test_api_role_matrix(app, api_as, role):
    caller = api_as(role) if role else app.test_client()
    wrong = []
    for rule, method in _api_rules(app):
        permission = API_PERMISSIONS[(rule.endpoint, method)]
        r = caller.open(_url(rule), method=method, json={} if method != "GET" else None)
        if role is None:
            expected_ok = r.status_code == 401
        elif role_can(role, permission):
            expected_ok = r.status_code not in (401, 403) and r.status_code < 500
        else:
            expected_ok = r.status_code == 403
        if r.status_code >= 400 and set(r.json) != {"code", "message", "errors"}:
            expected_ok = False
        if not expected_ok:
            wrong.append(f"{role} {method} {rule.rule} → {r.status_code} (needs {permission.value})")
    assert wrong == []


@pytest.mark.parametrize("role", [None, *ROLES])
def test_page_role_matrix(app, client, login_as, role):
    app.config["WTF_CSRF_ENABLED"] = False  # the permission is checked, not the form
    if role:
        login_as(role)
    wrong = []
    for rule, method in _pages(app):
        permission = app.view_functions[rule.endpoint].required_permission
        r = client.open(_url(rule), method=method)
        to_login = r.status_code == 302 and r.location.startswith("/login")
        if role is None:
            ok = to_login
        elif role_can(role, permission):
            ok = r.status_code != 403 and not to_login
        else:
            ok = r.status_code == 403 and "forbidden" in r.get_data(as_text=True)
        if not ok:
            wrong.append(f"{role} {method} {rule.rule} → {r.status_code} (needs {permission.value})")
    assert wrong == []


def test_an_auditors_write_is_refused_and_audited(api_as):
    auditor = api_as("auditor")
    r = auditor.post("/api/v1/vendors", json={"name": "Sneaky", "category": "cloud"})
    assert r.status_code == 403
    assert r.json == {"code": "forbidden", "message": "Your role may not do this (needs admin_vendors).", "errors": {}}
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "denied")).one()
    assert entry.actor.startswith("api-auditor") and entry.record_type == "vendors.Vendors"
    assert entry.details["method"] == "POST" and entry.details["permission"] == "admin_vendors"
    assert auditor.get("/api/v1/vendors").status_code == 200  # reading is theirs


def test_an_oncall_engineer_may_edit_but_not_close_an_incident(api_as, registry, frozen):
    from tests import factories

    incident = factories.incident(db.session, registry, frozen())
    oncall = api_as("oncall")
    assert oncall.patch(f"/api/v1/incidents/{incident.id}", json={"title": "Logins fail"}).status_code == 200
    r = oncall.patch(f"/api/v1/incidents/{incident.id}", json={"status": "closed"})
    assert r.status_code == 403 and "incident_close" in r.json["message"]


def test_the_readme_table_is_the_matrix():
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert matrix_markdown() in readme
    assert set(ROLE_PERMISSIONS) == set(Role)
