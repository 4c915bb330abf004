"""The reporting clock's rules, driven by a controlled clock."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_service.errors import Conflict, ValidationFailed
from incident_service.cases import filings as filing_cases
from incident_service.cases import incidents
from incident_service.incidents.models import IncidentStatus
from incident_service.reporting import service as clocks
from incident_service.reporting.alerts import fire_due_alerts
from incident_service.reporting.models import AlertStage, AlertState, DeadlineAlert, DeadlineState, Notification
from tests import factories
from tests.conftest import T0


def _by_clock(session, incident_id):
    return {d.clock_key: d for d in clocks.incident_deadlines(session, incident_id)}


def _fire(session, registry, now):
    return fire_due_alerts(session=session, now=now, engine_id="test", zone=registry.zone)[1]


def test_exchange_clocks_start_at_awareness_not_at_entry(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=25))
    d = _by_clock(session, inc.id)
    assert set(d) == {"initial", "formal", "closure"}  # no public notice: trading not affected
    assert d["initial"].due_at == T0 + timedelta(minutes=5)
    assert d["initial"].seconds_left(T0) == 300
    assert d["formal"].due_at == T0 - timedelta(minutes=25) + timedelta(hours=24)
    assert d["closure"].due_at == T0 - timedelta(minutes=25) + timedelta(days=3)


def test_late_entry_skips_stale_warnings_and_fires_the_latest_at_once(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=25))
    initial = _by_clock(session, inc.id)["initial"]
    alerts = {(a.stage, a.offset_minutes): a.state for a in session.scalars(sa.select(DeadlineAlert).where(DeadlineAlert.deadline_id == initial.id))}
    assert alerts[(AlertStage.warning, 10)] == AlertState.skipped
    assert alerts[(AlertStage.warning, 5)] == AlertState.scheduled
    fired = _fire(session, registry, T0)
    assert [(n.clock_key, n.stage, n.seconds_left) for n in fired] == [("initial", AlertStage.warning, 300)]
    assert "5 min left" in fired[0].message_en and "剩餘 5分" in fired[0].message_zh


def test_entry_40_minutes_late_is_missed_at_once_and_escalates_once(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=40))
    initial = _by_clock(session, inc.id)["initial"]
    assert initial.state_at(T0) == DeadlineState.missed
    assert initial.seconds_left(T0) == -600
    fired = _fire(session, registry, T0)
    assert [(n.clock_key, n.stage) for n in fired] == [("initial", AlertStage.escalation)]
    assert fired[0].audience == ["reporter", "supervisors"]
    assert _fire(session, registry, T0 + timedelta(seconds=1)) == []
    assert _fire(session, registry, T0 + timedelta(minutes=5)) == []
    session.refresh(initial)
    assert initial.state == DeadlineState.missed


@pytest.mark.parametrize("seconds, state", [(29 * 60 + 59, DeadlineState.met), (30 * 60, DeadlineState.met), (30 * 60 + 1, DeadlineState.met_late)])
def test_filing_at_or_before_due_is_met_after_is_met_late(session, registry, seconds, state):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=1))
    aware = inc.aware_at
    filing_cases.record_filing(session=session, incident_id=inc.id, actor="a", registry=registry, now=aware + timedelta(minutes=45),
                         data={"clock": "initial", "submitted_at": aware + timedelta(seconds=seconds), "reference": "R1"})
    assert _by_clock(session, inc.id)["initial"].state == state


def test_filing_stops_the_clock_and_cancels_its_alerts(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=1))
    filing_cases.record_filing(session=session, incident_id=inc.id, actor="a", registry=registry, now=T0,
                         data={"clock": "initial", "submitted_at": T0})
    assert _fire(session, registry, T0 + timedelta(hours=1)) == []
    initial = _by_clock(session, inc.id)["initial"]
    assert initial.seconds_left(T0) is None
    assert inc.status == IncidentStatus.reported


def test_late_filing_after_a_miss_shows_met_late(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=40))
    _fire(session, registry, T0)
    filing_cases.record_filing(session=session, incident_id=inc.id, actor="a", registry=registry, now=T0 + timedelta(minutes=1),
                         data={"clock": "initial", "submitted_at": T0 + timedelta(minutes=1)})
    assert _by_clock(session, inc.id)["initial"].state == DeadlineState.met_late


@pytest.mark.parametrize("data, field", [
    ({"clock": "nonsense", "submitted_at": T0}, "clock"),
    ({"clock": "initial", "submitted_at": T0 + timedelta(minutes=1)}, "submitted_at"),
    ({"clock": "initial", "submitted_at": T0 - timedelta(hours=2)}, "submitted_at"),
    ({"clock": "initial", "policy": "eu_dora", "submitted_at": T0}, "policy"),
])
def test_bad_filings_are_refused(session, registry, data, field):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=1))
    with pytest.raises(ValidationFailed) as err:
        filing_cases.record_filing(session=session, incident_id=inc.id, actor="a", registry=registry, now=T0, data=data)
    assert field in err.value.errors


def test_correcting_awareness_moves_every_due_time_and_is_on_the_timeline(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=5))
    before = {k: d.due_at for k, d in _by_clock(session, inc.id).items()}
    incidents.correct_awareness(session=session, incident_id=inc.id, aware_at=T0 - timedelta(minutes=50),
                                reason="Vendor's log shows we were told at 01:20", actor="sup", registry=registry, now=T0)
    after = {k: d.due_at for k, d in _by_clock(session, inc.id).items()}
    assert all(after[k] == before[k] - timedelta(minutes=45) for k in before)
    event = next(e for e in reversed(inc.timeline) if e.kind != "deadline_outcome")
    assert event.kind == "awareness_corrected" and event.actor == "sup" and "Vendor's log" in event.summary
    # The old instants are cancelled; the moved initial deadline is already missed and escalates once.
    fired = _fire(session, registry, T0)
    assert [(n.clock_key, n.stage) for n in fired] == [("initial", AlertStage.escalation)]


def test_public_notice_applies_only_when_trading_or_investors_are_affected(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=1), trading_affected=True)
    assert "public_notice" in _by_clock(session, inc.id)
    incidents.update_incident(session=session, incident_id=inc.id, data={"trading_affected": False}, expected_version=None,
                              actor="a", registry=registry, now=T0)
    assert _by_clock(session, inc.id)["public_notice"].state == DeadlineState.withdrawn
    assert not [n for n in _fire(session, registry, T0 + timedelta(hours=1)) if n.clock_key == "public_notice"]


def test_closing_is_refused_while_clocks_are_open_then_allowed_with_filings_and_waiver(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=1))
    with pytest.raises(Conflict) as err:
        incidents.update_incident(session=session, incident_id=inc.id, data={"status": IncidentStatus.closed},
                                  expected_version=None, actor="a", registry=registry, now=T0)
    assert len(err.value.errors["status"]) == 3
    for kind in ("initial", "formal"):
        filing_cases.record_filing(session=session, incident_id=inc.id, actor="a", registry=registry, now=T0,
                             data={"clock": kind, "submitted_at": T0})
    closure = _by_clock(session, inc.id)["closure"]
    filing_cases.waive_deadline(session=session, deadline_id=closure.id, reason="Closed with the formal report", actor="sup",
                          registry=registry, now=T0)
    closed = incidents.update_incident(session=session, incident_id=inc.id, data={"status": IncidentStatus.closed},
                                       expected_version=None, actor="sup", registry=registry, now=T0)
    assert closed.status == IncidentStatus.closed and closed.closed_at == T0
    with pytest.raises(Conflict):
        filing_cases.waive_deadline(session=session, deadline_id=closure.id, reason="again", actor="sup", registry=registry, now=T0)


def test_dora_initial_is_the_earlier_of_classification_plus_4h_and_awareness_plus_24h(session, registry):
    aware = T0 - timedelta(minutes=10)
    inc = factories.incident(session, registry, T0, aware_at=aware, policies=["twse", "eu_dora"])
    dora = {d.clock_key: d for d in clocks.incident_deadlines(session, inc.id) if d.policy_key == "eu_dora"}
    assert dora["initial"].due_at == aware + timedelta(hours=24)
    assert dora["intermediate"].state == DeadlineState.waiting and dora["intermediate"].due_at is None
    incidents.update_incident(session=session, incident_id=inc.id, data={"classified_at": T0}, expected_version=None,
                              actor="a", registry=registry, now=T0)
    session.refresh(dora["initial"])
    assert dora["initial"].due_at == T0 + timedelta(hours=4)
    # Filing the DORA initial starts the intermediate clock: 72 h after that filing.
    filing_cases.record_filing(session=session, incident_id=inc.id, actor="a", registry=registry, now=T0 + timedelta(hours=1),
                         data={"clock": "initial", "policy": "eu_dora", "submitted_at": T0 + timedelta(hours=1)})
    session.refresh(dora["intermediate"])
    assert dora["intermediate"].due_at == T0 + timedelta(hours=73) and dora["intermediate"].state == DeadlineState.pending
    twse_initial = next(d for d in clocks.incident_deadlines(session, inc.id) if d.policy_key == "twse" and d.clock_key == "initial")
    assert twse_initial.filing_id is None  # a DORA filing does not stop the exchange's clock


def test_dora_final_is_one_calendar_month_after_the_last_intermediate(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(hours=2), policies=["eu_dora"])
    for hours, kind in ((1, "initial"), (2, "intermediate")):
        filing_cases.record_filing(session=session, incident_id=inc.id, actor="a", registry=registry, now=T0,
                             data={"clock": kind, "submitted_at": T0 - timedelta(hours=2) + timedelta(hours=hours)})
    final = _by_clock(session, inc.id)["final"]
    assert final.due_at == (T0 - timedelta(hours=0)).replace(month=12)  # 2026-11-20 18:10Z + 1 month


def test_csma_recovery_is_36h_for_major_and_investigation_starts_at_recovery(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=10), severity=3, policies=["tw_csma"],
                             service_down_at=T0 - timedelta(minutes=20))
    d = _by_clock(session, inc.id)
    assert d["notice"].due_at == T0 + timedelta(minutes=50)
    assert "recovery" not in d and d["recovery_major"].due_at == T0 - timedelta(minutes=10) + timedelta(hours=36)
    assert d["investigation"].state == DeadlineState.waiting
    incidents.update_incident(session=session, incident_id=inc.id, data={"service_restored_at": T0}, expected_version=None,
                              actor="a", registry=registry, now=T0)
    session.refresh(d["investigation"])
    assert d["investigation"].due_at == T0.replace(month=12) and d["investigation"].state == DeadlineState.pending


def test_each_warning_and_escalation_fires_exactly_once_in_due_order(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0)
    seen = []
    for minute in range(0, 31):
        seen += [(n.stage.value, n.seconds_left) for n in _fire(session, registry, T0 + timedelta(minutes=minute, seconds=1))]
    assert seen == [("warning", 599), ("warning", 299), ("escalation", -1)]
    assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 3
