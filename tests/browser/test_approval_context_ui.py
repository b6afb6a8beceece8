"""The approver's view of a quotation task in the browser: the inbox row names the customer and the largest
discount; the task page shows the lines (those above the limit marked), the margin and the credit position."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser import test_ui
from tests.browser.test_ui import UI, inbox_row, screenshot

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark

LEAD = {"contact": "Hank Scorpio", "email": "hank@globex.example", "source": "referral", "estimated_value": "40000"}


async def quotation(http: httpx.AsyncClient, company: str, lines: list[dict[str, Any]]) -> tuple[str, str]:
    """A quotation by alice on a new opportunity of `company`, through the API: its number and valid-until."""
    token = (await http.post("/api/auth/token", data={"username": "alice", "password": "demo"})).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    lead = (await http.post("/api/leads", json={**LEAD, "company": company}, headers=auth)).json()["lead_id"]
    opp = (await http.post(f"/api/leads/{lead}/qualify", json={"decision": "qualified"},
                           headers=auth)).json()["opportunity_id"]
    r = await http.post(f"/api/opportunities/{opp}/quotations", json={"lines": lines, "tax_rate": "20"},
                        headers=auth)
    assert r.status_code == 201, r.text
    number: str = r.json()["quotation_id"]
    if r.json()["status"] == "sent":  # the customer says yes: over credit it goes to finance
        r = await http.post(f"/api/quotations/{number}/accept", headers=auth)
        assert r.status_code == 200, r.text
    return number, (await http.get(f"/api/quotations/{number}", headers=auth)).json()["valid_until"]


async def test_the_sales_manager_sees_the_numbers_behind_a_discount(ui: UI) -> None:
    async with httpx.AsyncClient(base_url=ui.base, timeout=30) as http:
        number, valid_until = await quotation(http, "Globex Corporation", [
            {"sku": "FAN-200", "qty": 10, "unit_price": "500", "discount_pct": "25"},
            {"sku": "BOLT-M8", "qty": 1000, "unit_price": "0.50", "discount_pct": "5"}])
    bob = await ui.login("bob")
    row = await inbox_row(bob, number)
    assert "Globex Corporation · largest discount 25 %" in " ".join((await row.inner_text()).split())
    await screenshot(bob, "inbox-quotation")
    await row.get_by_role("link").click()
    await bob.wait_for_url("**/tasks/*")
    card = bob.locator(".card.context")
    text = await card.inner_text()
    assert "Globex Corporation" in text and f"Valid until\n{valid_until}" in text
    assert await card.locator("tr.over-limit").count() == 1  # the fan, at 25 %; the bolts at 5 % are within
    assert "FAN-200" in await card.locator("tr.over-limit").inner_text()
    assert "20.7 %" in await card.locator(".panel.margin").inner_text()  # 875 on a net 4,225
    assert "44,930.00 left" in await card.locator(".panel.credit").inner_text()
    await screenshot(bob, "task-quotation-discount")
    ui.assert_no_console_errors()


async def test_finance_sees_by_how_much_the_customer_goes_over(ui: UI) -> None:
    async with httpx.AsyncClient(base_url=ui.base, timeout=30) as http:
        number, _ = await quotation(http, "Initech", [  # 23,750 net, 28,500 with tax, on a 20,000 limit
            {"sku": "FAN-200", "qty": 50, "unit_price": "500", "discount_pct": "5"}])
    grace = await ui.login("grace")
    row = await inbox_row(grace, number)
    assert "Initech · largest discount 5 % · over credit by 8,500.00" in " ".join((await row.inner_text()).split())
    await screenshot(grace, "inbox-quotation-credit")
    await row.get_by_role("link").click()
    await grace.wait_for_url("**/tasks/*")
    credit = await grace.locator(".panel.credit").inner_text()
    assert "over the limit by 8,500.00" in credit and "28,500.00" in credit
    assert await grace.locator(".panel.credit.focus").count() == 1
    await screenshot(grace, "task-quotation-credit")
    ui.assert_no_console_errors()
