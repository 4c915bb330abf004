"""The REST API under /api/v1: thin flask-smorest handlers per area, its OpenAPI description and docs page.

Handlers parse with the area's schema, call one use case or loader, and return rows the schema formats. They sit
above every domain package and import from them, never the other way."""
from __future__ import annotations

from flask import Flask

from incident_service.api import audit, docs, duties, guard, health, incidents, lifecycle, notify, pack, reporting, vendors
from incident_service.extensions import api, csrf


def register(app: Flask) -> None:
    for blueprint in (audit.blp, duties.blp, health.blp, vendors.blp, lifecycle.blp, incidents.blp, reporting.blp,
                      notify.blp, pack.blp):
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)  # the API authenticates with tokens, not cookies
    docs.register(app)
    guard.register(app)
