"""Every list and page reads in a fixed number of SQL statements, whatever the page size or the data volume; the
board feed and the deadline list answer 304 while nothing but the time changed."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from incident_service.cases import filings as filing_cases
from incident_service.extensions import db
from incident_service.incidents.models import RemediationAction
from incident_service.incidents.remediation import add_remediation
from tests import factories
from tests.conftest import T0

API = [
    "/api/v1/incidents?page_size=50",
    "/api/v1/incidents?page_size=5",
    "/api/v1/incidents/{incident}",
    "/api/v1/deadlines",
    "/api/v1/deadlines?state=missed",
    "/api/v1/vendors/{vendor}/history",
    "/api/v1/vendors/{vendor}/history?page_size=5",
    "/api/v1/vendors",
    "/api/v1/contracts",
    "/api/v1/systems",
    "/api/v1/notifications",
    "/api/v1/incidents/{incident}/timeline",
    "/api/v1/incidents/{incident}/filings",
    "/api/v1/incidents/{incident}/drafts",
    "/api/v1/incidents/{incident}/remediations",
]
PAGES = [
    "/board",
    "/board/feed",
    "/incidents",
    "/incidents/{incident}",
    "/incidents/{incident}/print",
    "/vendors",
    "/vendors/{vendor}",
    "/vendors/{vendor}/incidents",
    "/vendors/{vendor}/contracts",
    "/vendors/{vendor}/changes",
    "/vendors/{vendor}/duties",
    "/contracts/clause-gaps",
    "/vendors/{vendor}/history.csv",
]


def _grow(session, registry, vendor, systems, contract, n):
    """n more incidents of every shape: outages, data loss, filings, remediation, two regimes, a second vendor."""
    other = factories.vendor(session, T0)
    factories.contract(session, T0, other.id, [systems[1].id])
    for k in range(n):
        aware = T0 - timedelta(days=k % 40, minutes=5 + k)
        inc = factories.incident(session, registry, T0, vendor_id=vendor.id if k % 3 else other.id, aware_at=aware,
                                 system_ids=[s.id for s in systems[: 1 + k % 2]], contract_id=contract.id if k % 3 and k % 2 else None,
                                 service_down_at=aware, service_restored_at=aware + timedelta(minutes=45) if k % 4 else None,
                                 data_loss_from=aware - timedelta(minutes=7), data_loss_to=aware,
                                 trading_affected=k % 5 == 0, policies=["twse", "eu_dora"] if k % 6 == 0 else None)
        if k % 2:
            filing_cases.record_filing(session=session, incident_id=inc.id, actor="t", registry=registry, now=T0,
                                       may_backdate=True, data={"clock": "initial", "policy": "twse",
                                                                "submitted_at": aware + timedelta(minutes=20 + k % 20)})
        add_remediation(session=session, incident_id=inc.id, actor="t", now=T0, data={
            "action": RemediationAction.code_review, "title": f"Review {k}", "owner": "Ops", "due_on": date(2026, 12, 1)})


@pytest.fixture
def data(session, registry, frozen):
    vendor = factories.vendor(session, T0)
    systems = [factories.system(session, T0), factories.system(session, T0, is_core=False)]
    contract = factories.contract(session, T0, vendor.id, [s.id for s in systems], availability_target=99.9,
                                  service_levels=[{"system_id": systems[0].id, "rto_minutes": 20}], vendor_notify_minutes=15)
    _grow(session, registry, vendor, systems, contract, 3)
    first = factories.incident(session, registry, T0, vendor_id=vendor.id, system_ids=[systems[0].id], contract_id=contract.id)
    return {"vendor": vendor, "systems": systems, "contract": contract, "incident": first,
            "grow": lambda n: _grow(session, registry, vendor, systems, contract, n)}


def _statements(app, get, url):
    get(url)  # first use: a token's last use is recorded once a minute, which is not a read
    count = []

    def listener(*_args):
        count.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        response = get(url)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:300])
    return len(count)


def test_every_api_list_and_answer_reads_in_a_fixed_number_of_statements(app, client, data):
    urls = [u.format(incident=data["incident"].id, vendor=data["vendor"].id) for u in API]
    few = {u: _statements(app, client.get, u) for u in urls}
    data["grow"](25)
    many = {u: _statements(app, client.get, u) for u in urls}
    assert many == few


def test_every_page_reads_in_a_fixed_number_of_statements(app, web, data):
    web.login("supervisor", "auditor")
    urls = [u.format(incident=data["incident"].id, vendor=data["vendor"].id) for u in PAGES]
    few = {u: _statements(app, web.get, u) for u in urls}
    data["grow"](25)
    many = {u: _statements(app, web.get, u) for u in urls}
    assert many == few


def test_the_board_feed_is_json_rows_and_answers_304_until_something_changes(web, session, registry, frozen, data):
    web.login("supervisor")
    first = web.get("/board/feed")
    body = first.get_json()
    assert "html" not in body and body["rows"] and {"due_epoch", "band", "label_zh"} <= set(body["rows"][0])
    etag = first.headers["ETag"]
    frozen.advance(seconds=20)  # only time passes: the page counts down by itself
    again = web.get("/board/feed", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    filing_cases.record_filing(session=session, incident_id=data["incident"].id, actor="t", registry=registry, now=frozen(),
                               data={"clock": "initial", "submitted_at": frozen()})
    changed = web.get("/board/feed", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_the_deadline_list_answers_304_while_only_the_seconds_move(client, frozen, data):
    first = client.get("/api/v1/deadlines")
    etag = first.headers["ETag"]
    frozen.advance(seconds=30)
    assert client.get("/api/v1/deadlines", headers={"If-None-Match": etag}).status_code == 304
    frozen.advance(hours=1)  # initial reports fall due: states change
    assert client.get("/api/v1/deadlines", headers={"If-None-Match": etag}).status_code == 200
