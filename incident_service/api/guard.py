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
from flask_wtf.csrf import ValidationError, validate_csrf

from incident_service import clock
from incident_service.auth import tokens
from incident_service.auth.permissions import Permission, user_can
from incident_service.errors import error_response
from incident_service.extensions import api, db, limiter
from incident_service.inputguard import (
    body_problem,
    if_match_problem,
    json_errors,
    query_errors,
    unstorable,
)
from incident_service.incidents.models import Incident, IncidentStatus

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
    ("duties.Duties", "GET"): P.read, ("duties.DutyById", "GET"): P.read,
    ("duties.DutyCompletions", "POST"): P.duty_complete,
    ("duties.AccessGrants", "GET"): P.read, ("duties.AccessGrants", "POST"): P.admin_vendors,
    ("duties.AccessRevocation", "POST"): P.admin_vendors,
    ("duties.AccessReviews", "GET"): P.read, ("duties.AccessReviews", "POST"): P.access_review,
    ("duties.Findings", "GET"): P.read,
    ("duties.ContractTermination", "GET"): P.read, ("duties.ContractTermination", "POST"): P.admin_vendors,
    ("duties.TerminationItem", "POST"): P.admin_vendors,
    ("lifecycle.Clauses", "GET"): P.read, ("lifecycle.ClauseGaps", "GET"): P.read,
    ("lifecycle.OutsourcingChecklist", "GET"): P.read,
    ("pack.VendorPack", "GET"): P.export,
    ("lifecycle.VendorAssessments", "GET"): P.read, ("lifecycle.VendorAssessments", "POST"): P.assessment_record,
    ("lifecycle.AssessmentById", "GET"): P.read, ("lifecycle.AssessmentById", "PATCH"): P.assessment_record,
    ("lifecycle.AssessmentApproval", "POST"): P.assessment_approve,
    ("lifecycle.VendorChanges", "GET"): P.read, ("lifecycle.VendorChanges", "POST"): P.change_record,
    ("lifecycle.VendorChangeById", "GET"): P.read, ("lifecycle.VendorChangeById", "PATCH"): P.change_record,
    ("lifecycle.VendorChangeApproval", "POST"): P.change_approve,
    ("lifecycle.VendorChangeClosure", "POST"): P.change_record,
    ("incidents.Incidents", "GET"): P.read, ("incidents.Incidents", "POST"): P.incident_write,
    ("incidents.IncidentById", "GET"): P.read, ("incidents.IncidentById", "PATCH"): P.incident_write,
    ("incidents.Awareness", "POST"): P.awareness_correct,
    ("incidents.Reportability", "POST"): P.reportability_decide,
    ("incidents.IncidentCriteria", "GET"): P.read,
    ("incidents.Timeline", "GET"): P.read,
    ("incidents.Remediations", "GET"): P.read, ("incidents.Remediations", "POST"): P.remediation_write,
    ("incidents.RemediationById", "GET"): P.read, ("incidents.RemediationById", "PATCH"): P.remediation_write,
    ("incidents.VerifyRemediation", "POST"): P.remediation_verify,
    ("incidents.VendorHistory", "GET"): P.read,
    ("reporting.Filings", "GET"): P.read, ("reporting.Filings", "POST"): P.filing_record,
    ("reporting.Drafts", "GET"): P.read,
    ("reporting.Deadlines", "GET"): P.read, ("reporting.DeadlineById", "GET"): P.read,
    ("reporting.Waiver", "POST"): P.deadline_waive,
    ("reporting.Justification", "POST"): P.deadline_justify,
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

    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "status" not in body:
        return None
    incident = db.session.get(Incident, (request.view_args or {}).get("incident_id"))
    was_closed = incident is not None and incident.status == IncidentStatus.closed
    return P.incident_close if body["status"] == IncidentStatus.closed.value or was_closed else None


def _changing_policies() -> Permission | None:
    """PATCH /incidents/{id} that names ``policies`` may change which regulators' clocks run: a supervisor's."""
    body = request.get_json(silent=True)
    return P.policies_change if isinstance(body, dict) and "policies" in body else None


def _incident_patch() -> list[Permission]:
    return [p for p in (_closing_or_reopening(), _changing_policies()) if p]


# Permissions that depend on what the request asks for, on top of the endpoint's own.
EXTRA_PERMISSION: dict[tuple[str, str], Callable[[], list[Permission]]] = {
    ("incidents.IncidentById", "PATCH"): _incident_patch,
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
    return [base] + (extra() if extra else [])


def query_parameters(app: Flask) -> dict[tuple[str, str], frozenset[str]]:
    """The query parameters each API operation documents in the OpenAPI description, by (endpoint, method)."""
    cached = app.extensions.get("api_query_parameters")
    if cached is not None:
        return cached
    spec = api.spec.to_dict()
    endpoint_by_path = {_openapi_path(rule.rule): rule.endpoint for rule in app.url_map.iter_rules()}
    components = spec.get("components", {}).get("parameters", {})
    found: dict[tuple[str, str], frozenset[str]] = {}
    for path, operations in spec.get("paths", {}).items():
        endpoint = endpoint_by_path.get(path)
        shared = operations.get("parameters", []) if isinstance(operations, dict) else []
        for method, operation in operations.items():
            if endpoint is None or not isinstance(operation, dict) or method == "parameters":
                continue
            names = set()
            for parameter in [*shared, *operation.get("parameters", [])]:
                if "$ref" in parameter:
                    parameter = components.get(parameter["$ref"].rsplit("/", 1)[-1], {})
                if parameter.get("in") == "query":
                    names.add(parameter["name"])
            found[(endpoint, method.upper())] = frozenset(names)
    app.extensions["api_query_parameters"] = found
    return found


def _unstorable_input():
    """Refuse, for every endpoint alike, input that no column can hold or that the endpoint does not document,
    rather than let the database fail on it with a 500 or let a typo pass silently (the fuzzer finds these)."""
    for name, value in (request.view_args or {}).items():
        if unstorable(name, value):
            return error_response(404, "not_found", "Not found.")
    method = "GET" if request.method == "HEAD" else request.method
    allowed = query_parameters(current_app).get((request.endpoint, method))
    errors = query_errors(request.args, allowed)
    if request.method == "PATCH" and (problem := if_match_problem(request.headers.get("If-Match"))):
        return error_response(400, "bad_if_match", problem, {"If-Match": [problem]})
    if request.is_json:
        errors.update(json_errors(request.get_json(silent=True)))
    return error_response(422, "validation_failed", "Some fields are not valid.", errors) if errors else None


def _too_many(limit: str, *keys: str) -> bool:
    if not limiter.enabled:
        return False
    return not limiter.limiter.hit(limits.parse(limit), "api", *keys)


def _csrf_header_valid() -> bool:
    """Our own pages may write through the API with the session, if they send the form's CSRF token
    (``X-CSRFToken``); a cookie alone never writes."""
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
    refused = body_problem(request, current_app.config["JSON_MAX_DEPTH"])  # before anything parses the body
    if refused:
        status, code, message = refused
        return error_response(status, code, message, {"body": [message]})
    needed = required_permissions(endpoint, request.method)
    if needed == []:
        return _unstorable_input()
    presented = _bearer()
    user = None
    if presented is not None:
        user = tokens.authenticate(session=db.session, presented=presented, now=clock.now())
        if user is None:
            if _too_many(current_app.config["API_AUTH_FAILURE_LIMIT"], "auth-failure", request.remote_addr or "-"):
                return _refuse(429, "too_many_requests", "Too many failed attempts: wait a little.")
            log.info("API: invalid or revoked token from %s", request.remote_addr)
            return _refuse(401, "invalid_token", "The token is not valid or was revoked.")
        g.actor_name, g.actor_id, g.actor_user = user.username, user.id, user
    elif current_user.is_authenticated and (request.method in ("GET", "HEAD") or _csrf_header_valid()):
        user = current_user
    else:
        return _refuse(401, "unauthorized", "Send an API token: Authorization: Bearer <token>.")
    if _too_many(current_app.config["API_RATE_LIMIT"], "user", str(user.id)):
        return _refuse(429, "too_many_requests", "Too many requests: wait a little.")
    if needed is None:
        log.error("API endpoint %s %s has no entry in api.guard.API_PERMISSIONS: refused", request.method, endpoint)
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
            refusals = [("400", "The body is not JSON, nests deeper than JSON_MAX_DEPTH (32), or If-Match is not a version"),
                        ("401", "No token, or one that is not valid, expired or was revoked"),
                        ("403", f"Your role lacks the permission `{needs}`"),
                        ("422", "Invalid fields, values no record can hold (NUL, lone surrogates, dates outside "
                                "2000–2100, numbers too large), or query parameters this operation does not take; "
                                "`errors` names each"),
                        ("429", "Too many requests")]
            if method in ("post", "put", "patch"):
                refusals.append(("415", "The body is not JSON (Content-Type: application/json)"))
            for status, text in refusals:
                responses.setdefault(status, {"description": text, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
            if method == "patch":
                operation.setdefault("parameters", []).append({
                    "name": "If-Match", "in": "header", "required": False,
                    "description": 'The version you read, e.g. "3" (or send `version` in the body); a stale one '
                                   "gets 409, anything that is not a version 400 (bad_if_match).",
                    "schema": {"type": "string", "pattern": '^(\\*|(W/)?"?[0-9]{1,18}"?)$'}})
            operation["description"] = (operation.get("description", "") + f"\n\nNeeds the permission `{needs}`.").strip()
    spec.options["security"] = [{"bearerAuth": []}]


def register(app: Flask) -> None:
    app.before_request(guard_api)
