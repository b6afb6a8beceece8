"""Saved filters in a real browser: frank filters his inbox, keeps the filter under a name (markup in it shown as
text), follows it from a plain inbox, and the page's live refresh still brings new claims in; erin does the
same on the process monitor; both pages fit a 390 px phone; deleting takes the link away. No console error."""

from __future__ import annotations

import httpx

from tests.browser import test_ui
from tests.browser.test_inbox_ui import api_claim
from tests.browser.test_ui import UI, XSS, screenshot

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark

NAME = "Big <b>ones</b> " + XSS[:40]


async def test_a_filter_is_saved_followed_and_deleted_on_the_inbox_and_the_monitor(ui: UI) -> None:
    async with httpx.AsyncClient(base_url=ui.base, timeout=30) as http:
        small = (await api_claim(http, "40", "Taxi"))["claim_id"]
        big = (await api_claim(http, "9000", "Conference"))["claim_id"]

        frank = await ui.login("frank")
        await frank.locator("table.inbox tbody tr", has_text=big).wait_for(timeout=30_000)
        await frank.get_by_label("Amount from").fill("1000")
        await frank.get_by_role("button", name="Filter").click()
        await frank.wait_for_url("**/inbox?*min_amount=1000*")
        await frank.get_by_label("Save this filter as").fill(NAME)
        async with frank.expect_navigation():
            await frank.get_by_role("button", name="Save", exact=True).click()
        assert "Saved the filter" in await frank.locator(".flash.ok").inner_text()
        link = frank.locator(".saved-filters a", has_text="Big <b>ones</b>")
        assert await link.inner_text() == NAME
        await screenshot(frank, "issue6-saved-filters-inbox")  # fits 390 px

        await frank.goto("/inbox")
        await frank.locator("table.inbox tbody tr", has_text=small).wait_for()
        await link.click()
        await frank.wait_for_url("**/inbox?*min_amount=1000*")
        await frank.locator("table.inbox tbody tr", has_text=big).wait_for()
        assert await frank.locator("table.inbox tbody tr", has_text=small).count() == 0
        # the live refresh keeps working under the saved filter, and keeps the saved filters
        await frank.evaluate("window.__sameDocument = 'yes'")
        later = (await api_claim(http, "5000", "Flight"))["claim_id"]
        await frank.locator("table.inbox tbody tr", has_text=later).wait_for(timeout=30_000)
        assert await frank.evaluate("window.__sameDocument") == "yes"
        assert await link.count() == 1

        async with frank.expect_navigation():
            await frank.get_by_role("button", name="Delete the saved filter " + NAME).click()
        assert await frank.locator(".saved-filters a").count() == 0
        assert await frank.evaluate("typeof window.__xss") == "undefined"

    erin = await ui.login("erin")
    await erin.goto(f"/processes?business_key={small}")
    await erin.get_by_label("Save this filter as").fill("Just the taxi")
    async with erin.expect_navigation():
        await erin.get_by_role("button", name="Save", exact=True).click()
    await erin.goto("/processes")
    await erin.locator(".saved-filters a", has_text="Just the taxi").click()
    await erin.wait_for_url(f"**/processes?business_key={small}")
    keys = await erin.locator("td[data-key]").all_inner_texts()
    assert keys == [small]
    await screenshot(erin, "issue6-saved-filters-monitor")
    ui.assert_no_console_errors()
