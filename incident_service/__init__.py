"""incident_service: vendor-caused incidents, the regulatory reporting clock, contracts and remediation."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config, config_from_env
from incident_service import api as api_handlers
from incident_service import inputguard, keys
from incident_service import models  # noqa: F401 - every model, so the metadata (and Alembic) see the whole schema
from incident_service import web
from incident_service.audit import recorder
from incident_service.auth import views as auth_views
from incident_service.commands import register
from incident_service.errors import register_error_handlers
from incident_service.extensions import api, csrf, db, limiter, migrate
from incident_service.incidents.catalogues import Catalogues
from incident_service.vendors.catalogues import VendorCatalogues
from incident_service.reporting.policy import PolicyRegistry


def create_app(config_class: type[Config] | None = None, **overrides) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config_class or config_from_env())
    app.config.update(overrides)
    keys.load_keys(app.config, app.instance_path)
    _check_production(app)
    _trust_proxies(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin at every start

    app.json.sort_keys = False
    register_extensions(app)
    register_policies(app)
    register_blueprints(app)
    register_commands(app)

    register_error_handlers(app)
    inputguard.register(app)
    return app


def _check_production(app: Flask) -> None:
    if not app.config.get("PRODUCTION"):
        return
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        raise RuntimeError("Production needs DATABASE_URL in the environment.")


def _trust_proxies(app: Flask) -> None:
    """Behind N reverse proxies, the client's address, scheme and host are the ones they forwarded (the rate
    limits and the audit trail see the client). With none (the default) X-Forwarded-* headers are ignored."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"), render_as_batch=True, compare_type=True)
    api.init_app(app)


def register_policies(app: Flask) -> None:
    app.extensions["policies"] = PolicyRegistry(app.config["POLICY_DIRS"], zone=app.config["FIRM_TIMEZONE"])

    app.extensions["catalogues"] = Catalogues(app.config.get("MAJOR_INCIDENT_CRITERIA_FILE"))
    app.extensions["vendor_catalogues"] = VendorCatalogues(app.config.get("TRADING_CALENDAR_FILE"))
    unknown = [p for p in app.config["DEFAULT_POLICIES"] if app.extensions["policies"].get(p) is None]
    if unknown:
        raise RuntimeError(f"DEFAULT_POLICIES names unknown policies: {', '.join(unknown)}")


def register_blueprints(app: Flask) -> None:
    auth_views.register(app)
    api_handlers.register(app)  # after the auth guards: the API guard reads who is signed in
    recorder.register(app)
    web.register(app)


def register_commands(app: Flask) -> None:
    register(app)
