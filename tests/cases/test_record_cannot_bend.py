"""The record cannot bend (issue 9): each rule at its boundary, through the use-case functions."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from incident_service.cases import filings as filing_cases
from incident_service.cases import incidents
from incident_service.errors import Conflict, Forbidden, ValidationFailed
from incident_service.incidents import remediation
from incident_service.incidents.figures import incident_figures
from incident_service.incidents.models import IncidentStatus, RemediationAction, RemediationStatus, TimelineEvent
from incident_service.reporting import service as clocks
from incident_service.reporting.alerts import fire_due_alerts
from incident_service.reporting.history import vendor_history
from incident_service.reporting.models import DeadlineState
from tests import factories
from tests.conftest import T0


def _clock(session, incident_id, clock_key, policy="twse"):
    return next(d for d in clocks.incident_deadlines(session, incident_id) if d.clock_key == clock_key and d.policy_key == policy)


def _file(session, registry, incident, kind, submitted_at, now, policy=None, **kw):
    data = {"clock": kind, "submitted_at": submitted_at, **({"policy": policy} if policy else {})}
    return filing_cases.record_filing(session=session, incident_id=incident.id, data=data, actor="oncall", registry=registry,
                                      now=now, **kw)


def _events(session, incident_id, kind):
    return session.scalars(sa.select(TimelineEvent).where(TimelineEvent.incident_id == incident_id, TimelineEvent.kind == kind)
                           .order_by(TimelineEvent.id)).all()


# -- 1. awareness has bounds -----------------------------------------------------------------------------

def test_awareness_may_equal_the_vendors_notice_but_not_follow_it(session, registry):
    ok = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=10), vendor_notified_at=T0 - timedelta(minutes=10))
    assert ok.aware_at == ok.vendor_notified_at
    with pytest.raises(ValidationFailed) as refused:
        factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=9), vendor_notified_at=T0 - timedelta(minutes=10))
    message = refused.value.errors["aware_at"][0]
    assert "vendor_notified_at" in message and "2026-11-20T18:00:00Z" in message


def test_a_vendor_notice_before_awareness_is_refused_on_the_field_that_changed(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=10))
    with pytest.raises(ValidationFailed) as refused:
        incidents.update_incident(session=session, incident_id=inc.id, data={"vendor_notified_at": T0 - timedelta(minutes=11)},
                                  expected_version=None, actor="a", registry=registry, now=T0)
    assert "vendor_notified_at" in refused.value.errors and "aware_at" not in refused.value.errors
    session.refresh(inc)
    assert inc.vendor_notified_at is None  # nothing half-written


@pytest.mark.parametrize("bound", ["recording", "filing", "vendor notice"])
def test_awareness_cannot_be_corrected_past_any_of_its_bounds(session, registry, bound):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=50),
                             vendor_notified_at=T0 - timedelta(minutes=20) if bound == "vendor notice" else None)
    later = T0 + timedelta(minutes=30)
    if bound == "filing":
        _file(session, registry, inc, "initial", T0 - timedelta(minutes=30), T0)
    limit = {"recording": T0, "filing": T0 - timedelta(minutes=30), "vendor notice": T0 - timedelta(minutes=20)}[bound]
    with pytest.raises(ValidationFailed) as refused:
        incidents.correct_awareness(session=session, incident_id=inc.id, aware_at=limit + timedelta(seconds=1), reason="later",
                                    actor="sup", registry=registry, now=later)
    assert limit.isoformat().replace("+00:00", "Z") in " ".join(refused.value.errors["aware_at"])
    incidents.correct_awareness(session=session, incident_id=inc.id, aware_at=limit, reason="exactly at the bound",
                                actor="sup", registry=registry, now=later)
    assert inc.aware_at == limit


def test_each_correction_writes_every_changed_outcome_on_the_timeline_both_ways(session, registry):
    # Entered an hour late; the initial report went out 45 minutes after awareness: met late.
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=60))
    _file(session, registry, inc, "initial", T0 - timedelta(minutes=15), T0)
    assert _clock(session, inc.id, "initial").state == DeadlineState.met_late
    incidents.correct_awareness(session=session, incident_id=inc.id, aware_at=T0 - timedelta(minutes=40),
                                reason="the vendor's call came at 01:30", actor="sup", registry=registry, now=T0)
    assert _clock(session, inc.id, "initial").state == DeadlineState.met
    incidents.correct_awareness(session=session, incident_id=inc.id, aware_at=T0 - timedelta(minutes=70),
                                reason="monitoring had alerted at 01:00", actor="sup", registry=registry, now=T0)
    assert _clock(session, inc.id, "initial").state == DeadlineState.met_late
    outcomes = [e.changes["state"] for e in _events(session, inc.id, "deadline_outcome")]
    assert outcomes == [["met_late", "met"], ["met", "met_late"]]
    corrections = _events(session, inc.id, "awareness_corrected")
    assert [c.summary.split(":")[0] for c in corrections] == ["Awareness time corrected later", "Awareness time corrected earlier"]


# -- 2. a missed deadline stays missed ---------------------------------------------------------------------

def test_a_waiver_is_possible_until_the_due_time_and_refused_after_it(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=30))
    initial = _clock(session, inc.id, "initial")
    assert initial.due_at == T0
    filing_cases.waive_deadline(session=session, deadline_id=initial.id, reason="drill", actor="sup", registry=registry, now=T0)
    assert initial.state == DeadlineState.waived
    late = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=31))
    with pytest.raises(Conflict) as refused:
        filing_cases.waive_deadline(session=session, deadline_id=_clock(session, late.id, "initial").id, reason="drill",
                                    actor="sup", registry=registry, now=T0)
    assert refused.value.code == "past_due" and "cannot be waived" in refused.value.message
    assert _clock(session, late.id, "initial").state != DeadlineState.waived


def test_a_justified_miss_stays_a_miss_in_every_on_time_rate(session, registry):
    vendor = factories.vendor(session, T0)
    missed = factories.incident(session, registry, T0, vendor_id=vendor.id, aware_at=T0 - timedelta(minutes=45))
    on_time = factories.incident(session, registry, T0, vendor_id=vendor.id, aware_at=T0 - timedelta(minutes=5))
    _file(session, registry, on_time, "initial", T0, T0)
    deadline = _clock(session, missed.id, "initial")
    with pytest.raises(Conflict):  # not yet justified, nor justifiable before its due time
        filing_cases.justify_deadline(session=session, deadline_id=_clock(session, on_time.id, "formal").id, reason="x y z",
                                      actor="sup", now=T0)
    filing_cases.justify_deadline(session=session, deadline_id=deadline.id, reason="Reporting system was down", actor="sup", now=T0)
    assert deadline.state_at(T0) == DeadlineState.missed and deadline.justified_by == "sup"
    with pytest.raises(Conflict) as again:
        filing_cases.justify_deadline(session=session, deadline_id=deadline.id, reason="another story", actor="sup2", now=T0)
    assert again.value.code == "already_justified"
    history = vendor_history(session=session, vendor_id=vendor.id, now=T0, zone=registry.zone)
    tally = next(c for c in history.summary.clocks if c.clock == "initial")
    assert (tally.met, tally.missed, tally.justified, tally.on_time_rate) == (1, 1, 1, 0.5)
    row = next(d for i in history.incidents if i.id == missed.id for d in i.deadlines if d.clock == "initial")
    assert row.state == "missed" and row.justification == "Reporting system was down"


def test_a_waiver_given_before_the_due_time_no_longer_holds_when_awareness_moves_earlier(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=10))
    initial = _clock(session, inc.id, "initial")
    filing_cases.waive_deadline(session=session, deadline_id=initial.id, reason="not reportable", actor="sup",
                                registry=registry, now=T0)
    incidents.correct_awareness(session=session, incident_id=inc.id, aware_at=T0 - timedelta(minutes=40), reason="known earlier",
                                actor="sup", registry=registry, now=T0)
    assert initial.state_at(T0) == DeadlineState.missed  # waived at T0, after the new due time T0-10
    assert [e.changes["state"] for e in _events(session, inc.id, "deadline_outcome")] == [["waived", "missed"]]


@pytest.mark.parametrize("change", ["flag off", "policy dropped", "severity lowered"])
def test_a_clock_that_stops_applying_is_withdrawn_before_its_due_time_but_a_miss_stays(session, registry, change):
    def make(aware_minutes_ago):
        if change == "severity lowered":
            return factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=aware_minutes_ago),
                                      severity=3, policies=["twse", "tw_csma"])
        return factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=aware_minutes_ago),
                                  trading_affected=True, policies=["twse", "internal_strict"])
    data = {"flag off": {"trading_affected": False}, "policy dropped": {"policies": ["twse"], "reason": "not ours"},
            "severity lowered": {"severity": 2}}[change]
    policy, clock = {"flag off": ("twse", "public_notice"), "policy dropped": ("internal_strict", "initial"),
                     "severity lowered": ("tw_csma", "recovery_major")}[change]
    fresh, late = make(5), make(60 * 40)
    for inc in (fresh, late):
        incidents.update_incident(session=session, incident_id=inc.id, data=dict(data), expected_version=None, actor="sup",
                                  registry=registry, now=T0)
    assert _clock(session, fresh.id, clock, policy).state == DeadlineState.withdrawn
    missed = _clock(session, late.id, clock, policy)
    assert missed.state_at(T0) == DeadlineState.missed
    # The miss can still be filed late, even though the clock no longer applies.
    kind = missed.stopped_by
    _file(session, registry, late, kind, T0, T0, policy=policy)
    assert _clock(session, late.id, clock, policy).state == DeadlineState.met_late


# -- 3. regulators are kept apart --------------------------------------------------------------------------

def test_a_filing_stops_only_its_own_policys_clock_and_must_name_it_when_two_have_one(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=10), policies=["twse", "eu_dora"])
    with pytest.raises(ValidationFailed) as refused:
        _file(session, registry, inc, "initial", T0, T0)
    assert "twse" in refused.value.errors["policy"][0] and "eu_dora" in refused.value.errors["policy"][0]
    filing = _file(session, registry, inc, "initial", T0, T0, policy="twse")
    assert filing.policy_key == "twse"
    assert _clock(session, inc.id, "initial", "twse").state == DeadlineState.met
    assert _clock(session, inc.id, "initial", "eu_dora").state == DeadlineState.pending
    assert _clock(session, inc.id, "intermediate", "eu_dora").state == DeadlineState.waiting  # the exchange's filing starts nothing
    _file(session, registry, inc, "initial", T0, T0, policy="eu_dora")
    assert _clock(session, inc.id, "intermediate", "eu_dora").due_at == T0 + timedelta(hours=72)
    closure_only = _file(session, registry, inc, "formal", T0, T0)  # only the exchange has a formal report: inferred
    assert closure_only.policy_key == "twse"


# -- 4. conditional clocks start when the condition became true ---------------------------------------------

def test_an_impact_learnt_late_starts_the_public_notice_then(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=20))
    assert not any(d.clock_key == "public_notice" for d in clocks.incident_deadlines(session, inc.id))
    later = T0 + timedelta(hours=2)
    incidents.update_incident(session=session, incident_id=inc.id, data={"investors_affected": True}, expected_version=None,
                              actor="a", registry=registry, now=later)
    notice = _clock(session, inc.id, "public_notice")
    assert inc.impact_known_at == later and notice.started_at == later and notice.due_at == later + timedelta(minutes=30)
    incidents.update_incident(session=session, incident_id=inc.id, data={"investors_affected": False}, expected_version=None,
                              actor="a", registry=registry, now=later + timedelta(minutes=5))
    assert inc.impact_known_at is None and _clock(session, inc.id, "public_notice").state == DeadlineState.withdrawn


def test_an_impact_told_at_entry_was_known_since_awareness_and_a_given_time_is_bounded(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=25), trading_affected=True)
    assert inc.impact_known_at == inc.aware_at and _clock(session, inc.id, "public_notice").seconds_left(T0) == 300
    for when, field_hint in ((T0 - timedelta(minutes=26), "aware"), (T0 + timedelta(minutes=1), "future")):
        with pytest.raises(ValidationFailed) as refused:
            incidents.update_incident(session=session, incident_id=inc.id, data={"impact_known_at": when}, expected_version=None,
                                      actor="a", registry=registry, now=T0)
        assert "impact_known_at" in refused.value.errors
    with pytest.raises(ValidationFailed):
        factories.incident(session, registry, T0, impact_known_at=T0)  # no flag: no impact to have known


def test_the_impact_cannot_be_learnt_after_the_public_notice_went_out(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=25), trading_affected=True)
    _file(session, registry, inc, "public_notice", T0 - timedelta(minutes=10), T0)
    with pytest.raises(ValidationFailed) as refused:
        incidents.update_incident(session=session, incident_id=inc.id, data={"impact_known_at": T0 - timedelta(minutes=5)},
                                  expected_version=None, actor="a", registry=registry, now=T0)
    assert "public notice" in refused.value.errors["impact_known_at"][0]


# -- 5. closure needs recovery ------------------------------------------------------------------------------

def test_no_closure_report_and_no_closing_while_the_service_is_down(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=20), service_down_at=T0 - timedelta(minutes=25))
    with pytest.raises(ValidationFailed) as refused:
        _file(session, registry, inc, "closure", T0, T0)
    assert "service_restored_at" in refused.value.errors["clock"][0]
    for kind in ("initial", "formal"):
        _file(session, registry, inc, kind, T0, T0)
    filing_cases.waive_deadline(session=session, deadline_id=_clock(session, inc.id, "closure").id, reason="no closure owed",
                                actor="sup", registry=registry, now=T0)
    with pytest.raises(Conflict) as down:
        incidents.update_incident(session=session, incident_id=inc.id, data={"status": IncidentStatus.closed},
                                  expected_version=None, actor="sup", registry=registry, now=T0)
    assert down.value.code == "service_down"
    incidents.update_incident(session=session, incident_id=inc.id, data={"status": IncidentStatus.closed,
                              "service_restored_at": T0}, expected_version=None, actor="sup", registry=registry, now=T0)
    assert inc.status == IncidentStatus.closed


def test_closing_with_open_remediation_needs_a_confirmation_that_is_recorded(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=5))
    for kind in ("initial", "formal", "closure"):
        _file(session, registry, inc, kind, T0, T0)
    action = remediation.add_remediation(session=session, incident_id=inc.id, actor="a", now=T0, data={
        "action": RemediationAction.code_review, "title": "Review", "owner": "Ops", "due_on": date(2026, 12, 1)})
    with pytest.raises(Conflict) as refused:
        incidents.update_incident(session=session, incident_id=inc.id, data={"status": IncidentStatus.closed},
                                  expected_version=None, actor="sup", registry=registry, now=T0)
    assert refused.value.code == "remediation_open" and f"#{action.id}" in refused.value.errors["confirm_open_remediation"][0]
    incidents.update_incident(session=session, incident_id=inc.id, data={"status": IncidentStatus.closed}, expected_version=None,
                              actor="sup", registry=registry, now=T0, confirm_open_remediation=True)
    closing = [e for e in _events(session, inc.id, "updated") if "status" in e.changes][-1]
    assert closing.summary == f"Closed with open remediation #{action.id} (confirmed)"


def test_a_closed_incident_never_counts_as_an_ongoing_outage(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=20), service_down_at=T0 - timedelta(minutes=20))
    # A record closed before this rule existed: closed at T0 while still marked down.
    inc.status, inc.closed_at = IncidentStatus.closed, T0
    session.commit()
    figures = incident_figures(session=session, incident=inc, now=T0 + timedelta(days=10), zone=registry.zone)
    assert figures["outage"]["minutes"] == 20.0 and figures["outage"]["ongoing"] is False


# -- 6. filings are honest -----------------------------------------------------------------------------------

def test_a_filing_is_never_before_awareness_nor_in_the_future(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=10))
    for when in (T0 - timedelta(minutes=11), T0 + timedelta(seconds=1)):
        with pytest.raises(ValidationFailed) as refused:
            _file(session, registry, inc, "initial", when, T0)
        assert "submitted_at" in refused.value.errors


def test_a_filing_recorded_over_an_hour_late_needs_a_supervisor_and_keeps_both_times(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(hours=3))
    now = T0
    _file(session, registry, inc, "initial", now - timedelta(minutes=60), now)  # exactly the limit: anyone
    with pytest.raises(Forbidden) as refused:
        _file(session, registry, inc, "formal", now - timedelta(minutes=61), now)
    assert refused.value.code == "backdated_filing"
    filing = _file(session, registry, inc, "formal", now - timedelta(minutes=61), now, may_backdate=True)
    assert filing.submitted_at == now - timedelta(minutes=61) and filing.recorded_at == now
    assert "recorded 2026-11-20T18:10:00Z" in _events(session, inc.id, "filing")[-1].summary


def test_no_filing_on_a_closed_incident(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=5))
    for kind in ("initial", "formal", "closure"):
        _file(session, registry, inc, kind, T0, T0)
    incidents.update_incident(session=session, incident_id=inc.id, data={"status": IncidentStatus.closed}, expected_version=None,
                              actor="sup", registry=registry, now=T0)
    with pytest.raises(Conflict) as refused:
        _file(session, registry, inc, "formal", T0, T0)
    assert refused.value.code == "closed"


def test_changing_the_policies_needs_a_reason_and_is_on_the_timeline(session, registry):
    inc = factories.incident(session, registry, T0)
    with pytest.raises(ValidationFailed) as refused:
        incidents.update_incident(session=session, incident_id=inc.id, data={"policies": ["twse", "eu_dora"]},
                                  expected_version=None, actor="sup", registry=registry, now=T0)
    assert "reason" in refused.value.errors
    session.refresh(inc)
    assert inc.policies == ["twse"]
    incidents.update_incident(session=session, incident_id=inc.id, data={"policies": ["twse", "eu_dora"], "reason": "EU parent"},
                              expected_version=None, actor="sup", registry=registry, now=T0)
    event = _events(session, inc.id, "policies_changed")[0]
    assert event.changes["policies"] == [["twse"], ["twse", "eu_dora"]] and event.summary.endswith("EU parent")


# -- 7. figures are right at the edges ----------------------------------------------------------------------

def test_an_outage_across_a_month_end_counts_in_both_months(session, registry):
    system = factories.system(session, T0)
    vendor = factories.vendor(session, T0)
    contract = factories.contract(session, T0, vendor.id, [system.id], availability_target=99.9)
    down = datetime(2026, 10, 31, 15, 30, tzinfo=UTC)  # 23:30 on 31 October in Taipei
    inc = factories.incident(session, registry, T0, vendor_id=vendor.id, contract_id=contract.id, system_ids=[system.id],
                             aware_at=down, occurred_at=down, service_down_at=down, service_restored_at=down + timedelta(minutes=90))
    months = {(m.month, m.outage_minutes) for m in
              vendor_history(session=session, vendor_id=vendor.id, now=T0, zone=registry.zone).summary.availability}
    assert months == {("2026-10", 30.0), ("2026-11", 60.0)}
    figure = incident_figures(session=session, incident=inc, now=T0, zone=registry.zone)["availability"]
    assert [(m["month"], m["outage_minutes"]) for m in figure["months"]] == [("2026-10", 30.0), ("2026-11", 60.0)]


def test_an_incident_without_a_contract_is_measured_against_the_one_in_force_that_covers_its_system(session, registry):
    system = factories.system(session, T0, rto_minutes=60)
    vendor = factories.vendor(session, T0)
    factories.contract(session, T0, vendor.id, [system.id], starts_on=date(2024, 1, 1), ends_on=date(2025, 12, 31),
                       service_levels=[{"system_id": system.id, "rto_minutes": 240}])
    current = factories.contract(session, T0, vendor.id, [system.id], starts_on=date(2026, 1, 1),
                                 service_levels=[{"system_id": system.id, "rto_minutes": 20}], vendor_notify_minutes=10)
    inc = factories.incident(session, registry, T0, vendor_id=vendor.id, system_ids=[system.id], aware_at=T0 - timedelta(minutes=30),
                             service_down_at=T0 - timedelta(minutes=30), service_restored_at=T0)
    figures = incident_figures(session=session, incident=inc, now=T0, zone=registry.zone)
    assert figures["contract"]["contract_id"] == current.id and figures["contract"]["basis"] == "in_force"
    assert current.reference in figures["contract"]["reason"]
    assert figures["outage"]["systems"][0]["rto_minutes"] == 20 and figures["outage"]["rto_breached"] is True
    assert figures["vendor_notification"]["duty_minutes"] == 10


def test_linking_a_contract_not_in_force_on_the_day_of_awareness_is_refused(session, registry):
    vendor = factories.vendor(session, T0)
    old = factories.contract(session, T0, vendor.id, starts_on=date(2024, 1, 1), ends_on=date(2026, 11, 20))
    with pytest.raises(ValidationFailed) as refused:
        factories.incident(session, registry, T0, vendor_id=vendor.id, contract_id=old.id)  # aware 2026-11-21 in Taipei
    assert "not in force" in refused.value.errors["contract_id"][0]
    ok = factories.incident(session, registry, T0, vendor_id=vendor.id, contract_id=old.id, aware_at=T0 - timedelta(hours=3))
    assert ok.contract_id == old.id  # still 20 November in Taipei


# -- 8. remediation is verified by someone else --------------------------------------------------------------

def test_whoever_marks_an_action_done_cannot_verify_it(session, registry):
    inc = factories.incident(session, registry, T0)
    action = remediation.add_remediation(session=session, incident_id=inc.id, actor="lin", now=T0, data={
        "action": RemediationAction.stress_test, "title": "Stress test", "owner": "Ops", "due_on": date(2026, 12, 1)})
    remediation.update_remediation(session=session, remediation_id=action.id, data={"status": RemediationStatus.done,
                                   "evidence": "ST-1"}, expected_version=None, actor="chen", now=T0)
    with pytest.raises(Forbidden) as refused:
        remediation.verify_remediation(session=session, remediation_id=action.id, actor="chen", now=T0)
    assert refused.value.code == "four_eyes"
    verified = remediation.verify_remediation(session=session, remediation_id=action.id, actor="lin", now=T0)
    assert verified.status == RemediationStatus.verified and verified.completed_by == "chen" and verified.verified_by == "lin"


# -- 10. the reportability decision -------------------------------------------------------------------------

def test_a_major_incident_decision_names_its_criteria_and_starts_doras_classification_clock(app, session, registry):
    catalogues = app.extensions["catalogues"]
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=10), policies=["twse", "eu_dora"])
    assert _clock(session, inc.id, "initial", "eu_dora").due_at == inc.aware_at + timedelta(hours=24)
    for criteria, field in ((["nope"], "criteria"), ([], "criteria")):
        with pytest.raises(ValidationFailed) as refused:
            incidents.decide_reportability(session=session, incident_id=inc.id, major=True, criteria=criteria, reason="x y z",
                                           actor="sup", registry=registry, catalogues=catalogues, now=T0)
        assert field in refused.value.errors
    incidents.decide_reportability(session=session, incident_id=inc.id, major=True, criteria=["core_system_down"],
                                   reason="core order entry down", actor="sup", registry=registry, catalogues=catalogues, now=T0)
    assert (inc.major_incident, inc.major_criteria, inc.major_decided_by, inc.major_decided_at) == (True, ["core_system_down"], "sup", T0)
    assert inc.classified_at == T0 and _clock(session, inc.id, "initial", "eu_dora").due_at == T0 + timedelta(hours=4)
    assert _events(session, inc.id, "reportability")[0].summary.startswith("Decided a major security incident (core_system_down)")


def test_the_severity_scale_and_the_criteria_name_their_source(app):
    catalogues = app.extensions["catalogues"]
    assert "資通安全事件通報及應變辦法" in catalogues.severity.source and len(catalogues.severity.entries) == 4
    assert catalogues.major_criteria.source and "trading_affected" in catalogues.criterion_keys()


def test_fired_escalations_of_a_withdrawn_clock_do_not_fire(session, registry):
    inc = factories.incident(session, registry, T0, aware_at=T0 - timedelta(minutes=5), trading_affected=True)
    incidents.update_incident(session=session, incident_id=inc.id, data={"trading_affected": False}, expected_version=None,
                              actor="a", registry=registry, now=T0)
    fired = fire_due_alerts(session=session, now=T0 + timedelta(hours=1), engine_id="t", zone=registry.zone)[1]
    assert all(n.clock_key != "public_notice" for n in fired)
