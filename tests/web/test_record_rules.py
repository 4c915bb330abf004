"""The record's rules on the incident page: one filing form per policy clock, no waiver after the due time but a
justification, closing only when it can work, the policies and the reportability decision by a supervisor."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from incident_service.incidents.models import TimelineEvent
from incident_service.reporting.models import Deadline, DeadlineState


def _deadlines(session, incident):
    return {(d.policy_key, d.clock_key): d for d in session.scalars(sa.select(Deadline).where(Deadline.incident_id == incident.id))}


def test_one_record_filing_form_per_policy_clock_and_each_stops_only_its_own(world, web, session, frozen):
    incident = world.incident(aware_at=frozen() - timedelta(minutes=10), policies=["twse", "eu_dora"])
    deadlines = _deadlines(session, incident)
    twse, dora = deadlines[("twse", "initial")], deadlines[("eu_dora", "initial")]
    web.login("oncall")
    page = web.get(f"/incidents/{incident.id}?lang=en").get_data(as_text=True)
    assert f'action="/deadlines/{twse.id}/filing"' in page and f'action="/deadlines/{dora.id}/filing"' in page
    prefix = f"filing-{dora.id}-"
    r = web.post(f"/deadlines/{dora.id}/filing", {f"{prefix}submitted_at": "2026-11-21T02:09"}, prefix=prefix,
                 token_from=f"/incidents/{incident.id}")
    assert r.status_code == 302
    session.expire_all()
    deadlines = _deadlines(session, incident)
    assert deadlines[("eu_dora", "initial")].state == DeadlineState.met
    assert deadlines[("twse", "initial")].state == DeadlineState.pending


def test_a_missed_clock_offers_a_justification_not_a_waiver(world, web, session, frozen):
    incident = world.incident(aware_at=frozen() - timedelta(minutes=40))
    missed = _deadlines(session, incident)[("twse", "initial")]
    formal = _deadlines(session, incident)[("twse", "formal")]
    web.login("supervisor")
    page = web.get(f"/incidents/{incident.id}?lang=en").get_data(as_text=True)
    assert f'action="/deadlines/{missed.id}/justification"' in page and f'action="/deadlines/{missed.id}/waiver"' not in page
    assert f'action="/deadlines/{formal.id}/waiver"' in page
    # A waiver posted anyway (an old page) is refused and the page says why.
    r = web.post(f"/deadlines/{missed.id}/waiver", {f"waiver-{missed.id}-reason": "not owed"}, prefix=f"waiver-{missed.id}-",
                 token_from=f"/incidents/{incident.id}")
    assert r.status_code == 422 and "cannot be waived" in r.get_data(as_text=True)
    prefix = f"justify-{missed.id}-"
    r = web.post(f"/deadlines/{missed.id}/justification", {f"{prefix}reason": "ISAC portal was down"}, prefix=prefix,
                 token_from=f"/incidents/{incident.id}")
    assert r.status_code == 302
    page = web.get(f"/incidents/{incident.id}?lang=en").get_data(as_text=True)
    assert "ISAC portal was down" in page and "It stays missed in every on-time rate." in page
    session.expire_all()
    assert _deadlines(session, incident)[("twse", "initial")].state_at(frozen()) == DeadlineState.missed


def test_the_close_button_is_disabled_with_the_reason_while_it_cannot_work(world, web, frozen):
    incident = world.incident(aware_at=frozen() - timedelta(minutes=5), service_down_at=frozen() - timedelta(minutes=6))
    web.login("supervisor")
    page = web.get(f"/incidents/{incident.id}?lang=en").get_data(as_text=True)
    button = re.search(r'<button type="submit" disabled aria-disabled="true" aria-describedby="close-reason">Close the incident</button>', page)
    assert button, "the button is disabled and points to its reason"
    reason = page.split('id="close-reason"')[1].split("</span>")[0]
    assert "The service is still down: record its restoration before closing." in reason
    r = web.post(f"/incidents/{incident.id}/status", {"status-status": "closed", "status-version": str(incident.version)},
                 prefix="status-", token_from=f"/incidents/{incident.id}")
    assert r.status_code == 422 and "record when it was restored" in r.get_data(as_text=True)


def test_a_supervisor_changes_the_policies_with_a_reason_and_decides_reportability(world, web, session, frozen):
    incident = world.incident(aware_at=frozen() - timedelta(minutes=5))
    web.login("supervisor")
    url = f"/incidents/{incident.id}"
    r = web.post(f"{url}/policies", {"policies-policies": ["twse", "eu_dora"], "policies-reason": ""}, prefix="policies-", token_from=url)
    assert r.status_code == 422 and 'id="policies-reason-error"' in r.get_data(as_text=True)
    r = web.post(f"{url}/policies", {"policies-policies": ["twse", "eu_dora"], "policies-reason": "EU parent company"},
                 prefix="policies-", token_from=url)
    assert r.status_code == 302
    session.expire_all()
    assert set(p for p, _ in _deadlines(session, incident)) == {"twse", "eu_dora"}
    r = web.post(f"{url}/reportability", {"major-major": "yes", "major-criteria": ["core_system_down"],
                                          "major-reason": "core order entry down"}, prefix="major-", token_from=url)
    assert r.status_code == 302
    page = web.get(f"{url}?lang=en").get_data(as_text=True)
    assert "core order entry down" in page and "A core system&#39;s service is interrupted" in page
    kinds = set(session.scalars(sa.select(TimelineEvent.kind).where(TimelineEvent.incident_id == incident.id)))
    assert {"policies_changed", "reportability"} <= kinds


def test_an_on_call_engineer_sees_no_supervisor_forms(world, web, frozen):
    incident = world.incident(aware_at=frozen() - timedelta(minutes=40))
    web.login("oncall")
    page = web.get(f"/incidents/{incident.id}?lang=en").get_data(as_text=True)
    assert "/justification" not in page and "/policies" not in page and "/reportability" not in page
    assert web.post(f"/incidents/{incident.id}/policies", {"policies-policies": ["twse"], "policies-reason": "x y z"},
                    prefix="policies-", token_from=f"/incidents/{incident.id}").status_code == 403
