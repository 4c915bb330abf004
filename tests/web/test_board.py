"""The supervisor's board: every running clock of the open incidents, overdue on top, counted from the server's time."""
from __future__ import annotations

import re
from datetime import timedelta

from incident_service.cases.incidents import update_incident
from incident_service.incidents.models import IncidentStatus
from incident_service.reporting import board
from incident_service.reporting.models import DeadlineState
from incident_service.cases.filings import record_filing, waive_deadline
from tests.web.conftest import count_queries


def _feed(web, query=""):
    response = web.get(f"/board/feed{query}")
    assert response.status_code == 200
    return response.get_json()


def test_rows_are_sorted_overdue_first_then_by_time_left_with_their_colour_band(world, web, frozen):
    now = frozen()
    late = world.incident(title="late", aware_at=now - timedelta(minutes=40))
    soon = world.incident(title="soon", aware_at=now - timedelta(minutes=25))
    fresh = world.incident(title="fresh", aware_at=now - timedelta(minutes=1))
    web.login("supervisor")
    data = _feed(web)
    assert data["server_now"] == "2026-11-20T18:10:00Z"
    firsts = [(r["incident_title"], r["clock"], r["band"], r["seconds_left"]) for r in data["rows"][:3]]
    assert firsts == [("late", "initial", "overdue", -600), ("soon", "initial", "warning", 300), ("fresh", "initial", "plenty", 1740)]
    assert data["rows"][1]["warning_seconds"] == 600
    assert data["counts"] == {"overdue": 1, "warning": 1, "plenty": 7, "met": 0}
    page = web.get("/board").get_data(as_text=True)
    assert page.index(f'data-incident-id="{late.id}"') < page.index(f'data-incident-id="{soon.id}"') < page.index(f'data-incident-id="{fresh.id}"')
    assert re.search(r'class="band-overdue"[^>]*>\s*<td class="left"><span class="countdown" data-seconds-left="-600"', page)
    assert "已逾期" in page and "即將到期" in page and "時間充裕" in page  # a word with every colour


def test_a_met_deadline_shows_as_met_for_a_while_and_closed_incidents_leave_the_board(world, web, session, registry, frozen):
    now = frozen()
    incident = world.incident(title="filed", aware_at=now - timedelta(minutes=20))
    record_filing(session=session, incident_id=incident.id, data={"clock": "initial", "submitted_at": now - timedelta(minutes=1)},
                  actor="t", registry=registry, now=now)
    web.login("supervisor")
    rows = [r for r in _feed(web)["rows"] if r["clock"] == "initial"]
    assert [(r["band"], r["state"], r["seconds_left"]) for r in rows] == [("met", "met", None)]
    assert _feed(web)["rows"][-1]["band"] == "met"  # met rows come last
    frozen.advance(minutes=31)
    assert not [r for r in _feed(web)["rows"] if r["clock"] == "initial"]
    for d in incident_deadlines(session, incident.id):
        if d.state in (DeadlineState.pending, DeadlineState.missed):
            waive_deadline(session=session, deadline_id=d.id, reason="drill", actor="t", registry=registry, now=frozen())
    update_incident(session=session, incident_id=incident.id, data={"status": IncidentStatus.closed}, expected_version=None,
                    actor="t", registry=registry, now=frozen())
    assert _feed(web)["rows"] == []
    assert "目前沒有進行中的時限" in web.get("/board").get_data(as_text=True)


def incident_deadlines(session, incident_id):
    from incident_service.reporting.service import incident_deadlines as load

    return load(session, incident_id)


def test_filters_by_vendor_and_severity(world, web, frozen):
    world.incident(title="ours", severity=2)
    world.incident(title="theirs", severity=4, vendor_id=world.other.id)
    web.login("supervisor")
    assert {r["incident_title"] for r in _feed(web, f"?vendor_id={world.other.id}")["rows"]} == {"theirs"}
    assert {r["incident_title"] for r in _feed(web, "?min_severity=3")["rows"]} == {"theirs"}
    assert {r["incident_title"] for r in _feed(web, "?min_severity=9&vendor_id=abc")["rows"]} == {"ours", "theirs"}
    page = web.get(f"/board?vendor_id={world.other.id}").get_data(as_text=True)
    assert f'data-feed="/board/feed?vendor_id={world.other.id}"' in page and "theirs" in page and "ours" not in page


def test_the_board_reads_in_the_same_number_of_queries_for_3_or_30_incidents(app, world, web, frozen):
    web.login("supervisor")
    for n in range(3):
        world.incident(title=f"i{n}", trading_affected=True)
    web.get("/board/feed"), web.get("/board")  # recorded in the audit trail once; the repeats below are coalesced
    few = count_queries(app, lambda: web.get("/board/feed"))
    page_few = count_queries(app, lambda: web.get("/board"))
    for n in range(27):
        world.incident(title=f"j{n}", vendor_id=world.other.id)
    assert count_queries(app, lambda: web.get("/board/feed")) == few
    assert count_queries(app, lambda: web.get("/board")) == page_few
    assert len(_feed(web)["rows"]) == 3 * 4 + 27 * 3


def test_every_role_reads_the_board_but_only_logged_in(world, web, client):
    assert client.get("/board/feed").status_code == 302
    web.login("auditor")
    assert web.get("/board").status_code == 200


def test_the_band_of_a_deadline():
    assert board.band(DeadlineState.pending, 601, 600) == board.PLENTY
    assert board.band(DeadlineState.pending, 600, 600) == board.WARNING
    assert board.band(DeadlineState.missed, -1, 600) == board.OVERDUE
    assert board.band(DeadlineState.met_late, None, 600) == board.MET
    assert board.band(DeadlineState.pending, 100, None) == board.PLENTY
    assert board.band(DeadlineState.waived, None, 600) is None


def test_the_home_page_sends_each_role_to_its_work(web):
    web.login("supervisor")
    assert web.get("/").location.endswith("/board")
    web.login("oncall", username="o")
    assert web.get("/").location.endswith("/incidents/new")
    web.login("auditor", username="a")
    assert web.get("/").location.endswith("/vendors")
