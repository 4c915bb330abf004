"""Domain errors, and how the HTTP layer answers them.

Under ``/api`` every error is JSON: ``{"code", "message", "errors"}``; elsewhere a short HTML page with
the same code. Details go to the log only.
"""
from __future__ import annotations

import logging
import uuid

from flask import Flask, jsonify, make_response, render_template, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from incident_service.extensions import db

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the domain refused the request."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        if code:
            self.code = code

    def __str__(self) -> str:
        return f"{self.message} {self.errors}" if self.errors else self.message


class NotFound(DomainError):
    status = 404
    code = "not_found"


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"

    def __init__(self, errors: dict[str, list[str]], message: str = "Some fields are not valid.", **kw):
        super().__init__(message, errors=errors, **kw)


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    428: "precondition_required",
    429: "too_many_requests",
}

SHORT_MESSAGES = {
    400: "The request could not be read.",
    401: "Log in first.",
    403: "Your role may not do this.",
    404: "Not found.",
    405: "This method is not allowed here.",
    409: "The record changed meanwhile.",
    413: "The request is too large.",
    415: "Send JSON.",
    422: "Some fields are not valid.",
    429: "Too many requests: wait a little.",
    500: "Something went wrong on our side.",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, errors: dict | None = None, headers=None):
    if wants_json():
        body = {"code": code, "message": message, "errors": errors or {}}
        response = jsonify(body)
        response.status_code = status
    else:
        html = render_template("errors/error.html", status=status, code=code, message=message, errors=errors or {})
        response = make_response(html, status)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        db.session.rollback()
        log.info("refused %s %s: %s %s", request.method, request.path, error.code, error.errors or error.message)
        return error_response(error.status, error.code, error.message, error.errors)

    @app.errorhandler(StaleDataError)
    def _stale(error: StaleDataError):
        # Another writer committed this record between our read and our UPDATE (version_id_col caught it).

        db.session.rollback()
        log.info("stale write refused %s %s: %s", request.method, request.path, error)
        return error_response(409, "stale_version", "This record changed meanwhile: reload it and apply your change again.",
                              {"version": ["stale: another change was saved first"]})

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 500
        if status < 400:  # 304 Not Modified (ETag) and redirects are answers, not errors
            return error.get_response()
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or data.get("messages") or {}
        # webargs nests errors by location ({"json": {...}}): the field names are what a caller needs.
        if isinstance(errors, dict) and len(errors) == 1 and next(iter(errors)) in {"json", "query", "headers", "form", "files", "path"}:
            location, inner = next(iter(errors.items()))
            errors = inner if location == "json" else {f"{location}.{k}": v for k, v in inner.items()}
        message = data.get("message") or SHORT_MESSAGES.get(status) or error.description or error.name
        if status >= 500:
            return _unexpected(error)
        return error_response(status, HTTP_CODES.get(status, "error"), message, errors, data.get("headers"))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        db.session.rollback()
        error_id = uuid.uuid4().hex[:10]
        log.exception("unexpected error %s on %s %s", error_id, request.method, request.path)
        return error_response(500, f"internal_error:{error_id}", SHORT_MESSAGES[500] + f" (ref {error_id})")
