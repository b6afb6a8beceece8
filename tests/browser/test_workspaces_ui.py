"""Issue 18's workspaces in a real browser: the buyer lands on purchasing and types a requisition, frank approves
it, the warehouse lands on its goods in and receives part of the order, finance reads the journal and the trial
balance, admin lands on the back office; one page in Chinese. Screenshots at desktop and phone width."""

from __future__ import annotations

import re
from typing import Any

from tests.browser import test_ui
from tests.browser.test_ui import UI, inbox_row, screenshot

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark


async def land(ui: UI, username: str, locale: str = "en-US") -> Any:
    """Log in as a user would and stay where the login sends them."""
    context = await ui.browser.new_context(base_url=ui.base, viewport={"width": 1280, "height": 800}, locale=locale)
    context.set_default_timeout(20_000)
    ui.contexts.append(context)
    page = await context.new_page()
    page.on("console", lambda m: ui.errors.append(f"{m.text} [{page.url}]") if m.type == "error" else None)
    await page.goto("/login")
    await page.locator("#username, input[name=username]").first.fill(username)
    await page.locator("input[name=password]").fill("demo")
    await page.locator("form button[type=submit]").first.click()
    await page.wait_for_url(lambda url: "/login" not in url)
    return page


async def test_buyer_warehouse_finance_and_admin_each_land_on_their_work(ui: UI) -> None:
    dave = await land(ui, "dave")
    assert dave.url.endswith("/purchasing")
    await dave.get_by_label("Item of line 1").fill("MOTOR-200W")
    await dave.get_by_label("Quantity to buy on line 1").fill("10")
    await dave.get_by_label("Estimated unit price of line 1").fill("200")
    await dave.get_by_label("Justification").fill("motors for the fan line")
    await screenshot(dave, "issue18-purchasing")
    async with dave.expect_navigation():
        await dave.get_by_role("button", name="Submit for approval").click()
    flash = await dave.locator(".flash.ok").inner_text()
    requisition = re.search(r"PR-\d+", flash).group(0)  # type: ignore[union-attr]

    frank = await ui.login("frank")
    row = await inbox_row(frank, requisition)
    async with frank.expect_navigation():
        await row.get_by_role("button", name="Approve").click()

    await dave.goto("/purchase-orders")
    for _ in range(100):
        if await dave.locator("table.grid tbody tr").count():
            break
        await dave.reload()
    await screenshot(dave, "issue18-purchase-orders")
    po = (await dave.locator("table.grid tbody tr a").first.inner_text()).strip()

    ivan = await land(ui, "ivan")
    assert ivan.url.endswith("/warehouse")
    await screenshot(ivan, "issue18-warehouse")
    await ivan.goto(f"/warehouse/receive/{po}")
    await ivan.get_by_label("Quantity of MOTOR-200W received now").fill("4")
    await screenshot(ivan, "issue18-receive")
    async with ivan.expect_navigation():
        await ivan.get_by_role("button", name="Receive into stock").click()
    assert "still waits for the rest" in await ivan.locator(".flash.ok").inner_text()
    assert f"{po}-R1" in await ivan.locator("#receipts").inner_text()
    await screenshot(ivan, "issue18-purchase-order")

    grace = await land(ui, "grace")
    assert grace.url.endswith("/finance")
    await grace.goto("/journal")
    assert po in await grace.locator("table.grid").inner_text()
    await screenshot(grace, "issue18-journal")
    await grace.goto("/trial-balance")
    assert "Debits equal credits." in await grace.locator("main").inner_text()
    await screenshot(grace, "issue18-trial-balance")

    admin = await land(ui, "admin")
    assert admin.url.endswith("/admin") or admin.url.endswith("/setup")  # an unnamed company: its setup first
    await admin.goto("/admin")
    await screenshot(admin, "issue18-admin")

    chinese = await land(ui, "ivan", locale="zh-CN")
    assert "待收货的采购订单" in await chinese.locator("main").inner_text()
    await screenshot(chinese, "issue18-warehouse-zh")
    ui.assert_no_console_errors()
