"""No 5xx from any input on the web: every form answers every nasty value by showing itself again with the error
(4xx), and page query strings never fail."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from incident_service.auth.service import create_user
from incident_service.extensions import db
from incident_service.reporting.models import Deadline
from tests.conftest import T0


# -- every web form -------------------------------------------------------------------------------------

NASTY = {
    "nul": "a\x00b",
    "line_break": "a\r\nSet-Cookie: x=1",
    "control": "a\x1b[31mb",
    "early_date": "1999-12-31",
    "late_datetime": "2101-01-01T00:00",
    "year_one": "0001-01-01T00:00",
    "year_9999": "9999-12-31T23:59",
    "huge_int": "9" * 30,
    "very_huge_int": "9" * 5000,
    "negative": "-1",
    "nan": "NaN",
    "snan": "sNaN",
    "infinity": "1e999",
    "long": "x" * 20_000,
}
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
FIELD = re.compile(r'<(?:input|textarea|select)\b[^>]*\bname="([^"]+)"', re.S)


def _forms(html: str, page: str):
    for attrs, inner in FORM.findall(html):
        method = re.search(r'method="(\w+)"', attrs)
        if not method or method.group(1).lower() != "post" or "multipart" in attrs:
            continue
        action = re.search(r'action="([^"]*)"', attrs)
        url = action.group(1).replace("&amp;", "&") if action else page
        names = sorted(set(FIELD.findall(inner)))
        token = re.search(r'name="(?:[\w-]+-)?csrf_token"[^>]*value="([^"]+)"', inner)
        yield url, [n for n in names if not n.endswith("csrf_token")], (token.group(1) if token else None)


def _pages(world, session):
    incident = world.incident(title="forms", trading_affected=True)
    deadline = session.scalars(sa.select(Deadline).where(Deadline.incident_id == incident.id)).first()
    assert deadline is not None
    return ["/incidents/new", f"/incidents/{incident.id}", "/admin/vendors/new", "/admin/systems/new",
            "/admin/contracts/new", f"/admin/vendors/{world.vendor.id}/edit", f"/admin/systems/{world.core.id}/edit",
            f"/admin/contracts/{world.contract.id}/edit", "/admin/notify/channels/new", "/admin/notify/rules/new",
            "/admin/users", "/admin/tokens", "/notify/preferences", "/account/password"]


def test_every_web_form_answers_every_nasty_value_with_a_4xx_form_never_a_500(app, client, world, web, session):
    app.config["MFA_REQUIRED"] = False
    app.config["LOGIN_RATE_LIMIT"] = "100000 per minute"
    app.config["TOKEN_RATE_LIMIT"] = "100000 per minute"
    user = web.login("oncall", "supervisor", "auditor", "admin", username="everyone")
    session.commit()
    failures, posted = [], 0
    for page in _pages(world, session):
        html = web.get(page).get_data(as_text=True)
        for url, names, token in _forms(html, page):
            if url.endswith("/logout") or "/delete" in url or url.endswith(("/disable", "/reset-mfa")):
                continue  # these take no input: they would only end the test's own session or data
            for label, value in NASTY.items():
                data = {name: value for name in names}
                if token:
                    data.update({n: token for n in re.findall(r'name="([\w-]*csrf_token)"', html)})
                r = client.post(url, data=data)
                posted += 1
                if r.status_code >= 500 or (r.status_code < 400 and r.status_code != 302):
                    failures.append(f"{url} {label} → {r.status_code}")
                elif r.status_code in (400, 422) and r.mimetype == "text/html":
                    text = r.get_data(as_text=True)
                    if "error" not in text:
                        failures.append(f"{url} {label} → {r.status_code} without an error shown")
            session.expire_all()
    assert posted > 300
    assert failures == [], '\n'.join(failures)
    assert user is not None


@pytest.mark.parametrize("url", ["/login", "/login/mfa", "/login/mfa/setup"])
def test_the_login_forms_answer_every_nasty_value_with_a_4xx(app, client, make_user_everywhere, url):
    app.config["LOGIN_RATE_LIMIT"] = "100000 per minute"
    for label, value in NASTY.items():
        page = client.get("/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
        r = client.post(url, data={"username": value, "password": value, "code": value, "reset_code": value,
                                   "csrf_token": token})
        assert r.status_code < 500 and r.status_code != 200, (label, r.status_code)


@pytest.fixture
def make_user_everywhere(app):
    return create_user(session=db.session, username="alice", password="correct horse battery", roles=["oncall"],
                       now=T0)


@pytest.mark.parametrize("url", ["/incidents?q=a%00b", "/incidents?vendor_id=99999999999999", "/incidents?page=" + "9" * 40,
                                 "/board?vendor_id=" + "9" * 20, "/audit?actor=%00", "/audit?date_from=0001-01-01",
                                 "/audit?page=99999999999999999", "/vendors/1?aware_from=0001-01-01",
                                 "/vendors/1?aware_to=9999-12-31", "/board/feed?min_severity=" + "9" * 5000])
def test_page_query_strings_never_cause_a_500(world, web, url):
    web.login("supervisor", "auditor", username="reader")
    r = web.get(url.replace("/vendors/1", f"/vendors/{world.vendor.id}"))
    assert 200 <= r.status_code < 500, (url, r.status_code)


def test_an_out_of_range_date_on_a_form_is_shown_beside_the_field(world, web):
    web.login("oncall", username="oncall-dates")
    r = web.post("/incidents/new", {"vendor_id": world.vendor.id, "aware_at": "1999-12-31T23:00", "kind": "outage",
                                    "severity": "2", "title": "late"}, token_from="/incidents/new")
    assert r.status_code == 422 and "請輸入 2000-01-01 至明天之間的時間。" in r.get_data(as_text=True)  # in the page's language
