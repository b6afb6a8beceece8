"""The UI in Simplified Chinese in a real browser: the login page's 简体中文 link switches the language (kept in a
cookie), a user logs in with the Chinese labels and reads the inbox, a task, the pipeline and the finance pages in
Chinese; a browser that asks for Chinese gets it without choosing. Screenshots (desktop and phone) of each page in
test-artifacts/screenshots/issue18-zh-*."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser import test_ui
from tests.browser.test_inbox_ui import api_claim
from tests.browser.test_ui import UI, screenshot

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark


async def login_zh(ui: UI, username: str) -> Any:
    page = await ui.new_page()
    await page.goto("/login")
    await page.get_by_role("link", name="简体中文").click()
    await page.wait_for_url("**/login**")
    assert await page.get_attribute("html", "lang") == "zh-Hans"
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill("demo")
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(lambda url: "/login" not in url)
    return page


async def test_a_user_switches_to_chinese_on_the_login_page_and_works_in_it(ui: UI) -> None:
    page = await ui.new_page()
    await page.goto("/login")
    assert await page.get_attribute("html", "lang") == "en"
    await page.get_by_role("link", name="简体中文").click()
    await page.wait_for_url("**/login**")
    assert "登录" in await page.locator("h1").inner_text()
    await screenshot(page, "issue18-zh-login")

    async with httpx.AsyncClient(base_url=ui.base, timeout=30) as http:
        claim = (await api_claim(http, "640", "参展差旅"))["claim_id"]
    frank = await login_zh(ui, "frank")
    await frank.goto("/inbox")
    row = frank.locator("table.inbox tbody tr", has_text=claim)
    await row.wait_for(timeout=30_000)
    assert "待办" in await frank.locator("h1").inner_text()
    assert await frank.get_by_role("button", name="批准", exact=True).count() >= 1
    await screenshot(frank, "issue18-zh-inbox")
    await row.get_by_role("link").first.click()
    await frank.wait_for_url("**/tasks/**")
    assert "费用报销" in await frank.locator("main").inner_text()
    await screenshot(frank, "issue18-zh-task")
    await frank.goto("/processes")
    await screenshot(frank, "issue18-zh-processes")

    alice = await login_zh(ui, "alice")
    await alice.goto("/pipeline")
    assert "销售漏斗" in await alice.locator("main").inner_text()
    await screenshot(alice, "issue18-zh-pipeline")

    grace = await login_zh(ui, "grace")
    for path, words, shot in [("/finance", "资产负债表", "finance"), ("/invoices", "发票", "invoices"),
                              ("/finance/balance-sheet", "资产合计", "balance-sheet"), ("/periods", "期间", "periods")]:
        await grace.goto(path)
        assert words in await grace.locator("main").inner_text(), path
        await screenshot(grace, f"issue18-zh-{shot}")
    ui.assert_no_console_errors()


async def test_a_browser_asking_for_chinese_gets_it(ui: UI) -> None:
    context = await ui.browser.new_context(base_url=ui.base, locale="zh-CN")
    ui.contexts.append(context)
    page = await context.new_page()
    await page.goto("/login")
    assert await page.get_attribute("html", "lang") == "zh-Hans"
    assert await page.get_by_label("用户名").count() == 1
