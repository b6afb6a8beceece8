"""The dashboard and the incidents page in Chromium: the charts are drawn (inline SVG, no script), the page
fits a 1280×800 screen and a 390 px phone without sideways scrolling, and no JavaScript error shows up;
screenshots go to test-artifacts/screenshots/issue6-*.png."""

from __future__ import annotations

import httpx

from tests.browser import test_ui
from tests.browser.test_ui import UI, screenshot

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark

LINE = {"category": "travel", "amount": "100.00", "currency": "USD", "date": "2026-11-02", "description": "taxi"}


async def test_the_dashboard_draws_its_charts_at_desktop_and_phone_width(ui: UI) -> None:
    async with httpx.AsyncClient(base_url=ui.base, timeout=30) as http:
        token = (await http.post("/api/auth/token", data={"username": "erin", "password": "demo"})).json()
        for amount in ("120.00", "80.00", "3400.00"):
            r = await http.post("/api/expense-claims", json={"lines": [{**LINE, "amount": amount}]},
                                headers={"Authorization": f"Bearer {token['access_token']}"})
            assert r.status_code in (200, 201), r.text
    heidi = await ui.login("heidi")
    await heidi.get_by_role("link", name="Dashboard").click()
    await heidi.wait_for_url("**/dashboard")
    assert await heidi.locator("svg.chart").count() == 5
    flow = heidi.locator("svg.chart").first
    box = await flow.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    assert await heidi.locator("svg.chart polyline").count() >= 2
    assert "3" in await heidi.locator(".kpis li").first.inner_text()
    await screenshot(heidi, "issue6-dashboard")

    admin = await ui.login("admin")
    await admin.goto("/dashboard")
    await admin.get_by_role("link", name="Incidents").click()
    await admin.wait_for_url("**/incidents")
    assert "No failing activities" in await admin.locator("main").inner_text()
    await screenshot(admin, "issue6-incidents")
    ui.assert_no_console_errors()
