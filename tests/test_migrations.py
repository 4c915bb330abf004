"""The schema comes from Alembic (`flask db upgrade`), and the migrations match the models."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from incident_service.database import empty_database
from incident_service.extensions import db


def test_upgrade_builds_the_schema_the_models_describe(app):
    # The fixture built the schema with create_all; start again from nothing and let Alembic build it.
    empty_database(db)
    upgrade()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []
