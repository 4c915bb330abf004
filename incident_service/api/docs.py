"""Serve the Swagger UI assets ourselves, so /api/v1/docs works on a machine without internet."""
from __future__ import annotations

from flask import Blueprint, Flask, send_from_directory

try:
    from swagger_ui_bundle import swagger_ui_path
except ImportError:  # pragma: no cover - the package is pinned in requirements.txt
    swagger_ui_path = None

assets = Blueprint("docs_assets", __name__)


@assets.route("/api/v1/docs-assets/<path:filename>")
def asset(filename: str):
    return send_from_directory(swagger_ui_path, filename, max_age=86400)


def register(app: Flask) -> None:
    if swagger_ui_path:
        app.register_blueprint(assets)
