"""Optimistic locking by SQLAlchemy's version_id_col: two writers that read the same version cannot both pass,
even when both checked the version before either wrote."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from incident_service.extensions import db
from incident_service.vendors import service
from incident_service.vendors.models import Vendor
from tests import factories


def test_the_second_of_two_concurrent_writers_is_refused(app, session, frozen):
    vendor = factories.vendor(session, frozen())
    with Session(db.engine) as first, Session(db.engine) as second:
        a, b = first.get(Vendor, vendor.id), second.get(Vendor, vendor.id)
        assert a.version == b.version == 1  # both read version 1 and would pass check_version
        service.update_vendor(session=first, vendor_id=vendor.id, data={"notes": "first"}, expected_version=1, now=frozen())
        b.notes, b.updated_at = "second", frozen()
        with pytest.raises(StaleDataError):
            second.commit()
    session.expire_all()
    stored = session.get(Vendor, vendor.id)
    assert stored.notes == "first" and stored.version == 2


def test_a_write_that_loses_the_race_is_a_409_on_the_api(app, client, frozen, monkeypatch):
    vid = client.post("/api/v1/vendors", json={"name": "Racer", "category": "cloud"}).json["id"]
    real_apply = service.apply_changes

    def sneak_in_a_write(record, data):  # another worker commits between this request's read and its UPDATE
        with Session(db.engine) as other:
            other.get(Vendor, vid).notes = "the other writer"
            other.commit()
        return real_apply(record, data)

    monkeypatch.setattr(service, "apply_changes", sneak_in_a_write)
    r = client.patch(f"/api/v1/vendors/{vid}", json={"notes": "mine", "version": 1})
    assert r.status_code == 409 and r.json["code"] == "stale_version"
    monkeypatch.undo()
    after = client.get(f"/api/v1/vendors/{vid}").json
    assert after["notes"] == "the other writer" and after["version"] == 2
