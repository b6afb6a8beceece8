"""Issue 15's doors that were forms, in a real browser: the expense form reads what a person types in a Chinese
input method and refuses other scripts with a sentence; a double click files one claim; a quotation priced under
cost reaches the sales manager with its margin and reasons on the task page; after Log out the old cookie opens
nothing. No console error."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from domain.expenses.tables import ExpenseClaim
from tests.browser import test_ui
from tests.browser.test_ui import UI, inbox_row, screenshot

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark


def claims(ui: UI) -> int:
    with ui.db.read() as s:
        return int(s.execute(select(func.count()).select_from(ExpenseClaim)).scalar_one())


async def _fill_claim(page, amount: str, description: str) -> None:
    await page.goto("/requests")
    await page.get_by_label("Category").select_option("travel")
    await page.get_by_label("Amount").fill(amount)
    await page.get_by_label("Date").fill("2026-11-02")
    await page.get_by_label("Description").fill(description)


async def test_the_expense_form_reads_full_width_refuses_other_scripts_and_a_double_click_files_once(ui: UI):
    erin = await ui.login("erin")
    await _fill_claim(erin, "１，２５０．５０", "Train, typed with a Chinese input method")
    async with erin.expect_navigation():
        await erin.get_by_role("button", name="File claim").click()
    assert "EC-" in await erin.locator(".flash.ok").inner_text()
    assert "1,250.50" in await erin.locator("main").inner_text()
    assert claims(ui) == 1

    for odd in ("١٢", "1_000", "12 34"):
        await _fill_claim(erin, odd, "Refused")
        await erin.get_by_role("button", name="File claim").click()
        error = erin.locator(".flash.error, .error").first
        await error.wait_for()
        assert f"The amount must be a number, not {odd!r}" in await error.inner_text(), odd
        assert claims(ui) == 1  # nothing filed
    await screenshot(erin, "issue15-number-refused")

    await _fill_claim(erin, "88", "Taxi, clicked twice")
    # The second click's submit may abort the first one's navigation (a slower database: the first still in
    # flight), so wait for the page the clicks end on rather than for one navigation.
    await erin.get_by_role("button", name="File claim").dblclick()
    await erin.locator(".flash.ok").first.wait_for()  # filed (the refusal above was a .flash.error)
    await erin.wait_for_timeout(500)  # the second submit has landed too
    assert claims(ui) == 2  # one claim for the two clicks
    ui.assert_no_console_errors(422)


async def test_a_quotation_under_cost_shows_its_margin_and_reasons_to_the_sales_manager(ui: UI):
    async with httpx.AsyncClient(base_url=ui.base, timeout=30) as http:
        token = (await http.post("/api/auth/token", data={"username": "alice", "password": "demo"})).json()
        alice = {"Authorization": f"Bearer {token['access_token']}"}
        lead = (await http.post("/api/leads", headers=alice, json={
            "company": "Globex Corporation", "contact": "Hank Scorpio", "email": "hank@globex.example",
            "source": "trade_show", "estimated_value": "5000"})).json()["lead_id"]
        opp = (await http.post(f"/api/leads/{lead}/qualify", headers=alice,
                               json={"decision": "qualified"})).json()["opportunity_id"]
        r = await http.post(f"/api/opportunities/{opp}/quotations", headers=alice, json={
            "lines": [{"sku": "FAN-200", "qty": 2, "unit_price": "100", "discount_pct": "0"}], "valid_days": 14})
        assert r.status_code == 201 and r.json()["status"] == "pending_approval", r.text
        quotation = r.json()["quotation_id"]
    bob = await ui.login("bob")
    await (await inbox_row(bob, quotation)).get_by_role("link").first.click()
    await bob.wait_for_url("**/tasks/*")
    await bob.get_by_text("Why it needs approval").wait_for()
    reasons = await bob.locator(".review-reasons").inner_text()
    assert "FAN-200" in reasons and "standard cost" in reasons, reasons
    assert "the cfo approves after the sales manager" in reasons  # a loss below the policy's second threshold
    await screenshot(bob, "issue15-price-review-task")
    ui.assert_no_console_errors()


async def test_after_log_out_the_old_cookie_opens_nothing(ui: UI):
    erin = await ui.login("erin")
    cookies = await erin.context.cookies()
    await erin.get_by_role("button", name="Log out").click()
    await erin.wait_for_url("**/login*")
    thief = await ui.new_page()
    await thief.context.add_cookies(cookies)  # the cookie as it was before Log out
    await thief.goto("/inbox")
    assert "/login" in thief.url
    r = await thief.request.get("/api/tasks")
    assert r.status == 401
    ui.assert_no_console_errors(401)
