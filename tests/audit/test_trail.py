"""What the trail records: changes with old and new values, reads of incident records, exports, refusals."""
from __future__ import annotations

import threading

import sqlalchemy as sa

from incident_service.audit.models import AuditEntry
from incident_service.extensions import db
from tests import factories


def _entries(**filters):
    stmt = sa.select(AuditEntry).order_by(AuditEntry.seq)
    for name, value in filters.items():
        stmt = stmt.where(getattr(AuditEntry, name) == value)
    return db.session.scalars(stmt).all()


def test_a_change_is_recorded_with_who_old_and_new_values(client):
    vendor = client.post("/api/v1/vendors", json={"name": "TWCA", "category": "operations"}).json
    client.patch(f"/api/v1/vendors/{vendor['id']}", json={"service_location": "Taipei", "version": 1})
    created, updated = _entries(record_type="vendors")
    assert created.action == "create" and created.new_values["name"] == "TWCA"
    assert created.record_id == str(vendor["id"])  # a new row names its id too, so its history is one query
    assert updated.action == "update" and updated.actor == "api-admin-supervisor"
    assert updated.record_id == str(vendor["id"])
    assert updated.old_values["service_location"] is None and updated.new_values["service_location"] == "Taipei"
    assert updated.details["method"] == "PATCH"


def test_reading_an_incident_record_is_recorded_but_not_a_refused_or_missing_one(client, api_as, registry, frozen):
    incident = factories.incident(db.session, registry, frozen())
    assert client.get(f"/api/v1/incidents/{incident.id}").status_code == 200
    assert client.get(f"/api/v1/incidents/{incident.id}/timeline").status_code == 200
    assert client.get("/api/v1/incidents/999999").status_code == 404
    reads = _entries(action="read")
    assert [(e.record_type, e.record_id, e.actor) for e in reads] == [
        ("incidents", str(incident.id), "api-admin-supervisor")] * 2


def test_a_web_incident_page_read_is_recorded(app, client, login_as, registry, frozen):
    incident = factories.incident(db.session, registry, frozen())
    login_as("auditor", username="ines")
    assert client.get(f"/incidents/{incident.id}").status_code == 200
    (read,) = _entries(action="read")
    assert (read.actor, read.record_type, read.record_id) == ("ines", "incidents", str(incident.id))
    assert read.details["path"] == f"/incidents/{incident.id}"


def test_exports_are_recorded(client, login_as):
    login_as("auditor", username="ines")
    r = client.get("/audit/export.csv?actor=ines")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    (export,) = _entries(action="export")
    assert export.actor == "ines" and export.record_type == "audit.export" and "actor=ines" in export.details["query"]


def test_secrets_never_enter_the_trail(make_api_user):
    make_api_user()
    users = _entries(record_type="users")
    assert users and all(e.new_values["password_hash"] == "[redacted]" for e in users if e.action == "create")
    tokens = _entries(record_type="api_tokens")
    assert tokens and tokens[0].new_values["token_hash"] == "[redacted]"


def test_writes_outside_a_request_name_the_engine_or_the_system(app, registry, frozen):
    factories.vendor(db.session, frozen(), name="Before")
    from incident_service.engine.runner import build_scheduler

    build_scheduler(app, "engine-test", blocking=False)  # this process is now the clock engine's
    factories.vendor(db.session, frozen(), name="After")
    assert [e.actor for e in _entries(record_type="vendors")] == ["system", "engine"]


def test_concurrent_writers_keep_one_unbroken_chain(app):
    from incident_service.audit.chain import verify

    def writer(n):
        with app.app_context():
            for i in range(8):
                factories.vendor(db.session, __import__("incident_service.clock").clock.now(), name=f"V{n}-{i}")
            db.session.remove()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(_entries(record_type="vendors")) == 32
    verdict = verify(db.session)
    assert verdict.ok and verdict.checked == len(_entries())
