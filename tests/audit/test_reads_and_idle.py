"""What the trail records besides changes: every export and every list read of incident records (repeats
coalesced), secrets redacted by default, and nothing at all while the clock engine has nothing to do."""
from __future__ import annotations

import sqlalchemy as sa

from incident_service import clock
from incident_service.audit.models import AuditEntry
from incident_service.audit.recorder import secret_keys
from incident_service.database import EncryptedText
from incident_service.engine.service import beat, register_engine, run_tick
from incident_service.extensions import db
from incident_service.jobapp import bind_engine_app
from incident_service.engine.notify_jobs import route_and_deliver, scan_sources
from incident_service.notify.models import Channel
from tests import factories


def _count(**filters) -> int:
    stmt = sa.select(sa.func.count()).select_from(AuditEntry)
    for name, value in filters.items():
        stmt = stmt.where(getattr(AuditEntry, name) == value)
    return db.session.scalar(stmt)


def test_every_encrypted_column_is_redacted_without_opting_in():
    for mapper in db.Model.registry.mappers:
        encrypted = {attr.key for attr in mapper.column_attrs if isinstance(attr.columns[0].type, EncryptedText)}
        assert encrypted <= secret_keys(mapper), mapper.class_.__name__
    assert {"url", "secret", "smtp_password"} <= secret_keys(sa.inspect(Channel))


def test_list_reads_of_incident_records_are_recorded_and_repeats_coalesced(app, client, registry, frozen):
    incident = factories.incident(db.session, registry, frozen())
    for url in ("/api/v1/incidents", "/api/v1/deadlines", f"/api/v1/vendors/{incident.vendor_id}/history",
                "/api/v1/notifications"):
        assert client.get(url).status_code == 200
        assert client.get(url).status_code == 200  # the same list again within the window: one entry
    lists = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "list")).all()
    assert sorted(e.record_type for e in lists) == sorted(
        ["incidents.Incidents", "reporting.Deadlines", "incidents.VendorHistory", "reporting.Notifications"])
    assert client.get("/api/v1/incidents?status=open").status_code == 200  # another query is another read
    assert _count(action="list", record_type="incidents.Incidents") == 2
    app.config["AUDIT_READ_COALESCE_SECONDS"] = 0
    client.get("/api/v1/incidents")
    assert _count(action="list", record_type="incidents.Incidents") == 3
    assert client.get(f"/api/v1/deadlines/{db.session.scalars(sa.text('SELECT id FROM deadlines')).first()}").status_code == 200
    assert _count(action="read", record_type="deadlines") == 1


def test_web_lists_and_every_export_are_recorded(client, login_as, registry, frozen):
    incident = factories.incident(db.session, registry, frozen())
    login_as("auditor", username="ines")
    for url in ("/incidents", "/board", "/board/feed", f"/vendors/{incident.vendor_id}"):
        assert client.get(url).status_code == 200
    assert {e.record_type for e in db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "list"))} == {
        "incidents_web.incident_list", "reporting_web.board_page", "reporting_web.board_feed", "vendors_web.vendor_page"}
    for url in (f"/vendors/{incident.vendor_id}/history.csv", f"/vendors/{incident.vendor_id}/history.xlsx",
                "/audit/export.csv"):
        assert client.get(url).status_code == 200
    exports = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "export")).all()
    assert {e.record_type for e in exports} == {"vendors_web.history_csv", "vendors_web.history_xlsx", "audit.export"}
    assert all(e.actor == "ines" for e in exports)


def test_the_clock_engine_writes_nothing_to_the_trail_while_it_has_nothing_to_do(app, registry, frozen):
    factories.incident(db.session, registry, frozen())  # a running clock, nothing due yet
    bind_engine_app(app)
    register_engine(session=db.session, engine_id="idle-engine", now=clock.now())
    before = _count()
    for _ in range(10):  # ten ticks of each job, as the engine runs them every 0.5 s, 1 s, 5 s and 60 s
        frozen.advance(seconds=1)
        run_tick(engine_id="idle-engine", now_fn=clock.now, batch_size=500, zone=registry.zone)
        route_and_deliver("idle-engine")
        beat(session=db.session, engine_id="idle-engine", now=clock.now())
    scan_sources("idle-engine")
    assert _count() == before
    frozen.advance(minutes=25)  # the first warning falls due: now there is something to record
    run_tick(engine_id="idle-engine", now_fn=clock.now, batch_size=500, zone=registry.zone)
    assert _count() > before
