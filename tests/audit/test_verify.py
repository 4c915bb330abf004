"""`flask audit verify`: an intact chain passes; editing, deleting or reordering any row is caught."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from incident_service.audit.chain import GENESIS_HASH, HASHED_FIELDS, entry_hash
from incident_service.engine.audit_jobs import write_checkpoint
from incident_service.audit.models import AuditEntry
from incident_service.auth.service import create_user
from incident_service.jobapp import bind_engine_app
from incident_service.notify import service as notify
from incident_service.notify.models import ChannelKind, EventKind, NotifyEvent, OutboxMessage
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
    """Tamper as the database's owner would: on PostgreSQL the append-only triggers must be switched off first."""
    db.session.remove()  # no transaction of ours may hold the tables meanwhile
    with db.engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn.execute(sa.text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
            conn.execute(sa.text("ALTER TABLE audit_chain_head DISABLE TRIGGER USER"))
        conn.execute(sa.text(statement), params)
        if postgres:
            conn.execute(sa.text("ALTER TABLE audit_entries ENABLE TRIGGER USER"))
            conn.execute(sa.text("ALTER TABLE audit_chain_head ENABLE TRIGGER USER"))


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


# -- an empty or shortened chain; signed checkpoints outside the database -----------------------------------

def _rewrite_everything(app, keep: int):
    """What someone with the database can do: drop entries after ``keep``, rehash the rest consistently, and set
    the head to match, so the chain verifies by itself again."""
    _sql("DELETE FROM audit_entries WHERE seq > :keep", keep=keep)
    prev = GENESIS_HASH
    for row in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq)).all():
        fields = {name: getattr(row, name) for name in HASHED_FIELDS}
        fields.update(prev_hash=prev, actor="rewritten")
        new = entry_hash(fields)
        _sql("UPDATE audit_entries SET actor = 'rewritten', prev_hash = :p, hash = :h WHERE id = :id", p=prev, h=new, id=row.id)
        prev = new
    _sql("UPDATE audit_chain_head SET seq = :s, hash = :h", s=keep, h=prev)
    db.session.remove()


def test_a_deleted_trail_with_records_left_fails(app, trail):
    _sql("DELETE FROM audit_entries")
    _sql("DELETE FROM audit_chain_head")
    result = _verify(app)
    assert result.exit_code == 1 and "trail was deleted" in result.output


def test_an_empty_new_database_passes(app):
    result = _verify(app)
    assert result.exit_code == 0 and "0 entries" in result.output


def test_verify_writes_a_signed_checkpoint_and_a_rewritten_chain_fails_against_it(app, trail, tmp_path):
    result = _verify(app)
    assert result.exit_code == 0 and "Checkpoint written" in result.output
    anchors = sorted((tmp_path / "audit-anchors").glob("*.json"))
    assert len(anchors) == 1 and oct(anchors[0].stat().st_mode)[-3:] == "600"
    offsite = tmp_path / "offsite"
    offsite.mkdir()
    (offsite / anchors[0].name).write_text(anchors[0].read_text())
    _rewrite_everything(app, keep=len(trail))
    alone = app.test_cli_runner().invoke(args=["audit", "verify", "--anchors", str(tmp_path / "empty")])
    assert alone.exit_code == 0  # by itself the rewritten chain holds: only the checkpoint can tell
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--anchors", str(offsite)])
    assert result.exit_code == 1 and f"entry #{len(trail)}" in result.output and "checkpoint" in result.output


def test_a_chain_cut_below_a_checkpoint_fails_even_with_a_matching_head(app, trail, tmp_path):
    assert _verify(app).exit_code == 0
    _rewrite_everything(app, keep=2)
    result = _verify(app)
    assert result.exit_code == 1 and "shortened" in result.output


def test_a_forged_or_edited_checkpoint_is_refused(app, trail, tmp_path):
    assert _verify(app).exit_code == 0
    (path,) = (tmp_path / "audit-anchors").glob("*.json")
    data = json.loads(path.read_text())
    data["hash"] = "0" * 64
    path.write_text(json.dumps(data))
    result = _verify(app)
    assert result.exit_code == 1 and "signature does not hold" in result.output


def test_the_engines_hourly_checkpoint_checks_only_what_is_new(app, trail, tmp_path, frozen):
    bind_engine_app(app)
    first = write_checkpoint("engine-test")
    assert first == len(trail)
    factories.vendor(db.session, frozen(), name="Later")
    second = write_checkpoint("engine-test")
    assert second > first and len(list((tmp_path / "audit-anchors").glob("*.json"))) == 2
    factories.vendor(db.session, frozen(), name="Even later")
    _sql("UPDATE audit_entries SET actor = 'x' WHERE seq = :s", s=second + 1)  # an entry since the last checkpoint
    assert write_checkpoint("engine-test") == 0  # a broken chain is never signed
    assert len(list((tmp_path / "audit-anchors").glob("*.json"))) == 2


def test_on_postgresql_the_trail_refuses_update_delete_and_truncate(app, trail):
    if db.engine.dialect.name != "postgresql":
        return  # on SQLite, `audit verify` with its checkpoints is the guard (tests above)
    db.session.remove()
    for statement in ("UPDATE audit_entries SET actor = 'x'", "DELETE FROM audit_entries", "TRUNCATE audit_entries",
                      "DELETE FROM audit_chain_head", "UPDATE audit_chain_head SET seq = seq - 1"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only|only moves forward"):
            with db.engine.begin() as conn:
                conn.execute(sa.text(statement))


def test_with_audit_anchor_mail_each_checkpoint_is_queued_for_the_auditors(app, trail, frozen):
    app.config["AUDIT_ANCHOR_MAIL"] = True
    create_user(session=db.session, username="ines", password="correct horse battery", roles=["auditor"],
                now=frozen(), email="ines@firm.test")
    notify.create_channel(session=db.session, now=frozen(), data={
        "name": "Mail", "kind": ChannelKind.email, "smtp_host": "mail.firm.test", "from_address": "soc@firm.test",
        "is_default": True})
    assert _verify(app).exit_code == 0
    event = db.session.scalars(sa.select(NotifyEvent).where(NotifyEvent.kind == EventKind.audit_checkpoint)).one()
    assert event.facts["anchor"]["hmac"] and event.facts["anchor"]["seq"] >= len(trail)
    (message,) = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.event_id == event.id)).all()
    assert message.recipient == "ines@firm.test"
