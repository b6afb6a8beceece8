"""Net-change MRP in Chromium (issue 20, D2): carol re-plans from the planning page (the first is a full run: the
process holds no state yet), ivan scraps motors, carol re-plans again: one item re-planned, the run page says from
which run; the same page in Chinese. Screenshots go to docs/screenshots/issue20-d2-*.png and test-artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.browser import test_ui
from tests.browser.test_languages_ui import login_zh
from tests.browser.test_ui import UI, screenshot

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


async def shot(page: Any, name: str) -> None:
    await screenshot(page, f"issue20-d2-{name}")  # desktop and phone sizes: the page must not scroll sideways
    DOCS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(DOCS / f"issue20-d2-{name}.png"), full_page=True)


async def scrap_motors(base: str, qty: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        token = (await http.post("/api/auth/token", data={"username": "ivan", "password": "demo"})).json()
        r = await http.post("/api/stock/adjustments", json={"sku": "MOTOR-200W", "qty": -qty, "reason": "scrap"},
                            headers={"Authorization": f"Bearer {token['access_token']}"})
        assert r.status_code == 201, r.text


async def test_carol_replans_what_changed_in_english_and_in_chinese(ui: UI) -> None:
    carol = await ui.login("carol")
    await carol.goto("/planning")
    await carol.get_by_role("button", name="Re-plan what changed (net change)").click()
    await carol.wait_for_url("**/planning/mrp-runs/MRP-*")
    first = carol.url.rsplit("/", 1)[1]
    assert "over all open orders" in await carol.locator("main").inner_text()  # no state yet: a full run

    await scrap_motors(ui.base, 28)  # 2 left, under the safety stock of 5
    await carol.goto("/planning")
    await carol.get_by_role("button", name="Re-plan what changed (net change)").click()
    await carol.wait_for_url("**/planning/mrp-runs/MRP-*")
    main = await carol.locator("main").inner_text()
    assert "1 item(s) re-planned since the latest run" in main
    assert f"net change from {first} (1 item(s) re-planned)" in main
    assert "MOTOR-200W" in main
    await shot(carol, "run-en")
    await carol.goto("/planning")
    assert f"net change from {first}" in await carol.locator("main").inner_text()
    await shot(carol, "planning-en")

    zh = await login_zh(ui, "carol")
    await zh.goto("/planning")
    main = await zh.locator("main").inner_text()
    assert "只重排变动部分（净改变）" in main and f"基于 {first} 的净改变（重新计划 1 个物料）" in main
    assert "全部未结订单及销售预测" in main
    await shot(zh, "planning-zh")
    ui.assert_no_console_errors()
