"""The schema comes from Alembic (`flask db upgrade`), and the migrations match the models."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
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


def test_the_record_rules_migration_keeps_legacy_data_honest(app):
    """Filings that named no policy get the one they stopped; a waiver given after its due time becomes the
    miss's justification; an incident already affecting trading knew it since awareness."""
    empty_database(db)
    upgrade(revision="e78db7caff46")
    aware, due = "2026-11-01 01:00:00", "2026-11-01 01:30:00"
    now = "2026-11-02 00:00:00"
    with db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO vendors (id, name, category, subcontractors, is_active, created_at, updated_at, version) "
                             "VALUES (1, 'V', 'operations', '[]', true, :t, :t, 1)"), {"t": now})
        conn.execute(sa.text(
            "INSERT INTO incidents (id, kind, severity, title, status, vendor_id, policies, aware_at, trading_affected, "
            "investors_affected, bcp_invoked, failover_performed, created_at, updated_at, version) VALUES "
            "(1, 'outage', 2, 'x', 'open', 1, :p, :a, true, false, false, false, :t, :t, 1)"),
            {"p": '["twse", "eu_dora"]', "a": aware, "t": now})
        conn.execute(sa.text("INSERT INTO filings (id, incident_id, kind, policy_key, submitted_at, submitted_by, recorded_at, recorded_by) "
                             "VALUES (1, 1, 'initial', NULL, :s, 'a', :s, 'a'), (2, 1, 'formal', NULL, :s, 'a', :s, 'a')"), {"s": due})
        deadline = ("INSERT INTO deadlines (id, incident_id, policy_key, clock_key, label_zh, label_en, stopped_by, state, due_at, "
                    "filing_id, waived_by, waived_at, waiver_reason, created_at, updated_at) VALUES ")
        conn.execute(sa.text(deadline + "(1, 1, 'eu_dora', 'initial', 'x', 'x', 'initial', 'met', :d, 1, NULL, NULL, NULL, :t, :t), "
                                        "(2, 1, 'twse', 'closure', 'x', 'x', 'closure', 'waived', :d, NULL, 'sup', :late, 'sorry', :t, :t), "
                                        "(3, 1, 'twse', 'public_notice', 'x', 'x', 'public_notice', 'waived', :d, NULL, 'sup', :d, 'drill', :t, :t)"),
                     {"d": due, "t": now, "late": now})
    upgrade()
    with db.engine.connect() as conn:
        policies = dict(conn.execute(sa.text("SELECT id, policy_key FROM filings")).all())
        assert policies == {1: "eu_dora", 2: "twse"}  # the deadline it stopped; else the incident's first policy
        rows = {r.id: r for r in conn.execute(sa.text("SELECT id, state, justification, justified_by, waived_by FROM deadlines"))}
        assert (rows[2].state, rows[2].justification, rows[2].justified_by, rows[2].waived_by) == ("missed", "sorry", "sup", None)
        assert (rows[3].state, rows[3].waived_by) == ("waived", "sup")  # waived in time: untouched
        known, day = conn.execute(sa.text("SELECT impact_known_at, aware_on FROM incidents WHERE id = 1")).one()
        assert known is not None and str(known).startswith("2026-11-01 01:00")
        assert str(day) == "2026-11-01"  # 09:00 in Taipei


def _before(revision: str) -> str:
    script = ScriptDirectory(current_app.extensions["migrate"].directory)
    return script.get_revision(revision).down_revision


def test_the_vendor_lifecycle_migration_names_the_basic_clauses_a_contract_held(app):
    """A contract that listed basic clauses by number holds them afterwards as named clauses, recorded present."""
    empty_database(db)
    upgrade(revision=_before("903cc948f27d"))
    now = "2026-11-02 00:00:00"
    with db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO vendors (id, name, category, subcontractors, is_active, created_at, updated_at, version) "
                             "VALUES (1, 'V', 'operations', '[]', true, :t, :t, 1)"), {"t": now})
        conn.execute(sa.text(
            "INSERT INTO contracts (id, vendor_id, reference, title, starts_on, audit_right, subcontracting_allowed, "
            "basic_clauses, created_at, updated_at, version) VALUES "
            "(1, 1, 'C-1', 'x', '2025-01-01', true, false, :all, :t, :t, 1), "
            "(2, 1, 'C-2', 'y', '2025-01-01', false, false, :some, :t, :t, 1)"),
            {"all": "[1, 7, 8, 17]", "some": "[]", "t": now})
    upgrade()
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT contract_id, clause_key, status FROM contract_clauses "
                                    "ORDER BY contract_id, clause_key")).all()
    assert [tuple(r) for r in rows] == [(1, "audit_right", "present"), (1, "incident_notification", "present"),
                                        (1, "rights_responsibilities", "present"), (1, "term", "present")]
