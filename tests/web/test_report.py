"""The on-call engineer's report form: a minute, on a phone, errors beside the fields, nothing lost."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from incident_service.incidents.models import Incident
from incident_service.reporting.models import Deadline


def _form(world, **overrides):
    data = {
        "vendor_id": str(world.vendor.id),
        "system_ids": [str(world.core.id)],
        "aware_at": "2026-11-21T01:45",  # Taipei: 25 minutes before the frozen now (02:10)
        "kind": "outage",
        "severity": "3",
        "title": "APP 無法登入",
        "description": "OS patch re-enabled the firewall's default block",
        "trading_affected": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_form_opens_with_awareness_now_in_the_firms_zone(world, web):
    web.login("oncall")
    page = web.get("/incidents/new").get_data(as_text=True)
    assert 'value="2026-11-21T02:10"' in page  # 18:10 UTC is 02:10 in Taipei
    assert world.vendor.name in page and world.core.name in page
    assert 'name="viewport"' in page


def test_submitting_opens_the_incident_page_with_its_deadlines_counting(world, web, session):
    web.login("oncall")
    response = web.post("/incidents/new", _form(world))
    assert response.status_code == 302
    incident = session.scalars(sa.select(Incident)).one()
    assert response.location.endswith(f"/incidents/{incident.id}")
    assert incident.aware_at == world.now - timedelta(minutes=25)
    assert [s.id for s in incident.systems] == [world.core.id] and incident.trading_affected
    page = web.get(response.location).get_data(as_text=True)
    # The initial report is due 30 minutes after awareness: 5 minutes left, counting from the server's seconds.
    initial = re.search(r'id="deadline-(\d+)"[^>]*data-deadline="initial"', page)
    assert initial
    assert 'data-seconds-left="300"' in page and "0:05:00" in page
    assert "即時公告" in page  # trading affected: the public notice clock runs too


def test_a_refused_form_keeps_what_was_typed_and_says_why_beside_the_field(world, web, session):
    web.login("oncall")
    response = web.post("/incidents/new", _form(world, title="", aware_at="2026-11-21T01:45"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="title-error"[^>]*>請輸入簡短標題。', page)
    assert 'aria-describedby="title-error"' in page or 'title-error' in page
    assert "OS patch re-enabled the firewall&#39;s default block" in page
    assert 'value="2026-11-21T01:45"' in page
    assert re.search(rf'<option selected value="{world.vendor.id}">|<option value="{world.vendor.id}" selected>', page)
    assert re.search(rf'checked[^>]*value="{world.core.id}"|value="{world.core.id}"[^>]*checked', page)
    assert session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0


def test_a_rule_of_the_service_is_shown_beside_its_field(world, web, session):
    web.login("oncall")
    response = web.post("/incidents/new", _form(world, aware_at="2026-11-21T03:00"))  # 50 minutes ahead
    assert response.status_code == 422
    assert re.search(r'id="aware_at-error"[^>]*>This time is in the future.', response.get_data(as_text=True))
    assert session.scalar(sa.select(sa.func.count()).select_from(Deadline)) == 0


def test_nonsense_input_is_refused_without_an_error_page(world, web):
    web.login("oncall")
    response = web.post("/incidents/new", _form(world, vendor_id="abc", severity="9", aware_at="yesterday", system_ids=["x"]))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="aware_at-error"' in page and 'id="vendor_id-error"' in page


def test_a_vendor_that_vanished_is_a_field_error(world, web, session):
    web.login("oncall")
    response = web.post("/incidents/new", _form(world, vendor_id="999"))
    assert response.status_code == 422
    assert 'id="vendor_id-error"' in response.get_data(as_text=True)


def test_only_roles_that_record_incidents_get_the_form(world, web, client):
    assert client.get("/incidents/new").status_code == 302  # to the login page
    web.login("auditor")
    assert web.get("/incidents/new").status_code == 403
