"""incident_service: vendor-caused incidents, the regulatory reporting clock, contracts and remediation."""
from __future__ import annotations

import logging

from flask import Flask

from pathlib import Path

from config import Config, config_from_env


def create_app(config_class: type[Config] | None = None, **overrides) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config_class or config_from_env())
    app.config.update(overrides)
    _check_production(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin at every start

    app.json.sort_keys = False
    register_extensions(app)
    register_policies(app)
    register_blueprints(app)
    register_commands(app)
    from incident_service.errors import register_error_handlers

    register_error_handlers(app)
    return app


def _check_production(app: Flask) -> None:
    if not app.config.get("PRODUCTION"):
        return
    missing = [name for name, key in (("SECRET_KEY", "SECRET_KEY"), ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI")) if not app.config.get(key)]
    if missing:
        raise RuntimeError(f"Production needs {' and '.join(missing)} in the environment.")


def register_extensions(app: Flask) -> None:
    from incident_service.extensions import api, csrf, db, migrate

    db.init_app(app)
    csrf.init_app(app)
    from incident_service.extensions import limiter

    limiter.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"), render_as_batch=True, compare_type=True)
    api.init_app(app)
    # Import every model so the metadata (and Alembic) see the whole schema.
    from incident_service import models  # noqa: F401


def register_policies(app: Flask) -> None:
    from incident_service.reporting.policy import PolicyRegistry

    app.extensions["policies"] = PolicyRegistry(app.config["POLICY_DIRS"], zone=app.config["FIRM_TIMEZONE"])
    unknown = [p for p in app.config["DEFAULT_POLICIES"] if app.extensions["policies"].get(p) is None]
    if unknown:
        raise RuntimeError(f"DEFAULT_POLICIES names unknown policies: {', '.join(unknown)}")


def register_blueprints(app: Flask) -> None:
    from incident_service import health
    from incident_service.extensions import api
    from incident_service.incidents import api as incidents_api
    from incident_service.notify import api as notify_api
    from incident_service.reporting import api as reporting_api
    from incident_service.vendors import api as vendors_api

    from incident_service.auth import views as auth_views
    from incident_service.extensions import csrf

    for blueprint in (health.blp, vendors_api.blp, incidents_api.blp, reporting_api.blp, notify_api.blp):
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)  # the API authenticates with tokens, not cookies
    auth_views.register(app)
    from incident_service.audit import views as audit_views

    audit_views.register(app)
    from incident_service.notify import views as notify_views

    notify_views.register(app)
    from incident_service import web

    web.register(app)
    from incident_service import docs

    docs.register(app)


def register_commands(app: Flask) -> None:
    from incident_service.commands import register

    register(app)
