"""The web pages: server-rendered, in Traditional Chinese or English, every time in the firm's zone.

Thin handlers per area (incidents, the board, vendors); they parse a form, call one use case or loader, and
render. They sit above every domain package and import from them, never the other way."""
from __future__ import annotations

from flask import Flask

from incident_service.web import audit, common, duties, incidents, notify, pack, reporting, vendor_life, vendors


def register(app: Flask) -> None:
    common.init_app(app)
    for module in (audit, duties, incidents, reporting, vendors, vendor_life, notify, pack):
        app.register_blueprint(module.bp)
