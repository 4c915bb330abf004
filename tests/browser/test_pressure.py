"""Pages under pressure, in Chromium: an axe-core scan of every page in both languages (readable on every band
colour), the board and lists as cards on a 390 px phone with a small header, the wall screen read from five metres,
and a report typed at 2 a.m. that survives the session's end."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe

from incident_service.cases.incidents import open_incident
from incident_service.extensions import db
from incident_service.incidents.models import IncidentKind
from tests import factories
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser
SERIOUS = {"serious", "critical"}
TAIPEI = ZoneInfo("Asia/Taipei")


@pytest.fixture
def floor(app, user):
    """A vendor with a contract, and three incidents: one overdue (red), one due soon, one with clocks on track."""
    now = datetime.now(UTC)
    vendor = factories.vendor(db.session, now, name="鼎新資訊系統股份有限公司")
    system = factories.system(db.session, now, name="APP電子下單系統", rto_minutes=30, rpo_minutes=5)
    factories.contract(db.session, now, vendor.id, [system.id], vendor_notify_minutes=15)
    reg = app.extensions["policies"]
    made = []
    for title, minutes in (("行情延遲", 45), ("APP 無法登入", 25), ("對帳檔延誤", 2)):
        made.append(open_incident(session=db.session, data={
            "vendor_id": vendor.id, "kind": IncidentKind.outage, "severity": 3, "title": title,
            "aware_at": now - timedelta(minutes=minutes), "system_ids": [system.id], "trading_affected": True},
            actor="chen", registry=reg, default_policies=["twse"], now=now))
    return {"vendor": vendor, "incidents": made}


@contextmanager
def _page(chromium, live_server, **options):
    """A page in a browser context of its own (viewport, device, locale), closed afterwards."""
    context = chromium.new_context(base_url=live_server, **options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()


def _pages(floor) -> list[str]:
    v, overdue = floor["vendor"].id, floor["incidents"][0].id
    return ["/board", "/board?wall=1", "/incidents", "/incidents/new", f"/incidents/{overdue}",
            f"/incidents/{overdue}/print", "/vendors", f"/vendors/{v}", f"/vendors/{v}/contracts", f"/vendors/{v}/duties",
            f"/vendors/{v}/access", f"/vendors/{v}/changes", f"/vendors/{v}/incidents", f"/vendors/{v}/assessments",
            "/contracts/clause-gaps", "/duties", "/audit", "/admin/users", "/admin/tokens", "/admin/displays",
            "/admin/vendors", "/admin/policies", "/admin/notify", "/notify/preferences", "/account/password"]


@pytest.mark.parametrize("lang", ["zh_TW", "en"])
def test_axe_finds_nothing_serious_on_any_page_in_either_language(chromium, live_server, floor, lang):
    with _page(chromium, live_server, viewport={"width": 1280, "height": 900}, bypass_csp=True) as page:
        axe = Axe()
        page.goto(f"/login?lang={lang}")
        first = axe.run(page).response
        assert first["testEngine"]["name"] == "axe-core" and "violations" in first
        found = {"/login": first["violations"]}
        log_in(page)
        for url in _pages(floor):
            response = page.goto(url)
            assert response.status == 200, url
            found[url] = axe.run(page).response["violations"]
        serious = {url: [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations
                         if v["impact"] in SERIOUS] for url, violations in found.items()}
        assert {url: v for url, v in serious.items() if v} == {}


def test_on_a_phone_the_board_and_lists_are_cards_and_the_header_stays_small(chromium, live_server, floor):
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
    with _page(chromium, live_server, locale="zh-TW", **phone) as page:
        log_in(page)
        overdue = floor["incidents"][0].id
        for name, url in (("30-phone-board", "/board"), ("31-phone-incidents", "/incidents"),
                          ("32-phone-incident", f"/incidents/{overdue}"), ("33-phone-vendor", f"/vendors/{floor['vendor'].id}")):
            assert page.goto(url).status == 200
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{url} is {width} px wide on a 390 px phone"
            header = page.locator("body > header").first.bounding_box()
            assert header["height"] <= 84.4, f"{url}: the header takes {header['height']} px of 844"
            screenshot(page, name, full_page=False)
        page.goto(f"/incidents/{overdue}")
        record = page.locator("summary.button.primary").first  # "record filing" of the overdue clock
        record.scroll_into_view_if_needed()
        record.click()
        filing = page.locator("form[action$='/filing']").first
        assert filing.is_visible()  # the incident's main action is reachable on the phone
        box = filing.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        screenshot(page, "36-phone-filing", full_page=False)


def test_the_wall_screen_reads_from_five_metres(chromium, live_server, floor):
    with _page(chromium, live_server, viewport={"width": 1920, "height": 1080}, locale="zh-TW") as page:
        log_in(page)
        page.goto("/board?wall=1")
        countdown = page.locator("ol.wall-rows .countdown").first
        size = page.evaluate("el => parseFloat(getComputedStyle(el).fontSize)", countdown.element_handle())
        root = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        assert size >= 8 * root, f"countdown {size}px, under 8 rem"
        assert page.locator("header nav, form.filters").count() == 0
        assert page.locator("[data-server-clock]").is_visible() and page.locator("#feed-status").is_visible()
        first_band = page.locator("ol.wall-rows li").first.get_attribute("data-band")
        assert first_band == "overdue"
        screenshot(page, "34-wall-screen", full_page=False)


def test_a_report_typed_at_2am_survives_the_session_ending(browser_page, floor):
    page = browser_page
    log_in(page)
    page.goto("/incidents/new")
    page.fill("#title", "交易主機無回應")
    page.fill("#description", "凌晨兩點發現，尚在處理")
    page.wait_for_timeout(300)  # the autosave runs on input; give it a tick (not a domain deadline)
    page.context.clear_cookies()  # the session is gone, as after the idle time-out
    page.goto("/incidents/new")
    assert "/login" in page.url
    log_in(page)
    page.goto("/incidents/new")
    assert page.input_value("#title") == "交易主機無回應"
    assert page.input_value("#description") == "凌晨兩點發現，尚在處理"
    screenshot(page, "35-report-restored")


def test_the_idle_time_out_warns_a_minute_before_and_stay_logged_in_keeps_the_session(app, chromium, live_server, floor):
    with _page(chromium, live_server, viewport={"width": 1280, "height": 900}, locale="zh-TW") as page:
        page.clock.install()  # the page's timers run on a clock the test moves; the server's session clock is real
        log_in(page)
        page.goto("/incidents/new")
        idle = app.config["SESSION_IDLE_MINUTES"] * 60
        warning = page.locator("#idle-warning")
        page.clock.run_for((idle - 61) * 1000)
        assert warning.is_hidden()
        page.clock.run_for(2000)
        assert warning.is_visible() and warning.locator("button").is_visible()
        screenshot(page, "37-idle-warning", full_page=False)
        with page.expect_response(lambda r: r.url.endswith("/session/keepalive") and r.status == 200):
            warning.locator("button").click()
        page.wait_for_function("document.getElementById('idle-warning').hidden")


def test_quick_awareness_choices_count_back_from_the_servers_clock(browser_page, floor):
    page = browser_page
    log_in(page)
    page.goto("/incidents/new")
    server_now = float(page.locator(".quick-times").get_attribute("data-server-now"))
    page.locator(".quick-times button[data-minutes='-15']").click()
    chosen = datetime.fromisoformat(page.input_value("#aware_at")).replace(tzinfo=TAIPEI)
    assert abs(chosen.timestamp() - (server_now - 15 * 60)) <= 90  # to the minute, whatever the PC's clock says
