"""Capacity in a real browser (issue 20): carol sees ASSEMBLY overloaded in one week on the planning page, opens the
load table, moves the order that overloads it with the row's form, and the week is no longer overloaded; the
calendar and routing pages; the same pages in Chinese. Screenshots in test-artifacts/screenshots/issue20-e-* (and
the desktop ones copied to docs/screenshots/issue20-e-*.png)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.browser import test_ui
from tests.browser.test_languages_ui import login_zh
from tests.browser.test_ui import SHOTS, UI, screenshot

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


async def shot(page: Any, name: str) -> None:
    await screenshot(page, f"issue20-e-{name}")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHOTS / f"issue20-e-{name}-1280x800.png", DOCS / f"issue20-e-{name}.png")


async def fans_for_stock(ui: UI, qty: str, due: str) -> str:
    async with httpx.AsyncClient(base_url=ui.base, timeout=30) as http:
        token = (await http.post("/api/auth/token", data={"username": "carol", "password": "demo"})).json()
        r = await http.post("/api/production-orders", headers={"Authorization": f"Bearer {token['access_token']}"},
                            json={"sku": "FAN-200", "qty": qty, "due_date": due})
        assert r.status_code == 201, r.text
        return str(r.json()["production_order_id"])


async def test_carol_sees_a_week_overloaded_and_moves_the_order(ui: UI) -> None:
    today = datetime.now(UTC).date()
    friday = today - timedelta(days=today.weekday()) + timedelta(weeks=3, days=4)
    number = await fans_for_stock(ui, "50", friday.isoformat())  # 1 h setup + 50 h on ASSEMBLY, Tue to Thu

    carol = await ui.login("carol")
    await carol.goto("/planning")
    note = carol.locator("#overloads")
    assert "ASSEMBLY" in await note.inner_text() and "51 h for" in await note.inner_text()  # 40 h, 32 at Christmas
    await shot(carol, "planning-overloaded-en")

    await carol.get_by_role("link", name="Load of the work centres →").click()
    await carol.wait_for_url("**/planning/capacity")
    cell = carol.locator("section[id^='cell-ASSEMBLY-']", has_text=number)
    assert "overloaded by" in await cell.inner_text()
    await shot(carol, "load-overloaded-en")

    await cell.get_by_label("Due date").fill((friday + timedelta(days=14)).isoformat())
    await cell.get_by_role("button", name="Move to these dates").click()
    await carol.wait_for_url("**/planning/capacity**")
    main = await carol.locator("main").inner_text()
    assert f"{number} is moved" in main and "No work centre is loaded past its hours" in main, main[:1000]
    await shot(carol, "load-levelled-en")

    await carol.goto(f"/production-orders/{number}")
    assert await carol.get_by_role("heading", name="Move the order").count() == 1
    await carol.goto("/work-centres/ASSEMBLY/calendar")
    assert await carol.get_by_label("Monday").input_value() == "8"
    await shot(carol, "calendar-en")
    await carol.goto("/routings/FAN-200")
    await carol.get_by_label("Hours per unit").first.wait_for()
    await shot(carol, "routing-en")

    zh = await login_zh(ui, "carol")
    await zh.goto("/planning/capacity")
    assert "工作中心负荷" in await zh.locator("main").inner_text()
    await shot(zh, "load-zh")
    await zh.goto("/routings/FAN-200")
    assert "工艺路线" in await zh.locator("main").inner_text()
    await shot(zh, "routing-zh")
    await zh.goto("/work-centres/ASSEMBLY/calendar")
    assert "星期一" in await zh.locator("main").inner_text()
    await shot(zh, "calendar-zh")
    ui.assert_no_console_errors()


async def test_the_capacity_pages_have_no_serious_or_critical_axe_violation(ui: UI) -> None:
    from tests.browser.test_accessibility import check

    runs: list[dict[str, Any]] = []
    carol = await ui.login("carol")
    for path in ("/planning", "/planning/capacity", "/work-centres/ASSEMBLY/calendar", "/routings/FAN-200"):
        await carol.goto(path)
        await check(carol, runs)
    bad = [(r["url"], v["id"], v["targets"]) for r in runs for v in r["violations"]
           if v["impact"] in ("serious", "critical")]
    assert not bad, bad
