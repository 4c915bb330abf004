"""No 5xx from any input on the API: malformed bodies, values no record can hold, dates outside 2000–2100, huge
numbers, bad page sizes, a garbage If-Match, unknown query parameters each get our JSON error with a 4xx.
(The web forms' table test is tests/web/test_form_inputs.py.)"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from incident_service.auth.service import create_user
from incident_service.extensions import db
from incident_service.notify.channels import Outgoing, Transport, email_message
from incident_service.notify.models import ChannelKind, EventKind
from incident_service.reporting.models import Deadline
from tests import factories
from tests.conftest import T0


def _is_our_error(r) -> bool:
    return 400 <= r.status_code < 500 and r.is_json and set(r.json) == {"code", "message", "errors"}


@pytest.fixture
def world_api(client, registry, frozen):
    incident = factories.incident(db.session, registry, frozen())
    return {"incident": incident, "vendor_id": incident.vendor_id}


def _raw(client, method, url, body: bytes, content_type="application/json", **headers):
    return client.open(url, method=method, data=body, headers={"Content-Type": content_type, **headers})


def test_deeply_nested_json_is_refused_before_it_is_parsed(client):
    for depth in (33, 5000, 100_000):
        body = ("[" * depth + "]" * depth).encode()
        r = _raw(client, "POST", "/api/v1/vendors", body)
        assert r.status_code == 400 and _is_our_error(r) and "deeper" in r.json["message"]
    nested = {"name": "x", "category": "cloud"}
    for _ in range(10):
        nested = {"notes": nested}
    assert client.post("/api/v1/vendors", json=nested).status_code == 422  # shallow enough: the schema answers


@pytest.mark.parametrize("body, field", [
    (b'{"name": "\\ud800", "category": "cloud"}', "name"),
    (b'{"name": "a\\u0000b", "category": "cloud"}', "name"),
    (b'{"name": "ok", "category": "cloud", "notes": "x\\udfff"}', "notes"),
    (b'{"name": "ok", "category": "cloud", "\\ud800": 1}', None),
    (b'{"name": "line\\nbreak", "category": "cloud"}', "name"),
    (b'{"name": "tab\\there", "category": "cloud"}', "name"),
    (b'{"name": "ok", "category": "cloud", "contact_phone": "1\\r\\nBcc: x"}', "contact_phone"),
])
def test_text_no_record_can_hold_gets_422_naming_the_field(client, body, field):
    r = _raw(client, "POST", "/api/v1/vendors", body)
    assert r.status_code == 422 and _is_our_error(r), r.get_data(as_text=True)
    if field:
        assert field in r.json["errors"]


@pytest.mark.parametrize("aware_at", ["1999-12-31T23:59:00+08:00", "2101-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00",
                                      "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z"])
def test_times_outside_2000_to_2100_get_422_naming_the_field(client, world_api, aware_at):
    r = client.post("/api/v1/incidents", json={"vendor_id": world_api["vendor_id"], "kind": "outage", "severity": 2,
                                               "title": "t", "aware_at": aware_at})
    assert r.status_code == 422 and "aware_at" in r.json["errors"], r.json
    r = client.get("/api/v1/incidents", query_string={"aware_from": aware_at})
    assert r.status_code == 422 and _is_our_error(r)


@pytest.mark.parametrize("day", ["1999-12-31", "2101-01-01", "0001-01-01", "9999-12-31"])
def test_dates_outside_2000_to_2100_get_422_naming_the_field(client, world_api, day):
    r = client.post("/api/v1/contracts", json={"vendor_id": world_api["vendor_id"], "reference": "C-1", "title": "t",
                                               "starts_on": day})
    assert r.status_code == 422 and "starts_on" in r.json["errors"], r.json
    r = client.post(f"/api/v1/incidents/{world_api['incident'].id}/remediations",
                    json={"action": "other", "title": "t", "owner": "o", "due_on": day})
    assert r.status_code == 422 and "due_on" in r.json["errors"]


@pytest.mark.parametrize("body", [
    b'{"vendor_id": 100000000000000000000000000000, "kind": "outage", "severity": 2, "title": "t", "aware_at": "2026-11-21T02:10:00+08:00"}',
    b'{"vendor_id": 1, "kind": "outage", "severity": 1e400, "title": "t", "aware_at": "2026-11-21T02:10:00+08:00"}',
    b'{"vendor_id": 1, "kind": "outage", "severity": NaN, "title": "t", "aware_at": "2026-11-21T02:10:00+08:00"}',
    b'{"vendor_id": 1, "kind": "outage", "severity": 2, "title": "t", "aware_at": "2026-11-21T02:10:00+08:00", "clients_affected": ' + b"9" * 5000 + b"}",
])
def test_huge_and_non_finite_numbers_get_422(client, body):
    r = _raw(client, "POST", "/api/v1/incidents", body)
    assert r.status_code in (400, 422) and _is_our_error(r), r.get_data(as_text=True)


@pytest.mark.parametrize("query", ["page=-1", "page=0", "page_size=-5", "page_size=0", "page_size=1000000",
                                   "page=" + "9" * 30, "page=99999999999", "page_size=abc", "page=" + "9" * 5000])
def test_negative_or_enormous_pages_get_422(client, query):
    r = client.get(f"/api/v1/incidents?{query}")
    assert r.status_code == 422 and _is_our_error(r), (query, r.get_data(as_text=True)[:200])


@pytest.mark.parametrize("header", ["garbage", '"abc"', "W/", '"' + "9" * 50 + '"', "1, 2", "\u00e9"])
def test_a_garbage_if_match_gets_400(client, world_api, header):
    r = client.patch(f"/api/v1/vendors/{world_api['vendor_id']}", json={"service_location": "Taipei"},
                     headers={"If-Match": header.encode("utf-8").decode("latin-1")})
    assert r.status_code == 400 and r.json["code"] == "bad_if_match" and "If-Match" in r.json["errors"]
    assert client.patch(f"/api/v1/vendors/{world_api['vendor_id']}", json={"service_location": "Taipei"},
                        headers={"If-Match": '"1"'}).status_code == 200


def test_a_body_that_is_not_json_gets_415_or_400(client):
    r = _raw(client, "POST", "/api/v1/vendors", b"name=x&category=cloud", "application/x-www-form-urlencoded")
    assert r.status_code == 415 and _is_our_error(r)
    r = _raw(client, "POST", "/api/v1/vendors", b"hello", "text/plain")
    assert r.status_code == 415 and _is_our_error(r)
    r = _raw(client, "POST", "/api/v1/vendors", b'{"name": ', "application/json")
    assert r.status_code == 400 and _is_our_error(r)
    r = _raw(client, "POST", "/api/v1/vendors", b'\xff\xfe{"x": 1}', "application/json")
    assert r.status_code == 400 and _is_our_error(r)


@pytest.mark.parametrize("url", ["/api/v1/incidents", "/api/v1/incidents/{id}", "/api/v1/health", "/api/v1/policies",
                                 "/api/v1/notify/summary", "/api/v1/deadlines", "/api/v1/audit-entries"])
def test_unknown_query_parameters_get_422_naming_them(app, api_as, world_api, url):
    r = api_as("admin", "supervisor", "auditor").get(url.format(id=world_api["incident"].id) + "?colour=red")
    assert r.status_code == 422 and _is_our_error(r) and "query.colour" in r.json["errors"], r.get_data(as_text=True)


def test_documented_query_parameters_still_work(client, world_api):
    assert client.get("/api/v1/incidents?status=open&page=1&page_size=10").status_code == 200
    assert client.get(f"/api/v1/vendors/{world_api['vendor_id']}/history?aware_from=2026-01-01T00:00:00Z").status_code == 200


def test_an_email_header_cannot_be_broken_by_a_title():
    out = Outgoing(message_id=1, idempotency_key="k", recipient="a@firm.test", attempt=1, sent_at=T0,
                   event_kind=EventKind.warning, subject="#1 down\r\nBcc: victim@evil.example\r\n\r\nbody", text_zh="z",
                   text_en="e", link=None, facts={},
                   transport=Transport(kind=ChannelKind.email, name="m", from_address="soc@firm.test"))
    message = email_message(out)
    assert "\n" not in message["Subject"] and message["Bcc"] is None
    assert "Bcc: victim" not in message.as_string().split("\n\n", 1)[0].replace(message["Subject"], "")
