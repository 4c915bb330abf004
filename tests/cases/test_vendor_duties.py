"""Vendor duties on the one clock: a duty warns, escalates and is counted exactly like a reporting deadline."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from incident_service.api_common import vendor_catalogues
from incident_service.cases import duties as duty_cases
from incident_service.cases import vendors as vendor_cases
from incident_service.errors import Conflict, ValidationFailed
from incident_service.incidents.models import Remediation
from incident_service.reporting.alerts import fire_due_alerts
from incident_service.reporting.models import AlertStage, Deadline, DeadlineState, Notification
from incident_service.vendors.access import FindingKind, findings_of
from incident_service.vendors.duties import VendorDuty
from incident_service.vendors.models import Contract
from tests import factories


def _vendor_with_contract(session, registry, now, **contract):
    vendor = factories.vendor(session, now)
    core = factories.system(session, now)
    vendor_cases.create_contract(session=session, registry=registry, clauses=vendor_catalogues().clauses, now=now, data={
        "vendor_id": vendor.id, "reference": f"C-{vendor.id}", "title": "Maintenance", "starts_on": date(2024, 1, 1),
        "system_ids": [core.id], **contract})
    return vendor, core


def _duty(session, vendor_id, kind, *, open_only=True):
    stmt = sa.select(VendorDuty).where(VendorDuty.vendor_id == vendor_id, VendorDuty.kind == kind)
    if open_only:
        stmt = stmt.where(VendorDuty.completed_at.is_(None))
    return session.scalars(stmt.order_by(VendorDuty.id.desc())).first()


def _deadline(session, duty):
    return session.scalar(sa.select(Deadline).where(Deadline.duty_id == duty.id))


def test_an_audit_completed_a_year_and_a_day_ago_makes_the_next_one_missed_and_escalated_once(session, registry, frozen):
    now = frozen()
    vendor, _ = _vendor_with_contract(session, registry, now)
    first = _duty(session, vendor.id, "annual_audit")
    assert first is not None, "a vendor with a contract in force owes the yearly audit"
    done_at = now - timedelta(days=366)
    duty_cases.complete_duty(session=session, duty_id=first.id, completed_at=done_at, evidence="AUD-2025-01",
                             findings=None, actions=[], actor="alice", registry=registry, now=now)
    next_one = _duty(session, vendor.id, "annual_audit")
    assert next_one.id != first.id and next_one.anchor_at == done_at
    deadline = _deadline(session, next_one)
    assert deadline.due_at < now and deadline.state_at(now) == DeadlineState.missed

    fired_first = fire_due_alerts(session=session, now=now, engine_id="a", zone=registry.zone)[1]
    fired_again = fire_due_alerts(session=session, now=now + timedelta(minutes=1), engine_id="b", zone=registry.zone)[1]
    escalations = session.scalars(sa.select(Notification).where(Notification.duty_id == next_one.id,
                                                                Notification.stage == AlertStage.escalation)).all()
    assert len(escalations) == 1 and fired_again == []
    assert escalations[0].vendor_id == vendor.id and escalations[0].incident_id is None
    assert any(n.duty_id == next_one.id for n in fired_first)


def test_completing_stops_the_clock_met_or_late_and_findings_become_remediation(session, registry, frozen):
    now = frozen()
    vendor, _ = _vendor_with_contract(session, registry, now)
    duty = _duty(session, vendor.id, "annual_audit")
    deadline = _deadline(session, duty)
    late = now - timedelta(hours=1)
    assert deadline.due_at < late, "the contract began in 2024: its first yearly audit fell due in 2025"
    duty_cases.complete_duty(session=session, duty_id=duty.id, completed_at=late, evidence="AUD-7",
                             findings="Backups untested", actions=[{"title": "Test the backups", "owner": "bob",
                                                                  "due_on": late.date() + timedelta(days=30)}],
                             actor="alice", registry=registry, now=frozen())
    session.expire_all()
    assert _deadline(session, duty).state == DeadlineState.met_late
    action = session.scalar(sa.select(Remediation).where(Remediation.duty_id == duty.id))
    assert action.title == "Test the backups" and action.owner == "bob" and action.incident_id is None
    with pytest.raises(Conflict):  # a completion is recorded once
        duty_cases.complete_duty(session=session, duty_id=duty.id, completed_at=late, evidence="again", findings=None,
                                 actions=[], actor="alice", registry=registry, now=frozen())


def test_a_completion_needs_evidence_a_past_time_and_comes_after_the_last(session, registry, frozen):
    now = frozen()
    vendor, _ = _vendor_with_contract(session, registry, now)
    duty = _duty(session, vendor.id, "annual_audit")
    with pytest.raises(ValidationFailed) as refused:
        duty_cases.complete_duty(session=session, duty_id=duty.id, completed_at=now + timedelta(hours=1), evidence=" ",
                                 findings=None, actions=[], actor="alice", registry=registry, now=now)
    assert set(refused.value.errors) == {"completed_at", "evidence"}
    assert _duty(session, vendor.id, "annual_audit").id == duty.id, "nothing was completed"


def test_remote_access_without_mfa_and_past_its_end_are_findings(session, registry, frozen):
    now = frozen()
    vendor, core = _vendor_with_contract(session, registry, now, ends_on=date(2027, 12, 31))
    today = now.astimezone(registry.zone).date()
    duty_cases.grant_access(session=session, vendor_id=vendor.id, registry=registry, now=now, data={
        "person": "Wang", "system_id": core.id, "access": "remote", "mfa": False, "approved_by": "carol",
        "starts_on": today - timedelta(days=10)})
    duty_cases.grant_access(session=session, vendor_id=vendor.id, registry=registry, now=now, data={
        "person": "Lin", "system_id": core.id, "access": "onsite", "mfa": True, "approved_by": "carol",
        "starts_on": today - timedelta(days=100), "ends_on": today - timedelta(days=1)})
    contracts = list(session.scalars(sa.select(Contract).where(Contract.vendor_id == vendor.id)))
    kinds = {(f.kind, f.person) for f in findings_of(vendor_grants(session, vendor.id), contracts, today)}
    assert (FindingKind.remote_without_mfa, "Wang") in kinds and (FindingKind.past_end_date, "Lin") in kinds
    assert _duty(session, vendor.id, "access_review") is not None, "holding access starts the six-monthly review"


def vendor_grants(session, vendor_id):
    from incident_service.vendors.access import grants_query

    return list(session.scalars(grants_query(vendor_id=vendor_id)))


def test_an_access_review_decides_every_grant_and_completes_the_review_duty(session, registry, frozen):
    now = frozen()
    vendor, core = _vendor_with_contract(session, registry, now)
    today = now.astimezone(registry.zone).date()
    keep = duty_cases.grant_access(session=session, vendor_id=vendor.id, registry=registry, now=now, data={
        "person": "Wang", "system_id": core.id, "access": "remote", "mfa": True, "approved_by": "carol",
        "starts_on": today - timedelta(days=10)})
    drop = duty_cases.grant_access(session=session, vendor_id=vendor.id, registry=registry, now=now, data={
        "person": "Chen", "system_id": core.id, "access": "privileged", "mfa": True, "approved_by": "carol",
        "starts_on": today - timedelta(days=10)})
    review_duty = _duty(session, vendor.id, "access_review")
    with pytest.raises(ValidationFailed) as refused:
        duty_cases.review_access(session=session, vendor_id=vendor.id, decisions=[{"grant_id": keep.id, "keep": True}],
                                 reviewed_at=now, note=None, actor="sam", registry=registry, now=now)
    assert f"#{drop.id}" in refused.value.errors["decisions"][0]
    duty_cases.review_access(session=session, vendor_id=vendor.id, reviewed_at=now, note="ok", actor="sam",
                             registry=registry, now=now,
                             decisions=[{"grant_id": keep.id, "keep": True}, {"grant_id": drop.id, "keep": False}])
    session.expire_all()
    assert session.get(VendorDuty, review_duty.id).completed_at == now
    assert _deadline(session, session.get(VendorDuty, review_duty.id)).state == DeadlineState.met
    revoked = {g.person for g in vendor_grants(session, vendor.id) if g.revoked_at is not None}
    assert revoked == {"Chen"}
    nxt = _duty(session, vendor.id, "access_review")
    assert nxt is not None and nxt.anchor_at == now, "the next review counts from this one"


def test_ending_a_contract_starts_its_checklist_with_a_clock_and_settling_it_revokes_access(session, registry, frozen):
    now = frozen()
    vendor, core = _vendor_with_contract(session, registry, now)
    today = now.astimezone(registry.zone).date()
    contract = session.scalars(sa.select(Contract).where(Contract.vendor_id == vendor.id)).one()
    duty_cases.grant_access(session=session, vendor_id=vendor.id, registry=registry, now=now, data={
        "person": "Wang", "system_id": core.id, "access": "remote", "mfa": True, "approved_by": "carol",
        "starts_on": today - timedelta(days=10)})
    termination = duty_cases.terminate_contract(session=session, contract_id=contract.id, ends_on=today + timedelta(days=5),
                                                reason="moving", successor="NewCo", actor="adam", registry=registry, now=now)
    duty = _duty(session, vendor.id, "termination")
    deadline = _deadline(session, duty)
    assert deadline.state == DeadlineState.pending and deadline.due_at == now + timedelta(days=30)
    keys = [item.key for item in termination.items]
    assert {"access_revoked", "assets_returned", "successor_transfer", "confidentiality_confirmed"} <= set(keys)
    for key in keys:
        duty_cases.settle_termination_item(session=session, contract_id=contract.id, key=key, reference="CERT-1",
                                           not_applicable=False, note=None, actor="adam", registry=registry, now=now)
    session.expire_all()
    assert all(g.revoked_at is not None for g in vendor_grants(session, vendor.id))
    assert _deadline(session, session.get(VendorDuty, duty.id)).state == DeadlineState.met
    with pytest.raises(Conflict):
        duty_cases.terminate_contract(session=session, contract_id=contract.id, ends_on=today, reason=None,
                                      successor=None, actor="adam", registry=registry, now=now)


def test_syncing_twice_makes_no_second_occurrence(session, registry, frozen):
    now = frozen()
    vendor, _ = _vendor_with_contract(session, registry, now)
    before = session.scalar(sa.select(sa.func.count()).select_from(VendorDuty))
    duty_cases.sync_all_duties(session=session, registry=registry, now=now)
    duty_cases.sync_all_duties(session=session, registry=registry, now=now + timedelta(hours=1))
    assert session.scalar(sa.select(sa.func.count()).select_from(VendorDuty)) == before


def test_the_engines_hourly_pass_starts_a_certificate_warning_as_its_window_opens(app, session, registry, frozen):
    from incident_service.engine.duty_jobs import sync_duties
    from incident_service.jobapp import bind_engine_app

    now = frozen()
    vendor, _ = _vendor_with_contract(session, registry, now)
    vendor_cases.update_vendor(session=session, vendor_id=vendor.id, expected_version=None, registry=registry, now=now,
                               data={"certifications": [{"name": "ISO 27001", "expires_on": date(2027, 6, 30)}]})
    expiry = _duty(session, vendor.id, "certification_expiry")
    assert expiry is not None and _deadline(session, expiry).state == DeadlineState.pending
    session.delete(_deadline(session, expiry))  # as if a failed request had left it behind
    session.delete(expiry)
    session.commit()
    bind_engine_app(app)
    assert sync_duties("engine-1") >= 1
    again = _duty(session, vendor.id, "certification_expiry")
    assert again is not None and _deadline(session, again).due_at is not None


def test_editing_a_vendor_keeps_its_certificate_duty_and_a_renewal_moves_it(session, registry, frozen):
    now = frozen()
    vendor, _ = _vendor_with_contract(session, registry, now)
    certs = [{"name": "ISO 27001", "expires_on": date(2027, 6, 30)}]
    vendor_cases.update_vendor(session=session, vendor_id=vendor.id, expected_version=None, registry=registry, now=now,
                               data={"certifications": certs})
    first = _duty(session, vendor.id, "certification_expiry")
    vendor_cases.update_vendor(session=session, vendor_id=vendor.id, expected_version=None, registry=registry, now=now,
                               data={"notes": "edited", "certifications": certs})
    assert _duty(session, vendor.id, "certification_expiry").id == first.id, "an unrelated edit changes nothing"
    vendor_cases.update_vendor(session=session, vendor_id=vendor.id, expected_version=None, registry=registry, now=now,
                               data={"certifications": [{"name": "ISO 27001", "expires_on": date(2028, 6, 30)}]})
    renewed = _duty(session, vendor.id, "certification_expiry")
    assert renewed.id != first.id and renewed.certification_id == first.certification_id
    assert _deadline(session, renewed).due_at > _deadline(session, first).due_at
    assert _deadline(session, first).state == DeadlineState.withdrawn
