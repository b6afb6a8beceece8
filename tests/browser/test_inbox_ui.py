"""The inbox in a real browser: frank keeps it open and erin's claims appear (and go, once decided elsewhere)
without a reload, through the page's own script; he approves one from its row, approves two at once with
"Approve selected", and the task page offers delegation. No console error anywhere; screenshots at desktop
and phone width."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.browser import test_ui
from tests.browser.test_ui import UI, XSS, screenshot

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark


async def api_claim(http: httpx.AsyncClient, amount: str, description: str) -> dict[str, Any]:
    token = (await http.post("/api/auth/token", data={"username": "erin", "password": "demo"})).json()
    r = await http.post("/api/expense-claims", headers={"Authorization": f"Bearer {token['access_token']}"},
                        json={"lines": [{"category": "travel", "amount": amount, "currency": "USD",
                                         "date": "2026-11-02", "description": description}]})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def api_decide(http: httpx.AsyncClient, user: str, business_key: str) -> None:
    token = (await http.post("/api/auth/token", data={"username": user, "password": "demo"})).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    task = (await http.get("/api/tasks", params={"business_key": business_key}, headers=auth)).json()[0]
    r = await http.post(f"/api/tasks/{task['id']}/complete", json={"decision": "approve"}, headers=auth)
    assert r.status_code == 200, r.text


async def test_claims_appear_in_the_open_inbox_without_a_reload_and_are_approved(ui: UI) -> None:
    frank = await ui.login("frank")
    assert "/inbox" in frank.url
    await frank.evaluate("window.__sameDocument = 'yes'")  # gone if the page were reloaded
    assert await frank.locator(".inbox-views [data-count=mine]").inner_text() == "0"

    async with httpx.AsyncClient(base_url=ui.base, timeout=30) as http:
        claim = (await api_claim(http, "640", "Trade fair: " + XSS))["claim_id"]
        row = frank.locator("table.inbox tbody tr", has_text=claim)
        await row.wait_for(timeout=30_000)  # the poller brought it in
        assert await frank.evaluate("window.__sameDocument") == "yes"
        assert await frank.locator(".inbox-views [data-count=mine]").inner_text() == "1"
        assert "640.00" in await row.inner_text() and "erin" in await row.inner_text()
        assert await frank.evaluate("typeof window.__xss") == "undefined"

        others = [(await api_claim(http, amount, "Taxi"))["claim_id"] for amount in ("35", "48")]
        gone = (await api_claim(http, "12", "Parking"))["claim_id"]
        for key in (*others, gone):
            await frank.locator("table.inbox tbody tr", has_text=key).wait_for(timeout=30_000)
        assert await frank.locator(".inbox-views [data-count=all]").inner_text() == "4"
        assert await frank.locator(".nav .count").inner_text() == "4"  # the menu's badge too
        await screenshot(frank, "issue6-inbox")

        # decided elsewhere (frank in another window, through the API): the row goes by itself
        await api_decide(http, "frank", gone)
        await frank.locator("table.inbox tbody tr", has_text=gone).wait_for(state="detached", timeout=30_000)
        assert await frank.evaluate("window.__sameDocument") == "yes"

    # two at once: tick them, approve selected, the page says how each went
    for key in others:
        await frank.locator("table.inbox tbody tr", has_text=key).get_by_role("checkbox").check()
    await frank.get_by_label("Comment for the selected approvals").fill("Small amounts, fine")
    await frank.get_by_role("button", name="Approve selected").click()
    await frank.wait_for_url("**/inbox/approve-selected")
    results = await frank.locator(".bulk-results").inner_text()
    assert "Approved 2 of 2" in await frank.locator(".flash.ok").inner_text()
    assert all(f"Expense claim {key}" in results for key in others), results
    await screenshot(frank, "issue6-inbox-bulk")

    # the first one from its task page: the SLA, the delegation choice, then approve
    await frank.goto("/inbox")
    row = frank.locator("table.inbox tbody tr", has_text=claim)
    await row.get_by_role("link").click()
    await frank.wait_for_url("**/tasks/*")
    assert re.search(r"Due in \d+", await frank.locator(".card.action .sla").inner_text())
    options = await frank.get_by_label("Delegate to").locator("option").all_inner_texts()
    assert "bob" in options and "heidi" in options and "erin" not in options
    assert "Trade fair: " + XSS in await frank.locator("td.desc").all_inner_texts()
    await screenshot(frank, "issue6-inbox-task")
    await frank.locator("form[action$='/decide']").get_by_label("Comment").fill("Fine by me")
    async with frank.expect_navigation():
        await frank.get_by_role("button", name="Approve").click()
    assert f"Approved: Expense claim {claim}" in await frank.locator(".flash.ok").inner_text()
    assert await frank.locator("table.inbox tbody tr", has_text=claim).count() == 0
    assert await frank.locator(".inbox-views [data-count=all]").inner_text() == "0"
    assert await frank.evaluate("typeof window.__xss") == "undefined"
    ui.assert_no_console_errors()
