"""Derived figures: outage vs RTO, data loss vs RPO, vendor notification delay, monthly availability."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from incident_service.incidents import derived
from incident_service.cases.incidents import update_incident
from incident_service.incidents.figures import incident_figures
from tests import factories
from tests.conftest import T0

TAIPEI = ZoneInfo("Asia/Taipei")


def _incident(session, registry, **kw):
    return factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=5), **kw)


def test_outage_unknown_without_down_time(session, registry):
    inc = _incident(session, registry)
    fig = derived.outage(inc, T0, inc.contract)
    assert fig["minutes"] is None and fig["rto_breached"] is None
    assert "not recorded" in fig["reason"]


def test_outage_not_restored_counts_so_far_and_is_undecided_within_rto(session, registry):
    s = factories.system(session, T0, rto_minutes=30)
    inc = _incident(session, registry, system_ids=[s.id], service_down_at=T0 - timedelta(minutes=10))
    fig = derived.outage(inc, T0, inc.contract)
    assert fig["ongoing"] is True and fig["minutes"] == 10.0
    assert fig["rto_breached"] is None
    assert "20.0 minutes left" in fig["systems"][0]["reason"]


def test_outage_not_restored_but_already_past_rto_is_breached(session, registry):
    s = factories.system(session, T0, rto_minutes=30)
    inc = _incident(session, registry, system_ids=[s.id], service_down_at=T0 - timedelta(minutes=45),
                    occurred_at=T0 - timedelta(minutes=50))
    fig = derived.outage(inc, T0, inc.contract)
    assert fig["rto_breached"] is True and fig["systems"][0]["minutes_over"] == 15.0


def test_several_systems_with_different_rtos(session, registry):
    quick = factories.system(session, T0, rto_minutes=15)
    slow = factories.system(session, T0, rto_minutes=240)
    unknown = factories.system(session, T0, rto_minutes=None)
    inc = _incident(session, registry, system_ids=[quick.id, slow.id, unknown.id],
                    service_down_at=T0 - timedelta(minutes=60), service_restored_at=T0 - timedelta(minutes=20))
    fig = derived.outage(inc, T0, inc.contract)
    by_id = {row["system_id"]: row for row in fig["systems"]}
    assert fig["minutes"] == 40.0
    assert by_id[quick.id]["breached"] is True and by_id[quick.id]["minutes_over"] == 25.0
    assert by_id[slow.id]["breached"] is False
    assert by_id[unknown.id]["breached"] is None and by_id[unknown.id]["reason"] == "No RTO is set for this system."
    assert fig["rto_breached"] is True


def test_outage_exactly_at_rto_is_not_a_breach(session, registry):
    s = factories.system(session, T0, rto_minutes=30)
    inc = _incident(session, registry, system_ids=[s.id], service_down_at=T0 - timedelta(minutes=40),
                    service_restored_at=T0 - timedelta(minutes=10))
    assert derived.outage(inc, T0, inc.contract)["rto_breached"] is False


def test_contract_rto_overrides_the_systems_own(session, registry):
    s = factories.system(session, T0, rto_minutes=30)
    v = factories.vendor(session, T0)
    c = factories.contract(session, T0, v.id, [s.id], service_levels=[{"system_id": s.id, "rto_minutes": 60}])
    inc = _incident(session, registry, vendor_id=v.id, contract_id=c.id, system_ids=[s.id],
                    service_down_at=T0 - timedelta(minutes=50), service_restored_at=T0)
    fig = derived.outage(inc, T0, inc.contract)
    assert fig["systems"][0]["rto_minutes"] == 60 and fig["rto_breached"] is False


def test_data_loss_against_rpo(session, registry):
    s = factories.system(session, T0, rpo_minutes=5)
    inc = _incident(session, registry, system_ids=[s.id], data_loss_from=T0 - timedelta(minutes=20),
                    data_loss_to=T0 - timedelta(minutes=12))
    fig = derived.data_loss(inc, inc.contract)
    assert fig["minutes"] == 8.0 and fig["rpo_breached"] is True


def test_no_data_loss_window_says_why(session, registry):
    inc = _incident(session, registry)
    fig = derived.data_loss(inc, inc.contract)
    assert fig["minutes"] is None and fig["rpo_breached"] is None and fig["reason"]


def test_vendor_notification_without_contract_has_delay_but_no_verdict(session, registry):
    inc = _incident(session, registry, occurred_at=T0 - timedelta(minutes=35), vendor_notified_at=T0 - timedelta(minutes=5))
    fig = derived.vendor_notification(inc, T0, inc.contract)
    assert fig["delay_minutes"] == 30.0 and fig["measured_from"] == "occurred_at" and fig["stand_in"] is True
    assert fig["breached"] is None and "No contract" in fig["reason"] and "stands in" in fig["reason"]


def test_vendor_notification_breach_against_contract_duty(session, registry):
    v = factories.vendor(session, T0)
    c = factories.contract(session, T0, v.id, vendor_notify_minutes=15)
    inc = _incident(session, registry, vendor_id=v.id, contract_id=c.id, vendor_aware_at=T0 - timedelta(minutes=35),
                    vendor_notified_at=T0 - timedelta(minutes=5))
    fig = derived.vendor_notification(inc, T0, inc.contract)
    assert fig["delay_minutes"] == 30.0 and fig["duty_minutes"] == 15 and fig["breached"] is True


def test_vendor_silent_past_its_duty_is_already_a_breach(session, registry):
    v = factories.vendor(session, T0)
    c = factories.contract(session, T0, v.id, vendor_notify_minutes=15)
    inc = _incident(session, registry, vendor_id=v.id, contract_id=c.id, vendor_aware_at=T0 - timedelta(minutes=20))
    fig = derived.vendor_notification(inc, T0, inc.contract)
    assert fig["delay_minutes"] is None and fig["breached"] is True and "not notified" in fig["reason"]


def test_overlapping_outages_count_once_in_the_month():
    base = datetime(2026, 11, 10, tzinfo=UTC)
    start, end = derived.month_bounds(base, TAIPEI)
    intervals = [(base, base + timedelta(minutes=30)), (base + timedelta(minutes=20), base + timedelta(minutes=50))]
    assert derived.merged_outage_minutes(intervals, start, end) == 50.0


def test_month_bounds_follow_the_firms_zone():
    # 2026-11-30 17:00 UTC is already 2026-12-01 01:00 in Taipei.
    start, end = derived.month_bounds(datetime(2026, 11, 30, 17, 0, tzinfo=UTC), TAIPEI)
    assert start.astimezone(TAIPEI).month == 12 and start.astimezone(UTC) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


def test_monthly_availability_against_target(session, registry):
    s = factories.system(session, T0)
    v = factories.vendor(session, T0)
    c = factories.contract(session, T0, v.id, [s.id], availability_target=Decimal("99.9"))
    down = datetime(2026, 11, 3, 1, 0, tzinfo=UTC)
    inc = _incident(session, registry, vendor_id=v.id, contract_id=c.id, system_ids=[s.id],
                    service_down_at=down, service_restored_at=down + timedelta(minutes=60), occurred_at=down)
    fig = incident_figures(session=session, incident=inc, now=T0, zone=TAIPEI)["availability"]
    assert fig["month"] == "2026-11" and fig["outage_minutes"] == 60.0
    assert fig["availability_percent"] == round(100 * (1 - 60 / (30 * 1440)), 4)
    # 99.9 % of a 30-day month allows 43.2 minutes; 60 minutes breaches it.
    assert fig["target_percent"] == 99.9 and fig["breached"] is True


def test_availability_without_contract_says_why(session, registry):
    inc = _incident(session, registry, service_down_at=T0 - timedelta(minutes=3))
    fig = incident_figures(session=session, incident=inc, now=T0, zone=TAIPEI)["availability"]
    assert "No contract" in fig["reason"]
