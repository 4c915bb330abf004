"""The vendor page's tabs in Chromium: every tab reachable and marked current, a change refused in market hours
with the input kept, planned outside them and approved by another supervisor; the tabs on a phone."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from incident_service.api_common import vendor_catalogues
from incident_service.auth.service import create_user
from incident_service.extensions import db
from tests import factories
from tests.browser.conftest import PASSWORD, log_in, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def vendor(app, user):
    now = datetime.now(UTC)
    v = factories.vendor(db.session, now, name="鼎新資訊")
    system = factories.system(db.session, now, name="APP電子下單系統")
    factories.contract(db.session, now, v.id, [system.id], vendor_notify_minutes=30)
    return v


def _next_trading_day() -> date:
    calendar = vendor_catalogues().calendar
    day = datetime.now(calendar.zone).date() + timedelta(days=1)
    while not calendar.is_trading_day(day):
        day += timedelta(days=1)
    return day


def test_every_tab_of_the_vendor_page_is_one_click_away(browser_page, vendor):
    page = browser_page
    log_in(page)
    page.goto(f"/vendors/{vendor.id}")
    tabs = page.locator("nav.vendor-tabs a")
    assert tabs.count() == 6
    names = [tabs.nth(i).inner_text() for i in range(6)]
    assert names == ["概覽", "契約", "義務", "存取", "變更", "事件"]
    for i, name in enumerate(names):
        page.locator("nav.vendor-tabs a").nth(i).click()
        page.wait_for_load_state()
        current = page.locator('nav.vendor-tabs a[aria-current="page"]')
        assert current.inner_text() == name
    page.locator("nav.vendor-tabs a").nth(1).click()
    assert page.locator("table.clauses tr.clause-row").count() == len(vendor_catalogues().clauses.clauses)
    screenshot(page, "20-vendor-contracts-tab")


def test_a_change_in_market_hours_is_refused_then_planned_and_approved_by_another(app, browser_page, vendor):
    create_user(session=db.session, username="lin", password=PASSWORD, roles=["supervisor"], now=datetime.now(UTC))
    page = browser_page
    log_in(page)
    page.goto(f"/vendors/{vendor.id}/changes")
    day = _next_trading_day().isoformat()
    page.fill("#title", "作業系統更新")
    page.fill("#planned_start", f"{day}T10:00")
    page.fill("#planned_end", f"{day}T10:30")
    page.check("input[name=system_ids]")
    page.fill("#rollback_plan", "還原快照")
    page.click("text=規劃此變更")
    assert page.locator("#planned_start-error").is_visible()
    assert page.input_value("#title") == "作業系統更新"  # the input is kept
    screenshot(page, "21-vendor-change-refused")
    page.fill("#planned_start", f"{day}T18:00")
    page.fill("#planned_end", f"{day}T19:00")
    page.click("text=規劃此變更")
    row = page.locator("table.changes tbody tr").first
    assert "作業系統更新" in row.inner_text() and "待核准" in row.inner_text()
    # the requester may not approve their own change
    row.locator("button.primary").click()
    assert "own_change" in page.locator(".flash, [role=alert]").first.inner_text()
    page.context.clear_cookies()
    log_in(page, "lin")
    page.goto(f"/vendors/{vendor.id}/changes")
    page.locator("table.changes tbody tr").first.locator("button.primary").click()
    assert "已核准" in page.locator("table.changes tbody tr").first.inner_text()
    screenshot(page, "22-vendor-change-approved")


def test_the_tabs_stay_reachable_on_a_phone(chromium, live_server, app, user, vendor):
    context = chromium.new_context(base_url=live_server, viewport={"width": 390, "height": 844}, locale="zh-TW")
    page = context.new_page()
    try:
        log_in(page)
        page.goto(f"/vendors/{vendor.id}")
        last = page.locator("nav.vendor-tabs a").nth(5)
        last.scroll_into_view_if_needed()
        assert last.is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px phone"
        last.click()
        page.wait_for_load_state()
        assert page.locator('nav.vendor-tabs a[aria-current="page"]').inner_text() == "事件"
        screenshot(page, "23-vendor-tabs-phone")
    finally:
        context.close()
