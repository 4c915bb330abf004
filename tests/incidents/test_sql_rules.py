"""Each rule aggregated in SQL gives the same answer as its Python form, at the boundaries, on both databases."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from incident_service.cases import incidents as cases
from incident_service.incidents import derived
from incident_service.incidents.figures import contracts_by_vendor
from incident_service.incidents.models import Incident, IncidentStatus
from incident_service.reporting.models import Deadline
from tests import factories
from tests.conftest import T0


def _sql(session, incident, expression):
    return session.scalar(sa.select(expression).where(Incident.id == incident.id))


@pytest.mark.parametrize("minutes_down", [29.99, 30.0, 30.001, 31])
def test_rto_breached_agrees_at_the_boundary(session, registry, minutes_down):
    system = factories.system(session, T0, rto_minutes=30)
    down = T0 - timedelta(minutes=minutes_down)
    inc = factories.incident(session, registry, T0, system_ids=[system.id], aware_at=down, service_down_at=down,
                             service_restored_at=T0)
    python = derived.outage(inc, T0, None)["rto_breached"]
    sql = _sql(session, inc, derived.rto_breached(derived.outage_minutes_sql(T0), 30))
    assert bool(sql) == python == (minutes_down > 30)


@pytest.mark.parametrize("offset_seconds", [-1, 0, 1])
def test_overdue_agrees_at_the_due_instant(session, registry, offset_seconds):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=30))
    deadline = session.scalar(sa.select(Deadline).where(Deadline.incident_id == inc.id, Deadline.clock_key == "initial"))
    now = T0 + timedelta(seconds=offset_seconds)
    in_sql = session.scalar(sa.select(Deadline.state_at(now)).where(Deadline.id == deadline.id))
    assert in_sql == deadline.state_at(now).value == ("missed" if offset_seconds > 0 else "pending")
    assert session.scalar(sa.select(sa.func.count()).where(Deadline.id == deadline.id,
                                                           Deadline.in_state(deadline.state_at(now), now))) == 1


def test_the_measured_contract_agrees_and_prefers_the_one_covering_most_systems(session, registry):
    a, b = factories.system(session, T0), factories.system(session, T0)
    vendor = factories.vendor(session, T0)
    factories.contract(session, T0, vendor.id, [a.id], starts_on=date(2026, 1, 1))
    both = factories.contract(session, T0, vendor.id, [a.id, b.id], starts_on=date(2025, 1, 1))
    factories.contract(session, T0, vendor.id, [a.id, b.id], starts_on=date(2027, 1, 1))  # not yet in force
    inc = factories.incident(session, registry, T0, vendor_id=vendor.id, system_ids=[a.id, b.id])
    python, _ = derived.measuring_contract(inc, contracts_by_vendor(session, [vendor.id])[vendor.id], registry.zone)
    assert _sql(session, inc, derived.measured_contract_id_sql()) == python.id == both.id


def test_a_closed_incidents_outage_ends_at_its_closure_in_sql_too(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=20), service_down_at=T0 - timedelta(minutes=20))
    inc.status, inc.closed_at = IncidentStatus.closed, T0 - timedelta(minutes=5)
    session.commit()
    later = T0 + timedelta(days=3)
    assert _sql(session, inc, derived.outage_minutes_sql(later)) == derived.outage(inc, later, None)["minutes"] == 15.0


def test_the_notification_delay_agrees_with_and_without_a_notice(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=10), vendor_aware_at=T0 - timedelta(minutes=40))
    assert _sql(session, inc, derived.notification_delay_minutes_sql(T0)) == 40.0  # still silent: until now
    cases.update_incident(session=session, incident_id=inc.id, data={"vendor_notified_at": T0 - timedelta(minutes=10)},
                          expected_version=None, actor="a", registry=registry, now=T0)
    python = derived.vendor_notification(inc, T0, None)["delay_minutes"]
    assert _sql(session, inc, derived.notification_delay_minutes_sql(T0)) == python == 30.0
