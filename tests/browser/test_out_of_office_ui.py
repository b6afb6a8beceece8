"""Out of office in a real browser: frank records an absence with bob as deputy from the page (markup in the
note shown as text, no script run), the page fits a 390 px phone, erin's claim lands in bob's inbox with the
routing in the task's trail, and frank deletes the absence again. No console error."""

from __future__ import annotations

from datetime import timedelta

import httpx

from domain.approvals import absence
from tests.browser import test_ui
from tests.browser.test_inbox_ui import api_claim
from tests.browser.test_ui import UI, XSS, inbox_row, screenshot

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark


async def test_an_absence_is_recorded_routes_a_task_and_is_deleted(ui: UI) -> None:
    today = absence.today()
    frank = await ui.login("frank")
    await frank.get_by_role("link", name="Out of office").click()
    await frank.wait_for_url("**/out-of-office")
    await frank.get_by_label("Deputy").select_option("bob")
    await frank.get_by_label("First day").fill(today.isoformat())
    await frank.get_by_label("Last day").fill((today + timedelta(days=2)).isoformat())
    await frank.get_by_label("Note").fill(XSS)
    async with frank.expect_navigation():
        await frank.get_by_role("button", name="Record absence").click()
    assert "new tasks named for them go to bob" in await frank.locator(".flash.ok").inner_text()
    row = frank.locator("table.absences tbody tr")
    assert await row.count() == 1
    assert XSS in await row.inner_text()
    assert await frank.evaluate("window.__xss") is None
    await screenshot(frank, "issue6-out-of-office")  # fits 390 px

    async with httpx.AsyncClient(base_url=ui.base, timeout=30) as http:
        claim = (await api_claim(http, "120", "Taxi"))["claim_id"]
    bob = await ui.login("bob")
    await (await inbox_row(bob, claim)).get_by_role("link").first.click()
    await bob.wait_for_url("**/tasks/*")
    await bob.get_by_text("frank is out of office until").wait_for()
    assert "routed to deputy bob" in await bob.locator("main").inner_text()

    async with frank.expect_navigation():
        await frank.get_by_role("button", name="Delete").click()
    assert await frank.locator("table.absences tbody tr").count() == 0
    ui.assert_no_console_errors()
