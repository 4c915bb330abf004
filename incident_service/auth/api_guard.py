"""Who may call which API endpoint: one map from (endpoint, method) to Permission, checked before every
request under /api/v1. An endpoint missing from the map is refused for everyone (and a test lists it),
so nothing new is left unguarded.

Callers authenticate with ``Authorization: Bearer <token>``; a browser session may also read (GET) the API,
and write through it only with the page's CSRF token in ``X-CSRFToken`` (the API blueprints are CSRF-exempt).
"""
from __future__ import annotations

import logging
import re
from decimal import Decimal
from collections.abc import Callable

import limits
from flask import Flask, current_app, g, request
from flask_login import current_user

from incident_service import clock
from incident_service.auth import tokens
from incident_service.auth.permissions import Permission, user_can
from incident_service.errors import error_response
from incident_service.extensions import db, limiter

log = logging.getLogger(__name__)

P = Permission
API_PREFIX = "/api/"
# Open to everyone: liveness, and the API's own description (it holds no data).
PUBLIC_ENDPOINTS = frozenset({
    "health.Health", "api-docs.openapi_json", "api-docs.openapi_swagger_ui", "docs_assets.asset",
})
API_PERMISSIONS: dict[tuple[str, str], Permission] = {
    ("vendors.Vendors", "GET"): P.read, ("vendors.Vendors", "POST"): P.admin_vendors,
    ("vendors.VendorById", "GET"): P.read, ("vendors.VendorById", "PATCH"): P.admin_vendors,
    ("vendors.Systems", "GET"): P.read, ("vendors.Systems", "POST"): P.admin_vendors,
    ("vendors.SystemById", "GET"): P.read, ("vendors.SystemById", "PATCH"): P.admin_vendors,
    ("vendors.Contracts", "GET"): P.read, ("vendors.Contracts", "POST"): P.admin_vendors,
    ("vendors.ContractById", "GET"): P.read, ("vendors.ContractById", "PATCH"): P.admin_vendors,
    ("incidents.Incidents", "GET"): P.read, ("incidents.Incidents", "POST"): P.incident_write,
    ("incidents.IncidentById", "GET"): P.read, ("incidents.IncidentById", "PATCH"): P.incident_write,
    ("incidents.Awareness", "POST"): P.awareness_correct,
    ("incidents.Timeline", "GET"): P.read,
    ("incidents.Remediations", "GET"): P.read, ("incidents.Remediations", "POST"): P.remediation_write,
    ("incidents.RemediationById", "GET"): P.read, ("incidents.RemediationById", "PATCH"): P.remediation_write,
    ("incidents.VerifyRemediation", "POST"): P.remediation_verify,
    ("incidents.VendorHistory", "GET"): P.read,
    ("reporting.Filings", "GET"): P.read, ("reporting.Filings", "POST"): P.filing_record,
    ("reporting.Deadlines", "GET"): P.read, ("reporting.DeadlineById", "GET"): P.read,
    ("reporting.Waiver", "POST"): P.deadline_waive,
    ("reporting.Notifications", "GET"): P.read,
    ("reporting.Policies", "GET"): P.read,
    ("audit_api.AuditEntries", "GET"): P.audit_read,
    # delivery: channels, routing and retries are the admin's; your own preferences are yours
    ("notify.Channels", "GET"): P.admin_policies, ("notify.Channels", "POST"): P.admin_policies,
    ("notify.ChannelById", "GET"): P.admin_policies, ("notify.ChannelById", "PATCH"): P.admin_policies,
    ("notify.ChannelById", "DELETE"): P.admin_policies,
    ("notify.Rules", "GET"): P.admin_policies, ("notify.Rules", "POST"): P.admin_policies,
    ("notify.RuleById", "GET"): P.admin_policies, ("notify.RuleById", "PATCH"): P.admin_policies,
    ("notify.RuleById", "DELETE"): P.admin_policies,
    ("notify.MyPreference", "GET"): P.read, ("notify.MyPreference", "PUT"): P.read,
    ("notify.UserPreference", "GET"): P.admin_users, ("notify.UserPreference", "PUT"): P.admin_users,
    ("notify.Messages", "GET"): P.read, ("notify.MessageById", "GET"): P.read,
    ("notify.RetryMessage", "POST"): P.admin_policies,
    ("notify.Summary", "GET"): P.read,
}


ERROR_SCHEMA = {
    "type": "object", "required": ["code", "message", "errors"],
    "properties": {
        "code": {"type": "string", "description": "machine-readable, e.g. validation_failed, stale_version"},
        "message": {"type": "string", "description": "short, for a person"},
        "errors": {"type": "object", "description": "field name → messages",
                   "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}


def _closing_or_reopening() -> Permission | None:
    """PATCH /incidents/{id} that closes the incident, or reopens a closed one, needs incident_close."""
    from incident_service.incidents.models import Incident, IncidentStatus

    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "status" not in body:
        return None
    incident = db.session.get(Incident, (request.view_args or {}).get("incident_id"))
    was_closed = incident is not None and incident.status == IncidentStatus.closed
    return P.incident_close if body["status"] == IncidentStatus.closed.value or was_closed else None


# Permissions that depend on what the request asks for, on top of the endpoint's own.
EXTRA_PERMISSION: dict[tuple[str, str], Callable[[], Permission | None]] = {
    ("incidents.IncidentById", "PATCH"): _closing_or_reopening,
}


def required_permissions(endpoint: str, method: str) -> list[Permission] | None:
    """The permissions a request needs, [] for a public endpoint, None when the endpoint is not mapped."""
    if endpoint in PUBLIC_ENDPOINTS:
        return []
    method = "GET" if method == "HEAD" else method
    base = API_PERMISSIONS.get((endpoint, method))
    if base is None:
        return None
    extra = EXTRA_PERMISSION.get((endpoint, method))
    more = extra() if extra else None
    return [base] + ([more] if more else [])


INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1


def _id_like(name: str) -> bool:
    return name == "id" or name.endswith(("_id", "_ids")) or name in ("page", "page_size")


def _unstorable(name: str, value) -> str | None:
    """Why the database could not take this value, if so: ids are 32-bit integers, other numbers 64-bit,
    and PostgreSQL text cannot hold NUL characters."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) > (INT32_MAX if _id_like(name) else INT64_MAX):
        return "Number too large."
    if isinstance(value, str) and "\x00" in value:
        return "Text may not contain NUL characters."
    return None


def _unstorable_input():
    """Refuse, for every endpoint alike, input that no column can hold, rather than let the database fail on
    it with a 500 (the fuzzer finds these first)."""
    for name, value in (request.view_args or {}).items():
        if _unstorable(name, value):
            return error_response(404, "not_found", "Not found.")
    errors: dict[str, list[str]] = {}
    for name, value in request.args.items(multi=True):
        number = value.strip()
        parsed = int(number) if number.lstrip("+-").isdigit() and len(number) < 400 else value
        if len(number) >= 400 and number.lstrip("+-").isdigit():
            errors[f"query.{name}"] = ["Number too large."]
        elif reason := _unstorable(name, parsed):
            errors[f"query.{name}"] = [reason]
    stack = [("", "", request.get_json(silent=True) if request.is_json else None)]
    while stack:
        path, name, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((f"{path}.{k}" if path else str(k), str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), name, v) for i, v in enumerate(value))
        elif reason := _unstorable(name, value):
            errors[path or "body"] = [reason]
    return error_response(422, "validation_failed", "Some fields are not valid.", errors) if errors else None


def _too_many(limit: str, *keys: str) -> bool:
    if not limiter.enabled:
        return False
    return not limiter.limiter.hit(limits.parse(limit), "api", *keys)


def _csrf_header_valid() -> bool:
    """Our own pages may write through the API with the session, if they send the form's CSRF token
    (``X-CSRFToken``); a cookie alone never writes."""
    from flask_wtf.csrf import ValidationError, validate_csrf

    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except ValidationError:
        return False
    return True


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _refuse(status: int, code: str, message: str):
    headers = {"WWW-Authenticate": 'Bearer realm="incident_service"'} if status == 401 else None
    return error_response(status, code, message, headers=headers)


def guard_api():
    if not request.path.startswith(API_PREFIX) or request.method == "OPTIONS":
        return None
    endpoint = request.endpoint
    if endpoint is None:
        return None  # 404/405: the error handler answers
    if endpoint == "api-docs.openapi_json":
        document_security(current_app)
    needed = required_permissions(endpoint, request.method)
    if needed == []:
        return None
    presented = _bearer()
    user = None
    if presented is not None:
        user = tokens.authenticate(session=db.session, presented=presented, now=clock.now())
        if user is None:
            if _too_many(current_app.config["API_AUTH_FAILURE_LIMIT"], "auth-failure", request.remote_addr or "-"):
                return _refuse(429, "too_many_requests", "Too many failed attempts: wait a little.")
            log.info("API: invalid or revoked token from %s", request.remote_addr)
            return _refuse(401, "invalid_token", "The token is not valid or was revoked.")
        g.actor_name, g.actor_id = user.username, user.id
    elif current_user.is_authenticated and (request.method in ("GET", "HEAD") or _csrf_header_valid()):
        user = current_user
    else:
        return _refuse(401, "unauthorized", "Send an API token: Authorization: Bearer <token>.")
    if _too_many(current_app.config["API_RATE_LIMIT"], "user", str(user.id)):
        return _refuse(429, "too_many_requests", "Too many requests: wait a little.")
    if needed is None:
        log.error("API endpoint %s %s has no entry in auth.api_guard.API_PERMISSIONS: refused", request.method, endpoint)
        g.denied_permission = "unmapped"
        return _refuse(403, "forbidden", "This endpoint is not open to any role yet.")
    for permission in needed:
        if not user_can(user, permission):
            g.denied_permission = permission.value
            return _refuse(403, "forbidden", f"Your role may not do this (needs {permission.value}).")
    return _unstorable_input()


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _numeric_bounds(node) -> None:
    """Decimal bounds would be served as strings ("0.000"); OpenAPI wants numbers there."""
    if isinstance(node, dict):
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if isinstance(node.get(key), (str, Decimal)):
                try:
                    node[key] = float(node[key])
                except ValueError:
                    pass
        for value in node.values():
            _numeric_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _numeric_bounds(value)


def document_security(app: Flask) -> None:
    """The bearer scheme in the OpenAPI description, required on every guarded operation with its
    permission named. Done once, at the first request for the description, when every blueprint is in."""
    from incident_service.extensions import api

    if app.extensions.get("api_security_documented"):
        return
    app.extensions["api_security_documented"] = True
    spec = api.spec
    spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer",
                       "description": "An API token: `flask --app wsgi token create USER`, or an admin's web page."})
    # Our error body (errors.py), in place of flask-smorest's default one (integer code, a status field).
    spec.components.schemas["Error"] = ERROR_SCHEMA
    for component in spec.components.schemas.values():
        _numeric_bounds(component)
    endpoint_by_path = {_openapi_path(rule.rule): rule.endpoint for rule in app.url_map.iter_rules()}
    for path, operations in spec._paths.items():
        endpoint = endpoint_by_path.get(path)
        for method, operation in operations.items():
            if not isinstance(operation, dict) or method not in ("get", "post", "put", "patch", "delete"):
                continue
            if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
                operation["security"] = []
                continue
            permission = API_PERMISSIONS.get((endpoint, method.upper()))
            needs = permission.value if permission else "(none: refused)"
            operation["security"] = [{"bearerAuth": []}]
            responses = operation.setdefault("responses", {})
            for status, text in (("401", "No token, or one that is not valid or was revoked"),
                                 ("403", f"Your role lacks the permission `{needs}`"), ("429", "Too many requests")):
                responses.setdefault(status, {"description": text, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
            operation["description"] = (operation.get("description", "") + f"\n\nNeeds the permission `{needs}`.").strip()
    spec.options["security"] = [{"bearerAuth": []}]


def register(app: Flask) -> None:
    app.before_request(guard_api)
