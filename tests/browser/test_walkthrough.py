"""The issue's walk-through in headless Chromium: report at 2 a.m., watch the board count down, file, see it met."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from incident_service.extensions import db
from incident_service.incidents.models import IncidentKind
from incident_service.cases.incidents import open_incident
from incident_service.vendors import service as vendors
from incident_service.vendors.models import VendorCategory
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser
TAIPEI = ZoneInfo("Asia/Taipei")


def seconds_shown(text: str) -> int:
    """``H:MM:SS`` (or ``-H:MM:SS``) as seconds."""
    match = re.fullmatch(r"\s*(-?)(\d+):(\d\d):(\d\d)\s*", text)
    assert match, f"not a countdown: {text!r}"
    sign, h, m, s = match.groups()
    value = int(h) * 3600 + int(m) * 60 + int(s)
    return -value if sign else value


@pytest.fixture
def setting(app, user):
    now = datetime.now(UTC)
    vendor = vendors.create_vendor(session=db.session, data={"name": "鼎新資訊系統股份有限公司", "category": VendorCategory.system_development}, now=now)
    vendors.create_vendor(session=db.session, data={"name": "中華電信數據通信分公司", "category": VendorCategory.operations}, now=now)
    system = vendors.create_system(session=db.session, data={"name": "APP電子下單系統", "is_core": True, "rto_minutes": 30, "rpo_minutes": 0}, now=now)
    vendors.create_system(session=db.session, data={"name": "後台帳務系統", "is_core": False, "rto_minutes": 240}, now=now)
    return {"vendor": vendor, "system": system}


def test_report_watch_the_board_file_and_see_it_met(app, browser_page, setting, chromium, live_server):
    page = browser_page
    log_in(page)

    # The on-call engineer reports, with an awareness time 25 minutes ago (to the second).
    page.goto("/incidents/new")
    aware = datetime.now(TAIPEI) - timedelta(minutes=25)
    page.select_option("#vendor_id", label="鼎新資訊系統股份有限公司")
    page.fill("#aware_at", aware.strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill("#title", "APP 無法登入")
    page.check("label:has-text('APP電子下單系統') input")
    page.fill("#description", "廠商更新作業系統後防火牆預設阻擋，客戶無法登入")
    page.check("#trading_affected")
    screenshot(page, "01-report-form")
    page.click("button.primary.big")
    page.wait_for_url(re.compile(r"/incidents/\d+$"))
    incident_url = page.url
    initial = page.locator("tr[data-deadline='initial'] .countdown")
    assert 270 <= seconds_shown(initial.inner_text()) <= 300
    screenshot(page, "02-incident-page")

    # The supervisor's board: about five minutes left, and ticking.
    board = page.context.new_page()
    board.goto("/board")
    row = board.locator("tr[data-band]", has_text="APP 無法登入").filter(has_text="初步通報")
    first = seconds_shown(row.locator(".countdown").inner_text())
    assert 270 <= first <= 300
    assert row.get_attribute("data-band") == "warning"  # under the 10-minute warning of the initial report
    board.wait_for_timeout(1500)
    assert seconds_shown(row.locator(".countdown").inner_text()) < first
    screenshot(board, "03-board")

    # A new incident appears on the board without a reload (the page polls the server every few seconds).
    open_incident(session=db.session, data={"vendor_id": setting["vendor"].id, "kind": IncidentKind.security, "severity": 4,
                                            "title": "憑證驗章逾時", "aware_at": datetime.now(UTC) - timedelta(minutes=40)},
                  actor="test", registry=app.extensions["policies"], default_policies=["twse"], now=datetime.now(UTC))
    overdue = board.locator("tr[data-band='overdue']", has_text="憑證驗章逾時").first
    overdue.wait_for(timeout=8000)
    assert board.locator("tbody#board-rows tr").first.get_attribute("data-band") == "overdue"  # pinned on top

    # Record the initial filing from the incident page; the deadline turns met, there and on the board.
    page.bring_to_front()
    page.locator("tr[data-deadline='initial'] summary", has_text="登錄通報").click()
    form = page.locator("tr[data-deadline='initial'] form").first
    form.locator("input[id$='reference']").fill("TWSE-2026-0042")
    form.locator("button[type=submit]").click()
    page.wait_for_url(incident_url)
    met_row = page.locator("tr[data-deadline='initial']")
    assert met_row.get_attribute("data-band") == "met"
    assert "已完成" in met_row.inner_text() and "TWSE-2026-0042" in met_row.inner_text()
    screenshot(page, "04-incident-filed")
    board.locator("tr[data-band='met']", has_text="APP 無法登入").wait_for(timeout=8000)
    screenshot(board, "05-board-after-filing")


def test_a_wrong_client_clock_does_not_change_the_countdown(app, chromium, live_server, setting):
    open_incident(session=db.session, data={"vendor_id": setting["vendor"].id, "kind": IncidentKind.outage, "severity": 3,
                                            "title": "行情中斷", "aware_at": datetime.now(UTC) - timedelta(minutes=25)},
                  actor="test", registry=app.extensions["policies"], default_policies=["twse"], now=datetime.now(UTC))
    context = chromium.new_context(base_url=live_server)
    # This browser's wall clock runs three hours fast.
    context.add_init_script("""(() => { const real = Date; const skew = 3 * 3600 * 1000;
        class Skewed extends real { constructor(...a) { super(...(a.length ? a : [real.now() + skew])); }
                                    static now() { return real.now() + skew; } }
        window.Date = Skewed; })();""")
    page = context.new_page()
    log_in(page)
    page.goto("/board")
    assert page.evaluate("Date.now() - performance.timeOrigin") > 3 * 3600 * 1000 - 60_000
    shown = seconds_shown(page.locator("tr", has_text="行情中斷").filter(has_text="初步通報").locator(".countdown").inner_text())
    assert 270 <= shown <= 300
    context.close()


def test_a_validation_error_keeps_the_typed_input(browser_page, setting):
    page = browser_page
    log_in(page)
    page.goto("/incidents/new")
    page.select_option("#vendor_id", label="鼎新資訊系統股份有限公司")
    page.fill("#description", "typed at 2 a.m., must not be lost")
    page.fill("#title", "")
    page.click("button.primary.big")
    # Checked in the browser, in our own words (not the browser's Simplified Chinese), before anything is sent.
    assert page.locator("#title-js-error").is_visible()
    assert page.locator("#title-js-error").inner_text() == "此欄位為必填。"
    assert page.input_value("#description") == "typed at 2 a.m., must not be lost"
    assert page.locator("#vendor_id option:checked").inner_text() == "鼎新資訊系統股份有限公司"
    screenshot(page, "06-report-form-error")


def test_switching_language_changes_the_labels(browser_page, setting):
    page = browser_page
    log_in(page)
    page.goto("/incidents/new")
    assert page.locator("h1").inner_text() == "通報事件"
    page.click("a[hreflang='en']")
    assert page.locator("h1").inner_text() == "Report an incident"
    assert page.locator("label[for='title']").inner_text().startswith("Title")
    page.goto("/board")
    assert page.locator("h1").inner_text() == "Reporting deadlines"  # the choice is kept
    page.click("a[hreflang='zh-TW']")
    assert page.locator("h1").inner_text() == "通報時限看板"


def test_the_report_form_works_with_the_keyboard_on_a_phone(chromium, live_server, setting):
    context = chromium.new_context(base_url=live_server, viewport={"width": 390, "height": 844}, is_mobile=True,
                                   has_touch=True, device_scale_factor=2, locale="zh-TW")
    page = context.new_page()
    log_in(page)
    page.goto("/incidents/new")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.focus("#vendor_id")
    page.keyboard.press("ArrowDown")  # the first vendor
    page.focus("#title")
    page.keyboard.type("CA 憑證伺服器連線耗盡")
    page.keyboard.press("Enter")  # Enter in a field submits the form
    page.wait_for_url(re.compile(r"/incidents/\d+$"))
    assert "CA 憑證伺服器連線耗盡" in page.locator("h1").inner_text()
    page.goto("/incidents/new")
    screenshot(page, "07-report-form-phone")
    context.close()


def test_screens_of_the_other_pages(app, browser_page, setting):
    page = browser_page
    now = datetime.now(UTC)
    incident = open_incident(session=db.session, data={
        "vendor_id": setting["vendor"].id, "kind": IncidentKind.outage, "severity": 3, "title": "APP 下單中斷",
        "aware_at": now - timedelta(hours=3), "system_ids": [setting["system"].id], "service_down_at": now - timedelta(hours=3),
        "service_restored_at": now - timedelta(hours=2), "trading_affected": True, "clients_affected": 1200},
        actor="test", registry=app.extensions["policies"], default_policies=["twse"], now=now)
    log_in(page)
    for name, url in [("08-vendors", "/vendors"), ("09-vendor-page", f"/vendors/{setting['vendor'].id}"),
                      ("10-print-record", f"/incidents/{incident.id}/print"), ("11-policies", "/admin/policies"),
                      ("12-admin-vendors", "/admin/vendors"), ("13-incident-drafts", f"/incidents/{incident.id}")]:
        response = page.goto(url)
        assert response.status == 200, url
        if name == "13-incident-drafts":
            page.locator("details.draft summary").first.click()
        screenshot(page, name)
    page.emulate_media(media="print")
    page.goto(f"/incidents/{incident.id}/print")
    assert not page.locator("p.screen-only").is_visible()  # the print stylesheet hides the buttons
