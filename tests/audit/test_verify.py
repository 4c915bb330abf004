"""`flask audit verify`: an intact chain passes; editing, deleting or reordering any row is caught."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from incident_service.audit.models import AuditEntry
from incident_service.extensions import db
from tests import factories


@pytest.fixture
def trail(app, frozen):
    for n in range(5):
        factories.vendor(db.session, frozen(), name=f"Vendor {n}")
    return db.session.scalars(sa.select(AuditEntry.id).order_by(AuditEntry.seq)).all()


def _verify(app):
    db.session.remove()
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def _sql(statement: str, **params):
    with db.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def test_an_intact_trail_passes(app, trail):
    result = _verify(app)
    assert result.exit_code == 0 and f"{len(trail)} entries" in result.output


def test_an_edited_entry_is_named(app, trail):
    _sql("UPDATE audit_entries SET actor = 'someone-else' WHERE id = :id", id=trail[2])
    result = _verify(app)
    assert result.exit_code == 1 and "entry #3" in result.output and "edited" in result.output


def test_an_edited_value_is_named(app, trail):
    _sql("UPDATE audit_entries SET new_values = '{\"name\": \"Other\"}' WHERE id = :id", id=trail[1])
    result = _verify(app)
    assert result.exit_code == 1 and "entry #2" in result.output


def test_a_deleted_entry_is_named(app, trail):
    _sql("DELETE FROM audit_entries WHERE id = :id", id=trail[1])
    result = _verify(app)
    assert result.exit_code == 1 and "entry #3" in result.output and "missing" in result.output


def test_deleting_the_newest_entries_is_caught(app, trail):
    _sql("DELETE FROM audit_entries WHERE id = :id", id=trail[-1])
    result = _verify(app)
    assert result.exit_code == 1 and f"entry #{len(trail)}" in result.output


def test_reordered_entries_are_caught(app, trail):
    _sql("UPDATE audit_entries SET seq = -seq WHERE id IN (:a, :b)", a=trail[1], b=trail[2])
    _sql("UPDATE audit_entries SET seq = 3 WHERE id = :a", a=trail[1])
    _sql("UPDATE audit_entries SET seq = 2 WHERE id = :b", b=trail[2])
    result = _verify(app)
    assert result.exit_code == 1 and "entry #2" in result.output


def test_a_rehashed_forgery_still_breaks_the_link_to_the_next_entry(app, trail):
    from incident_service.audit.chain import entry_hash, HASHED_FIELDS

    row = db.session.get(AuditEntry, trail[1])
    fields = {name: getattr(row, name) for name in HASHED_FIELDS}
    fields["actor"] = "forger"
    _sql("UPDATE audit_entries SET actor = 'forger', hash = :h WHERE id = :id", h=entry_hash(fields), id=trail[1])
    result = _verify(app)
    assert result.exit_code == 1 and "entry #3" in result.output
