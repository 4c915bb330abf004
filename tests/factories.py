"""Small factories that build valid data through the service functions."""
from __future__ import annotations

from datetime import date, timedelta

from incident_service.cases import incidents
from incident_service.incidents.models import IncidentKind
from incident_service.api_common import vendor_catalogues
from incident_service.vendors import service as vendors
from incident_service.vendors.models import VendorCategory

_counter = {"n": 0}


def _n() -> int:
    _counter["n"] += 1
    return _counter["n"]


def vendor(session, now, **kw):
    n = _n()
    data = {"name": f"Vendor {n}", "category": VendorCategory.operations, **kw}
    return vendors.create_vendor(session=session, data=data, now=now)


def system(session, now, **kw):
    data = {"name": f"System {_n()}", "is_core": True, "rto_minutes": 30, "rpo_minutes": 5, **kw}
    return vendors.create_system(session=session, data=data, now=now)


def contract(session, now, vendor_id, system_ids=(), **kw):
    data = {"vendor_id": vendor_id, "reference": f"C-{_n()}", "title": "Maintenance", "starts_on": date(2025, 1, 1),
            "system_ids": list(system_ids), **kw}
    return vendors.create_contract(session=session, data=data, catalogue=vendor_catalogues().clauses, now=now)


def incident(session, registry, now, *, vendor_id=None, aware_at=None, policies=None, **kw):
    if vendor_id is None:
        vendor_id = vendor(session, now).id
    data = {"vendor_id": vendor_id, "kind": IncidentKind.outage, "severity": 2, "title": "Login fails",
            "aware_at": aware_at or now - timedelta(minutes=1), **kw}
    if policies:
        data["policies"] = policies
    return incidents.open_incident(session=session, data=data, actor="tester", registry=registry,
                                   default_policies=["twse"], now=now)
