"""The auditor's vendor pages: figures per vendor in a bounded number of queries, history by period, exports."""
from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook

from incident_service.reporting.history import vendor_history
from incident_service.cases.filings import record_filing
from incident_service.reporting.figures import clock_order, vendor_summaries
from tests.web.conftest import count_queries


def _history_world(world, session, registry, frozen):
    now = frozen()
    # Restored after 60 min against an RTO of 30: a breach. Data lost 10 min against an RPO of 5: a breach.
    breach = world.incident(title="=HYPERLINK(\"x\")", aware_at=now - timedelta(days=40), system_ids=[world.core.id],
                            contract_id=world.contract.id, service_down_at=now - timedelta(days=40),
                            service_restored_at=now - timedelta(days=40) + timedelta(minutes=60),
                            data_loss_from=now - timedelta(days=40, minutes=10), data_loss_to=now - timedelta(days=40))
    record_filing(session=session, incident_id=breach.id, data={"clock": "initial", "submitted_at": breach.aware_at + timedelta(minutes=10)},
                  actor="t", registry=registry, now=now, may_backdate=True)
    quick = world.incident(title="quick", aware_at=now - timedelta(hours=2), system_ids=[world.core.id],
                           service_down_at=now - timedelta(hours=2), service_restored_at=now - timedelta(hours=2) + timedelta(minutes=10))
    world.incident(title="elsewhere", vendor_id=world.other.id)
    return breach, quick


def test_the_list_shows_incidents_on_time_rates_breaches_and_open_remediation(world, web, session, registry, frozen):
    _history_world(world, session, registry, frozen)
    web.login("auditor")
    page = web.get("/vendors").get_data(as_text=True)
    start = page.index("鼎新資訊")
    row = page[start:page.index("</tr>", start)]
    assert '<td class="num">2</td>' in row  # incidents
    assert "初步通報 50.0%" in row  # one met, one missed (the quick one's initial report is overdue)
    assert '<td class="num bad">1</td>' in row  # one RTO and one RPO breach


def test_the_sql_aggregates_agree_with_each_incidents_own_figures(world, session, registry, frozen):
    _history_world(world, session, registry, frozen)
    figures = vendor_summaries(session=session, now=frozen(), zone=registry.zone, clock_order=clock_order(registry))[world.vendor.id]
    history = vendor_history(session=session, vendor_id=world.vendor.id, now=frozen(), zone=registry.zone, page_size=None)
    rows = history.incidents
    assert figures.incidents == len(rows) == 2
    assert figures.rto_breaches == sum(r.derived["outage"]["rto_breached"] is True for r in rows) == 1
    assert figures.rpo_breaches == sum(r.derived["data_loss"]["rpo_breached"] is True for r in rows) == 1
    assert figures.vendor_notification_breaches == sum(r.derived["vendor_notification"]["breached"] is True for r in rows)
    states = [d.state for r in rows for d in r.deadlines if d.clock == "initial"]
    initial = next(c for c in figures.clocks if c.clock == "initial")
    assert (initial.met, initial.missed, initial.pending) == (states.count("met"), states.count("missed"), states.count("pending"))
    assert [c.clock for c in figures.clocks] == ["initial", "formal", "closure"]


def test_the_vendor_pages_query_in_bounded_numbers(app, world, web, session, registry, frozen):
    _history_world(world, session, registry, frozen)
    web.login("auditor")
    page = f"/vendors/{world.vendor.id}/incidents"  # read here: inside the count, the test's own reload would be counted
    web.get(page)  # a list read of incident records: recorded once, then coalesced
    list_few = count_queries(app, lambda: web.get("/vendors"))
    page_few = count_queries(app, lambda: web.get(page))
    for n in range(20):
        world.incident(title=f"more {n}", system_ids=[world.core.id, world.backoffice.id],
                       service_down_at=frozen() - timedelta(minutes=5))
    assert count_queries(app, lambda: web.get("/vendors")) == list_few
    assert count_queries(app, lambda: web.get(page)) == page_few


def test_the_vendor_page_shows_contracts_systems_and_history_by_period(world, web, session, registry, frozen):
    _history_world(world, session, registry, frozen)
    web.login("auditor")
    page = web.get(f"/vendors/{world.vendor.id}/contracts").get_data(as_text=True)
    assert world.contract.reference in page and "APP電子下單系統" in page and "(30 / 5)" in page
    history = f"/vendors/{world.vendor.id}/incidents"
    page = web.get(history).get_data(as_text=True)
    assert "quick" in page and "HYPERLINK" in page
    page = web.get(f"{history}?aware_from=2026-11-01&aware_to=2026-11-21").get_data(as_text=True)
    assert "quick" in page and "HYPERLINK" not in page
    bad = web.get(f"{history}?aware_from=2026-11-21&aware_to=2026-11-01")
    assert bad.status_code == 422 and "期間結束日不可早於起始日" in bad.get_data(as_text=True)
    assert web.get(f"{history}?aware_from=nonsense").status_code == 422
    assert web.get("/vendors/999").status_code == 404 and web.get("/vendors/999/incidents").status_code == 404


def test_csv_export_opens_in_excel_and_keeps_formulas_out(world, web, session, registry, frozen):
    _history_world(world, session, registry, frozen)
    web.login("auditor")
    response = web.get(f"/vendors/{world.vendor.id}/history.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    header, *rows = text.strip().splitlines()
    assert header.startswith("事件,知悉時間,標題") and "初步通報 (twse)" in header
    assert len(rows) == 2 and "'=HYPERLINK" in text and "2026-10-12 02:10" in text


def test_xlsx_export_is_a_workbook_with_a_row_per_incident(world, web, session, registry, frozen):
    _history_world(world, session, registry, frozen)
    web.login("auditor")
    response = web.get(f"/vendors/{world.vendor.id}/history.xlsx?lang=en")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Incident", "Aware at", "Title") and len(rows) == 3
    breach = next(r for r in rows[1:] if "HYPERLINK" in r[2])
    assert breach[2].startswith("'=") and breach[6] == 60 and breach[7] == "Yes"


def test_exports_are_for_roles_that_export(world, web):
    web.login("oncall")
    assert web.get(f"/vendors/{world.vendor.id}/history.csv").status_code == 403
    assert web.get(f"/vendors/{world.vendor.id}").status_code == 200


def test_exports_carry_filing_times_and_the_justification_beside_a_miss(world, web, session, registry, frozen):
    from incident_service.cases.filings import justify_deadline
    from incident_service.reporting.service import incident_deadlines

    _breach, quick = _history_world(world, session, registry, frozen)
    missed = next(d for d in incident_deadlines(session, quick.id) if d.clock_key == "initial")
    justify_deadline(session=session, deadline_id=missed.id, reason="Reporting portal down", actor="sup", now=frozen())
    web.login("auditor")
    sheet = load_workbook(io.BytesIO(web.get(f"/vendors/{world.vendor.id}/history.xlsx?lang=en").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    filed, justified = header.index("Filings (submitted / recorded)"), header.index("Justifications of misses")
    by_title = {r[2]: r for r in rows[1:]}
    assert by_title["quick"][justified] == "Initial report (twse): Reporting portal down — sup, 2026-11-21 02:10"
    assert by_title["quick"][header.index("Initial report (twse)")] == "missed"
    assert by_title["'=HYPERLINK(\"x\")"][filed] == "Initial report (twse): 2026-10-12 02:20 / 2026-11-21 02:10"
    page = web.get(f"/vendors/{world.vendor.id}/incidents").get_data(as_text=True)
    assert "Reporting portal down" in page
