"""The process monitor in a real browser: a claim's process page draws its business map (done steps, the
current one, the rest to do) and says whom it waits for, at desktop and phone width; the list with its
counts; a lead whose company is a script shows it as text and runs nothing."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser import test_ui
from tests.browser.test_ui import UI, XSS, screenshot

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark

CLAIM = {"lines": [{"category": "travel", "amount": "12000.00", "currency": "USD", "date": "2026-11-02",
                    "description": "Trade fair Hannover"},
                   {"category": "lodging", "amount": "8000", "currency": "USD", "date": "2026-11-03",
                    "description": "Hotel"}]}


async def auth(http: httpx.AsyncClient, who: str) -> dict[str, str]:
    token = (await http.post("/api/auth/token", data={"username": who, "password": "demo"})).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


async def until(page: Any, url: str, selector: str, tries: int = 150) -> None:
    for _ in range(tries):
        await page.goto(url)
        if await page.locator(selector).count():
            return
        await page.wait_for_timeout(100)
    raise AssertionError(f"{url} never showed {selector}")


async def test_the_process_page_draws_the_map_at_desktop_and_phone_width(ui: UI) -> None:
    async with httpx.AsyncClient(base_url=ui.base, timeout=30) as http:
        r = await http.post("/api/expense-claims", json=CLAIM, headers=await auth(http, "erin"))
        assert r.status_code == 201, r.text
        claim, pid = r.json()["claim_id"], r.json()["process_id"]
        frank = await auth(http, "frank")
        for _ in range(150):
            tasks = (await http.get("/api/tasks", params={"business_key": claim}, headers=frank)).json()
            if tasks:
                break
            await test_ui.asyncio.sleep(0.05)
        r = await http.post(f"/api/tasks/{tasks[0]['id']}/complete", json={"decision": "approve",
                                                                           "comment": "fine"}, headers=frank)
        assert r.status_code == 200, r.text
        lead = (await http.post("/api/leads", json={"company": XSS, "contact": "Eve", "email": "eve@x.example",
                                                    "source": "referral", "estimated_value": "1000"},
                                headers=await auth(http, "alice"))).json()["lead_id"]
    erin = await ui.login("erin")
    url = f"/processes/{pid}"
    await until(erin, url, '.bmap.wide [data-step="approval: finance"].is-current')
    assert "waiting for an approval by someone in finance since" in await erin.locator("[data-waiting]").inner_text()
    wide = erin.locator(".bmap.wide")
    assert await wide.is_visible() and not await erin.locator(".bmap.narrow").is_visible()
    assert await wide.locator('[data-state="done"]').count() == 2  # submitted, the manager's approval
    await screenshot(erin, "issue6-process-map")
    await erin.set_viewport_size({"width": 390, "height": 844})
    assert await erin.locator(".bmap.narrow").is_visible() and not await wide.is_visible()
    box = await erin.locator(".bmap.narrow").bounding_box()
    assert box is not None and box["width"] <= 390
    await erin.set_viewport_size({"width": 1280, "height": 800})
    await erin.goto("/processes")
    assert await erin.locator('.monitor-counts tr[data-type="expense_claim"] [data-total]').inner_text() == "1"
    await screenshot(erin, "issue6-process-list")
    alice = await ui.login("alice")
    await alice.goto(f"/processes?business_key={lead}")
    await alice.get_by_role("link", name=lead).click()
    await alice.wait_for_selector(".bmap.wide")
    assert XSS in await alice.locator("h1").inner_text()
    assert await alice.evaluate("window.__xss") is None
    await screenshot(alice, "issue6-process-map-lead")
    ui.assert_no_console_errors()
