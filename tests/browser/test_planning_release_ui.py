"""Issue 20's story in a real browser, in English and Chinese: carol runs MRP over four open orders and releases
its twelve planned orders in one click (the run page: checkboxes, totals, Release; then "12 of 12 created" and what
each became), and makes a production order for stock from the production list. Screenshots in
test-artifacts/screenshots/issue20-c-* and, the desktop ones, docs/screenshots/issue20-c-*.png."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from domain.planning.release_tables import PlannedOrderRelease
from tests.browser import test_ui
from tests.browser.test_languages_ui import login_zh
from tests.browser.test_ui import SHOTS, UI, screenshot
from tests.helpers import eventually
from tests.unit.test_planning_release import open_orders

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui
pytestmark = test_ui.pytestmark
DOCS = SHOTS.parents[1] / "docs" / "screenshots"
TODAY = datetime.now(UTC).date()


async def shot(page: Any, name: str) -> None:
    await screenshot(page, f"issue20-c-{name}")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHOTS / f"issue20-c-{name}-1280x800.png", DOCS / f"issue20-c-{name}.png")


async def run_mrp(page: Any, button: str) -> str:
    await page.goto("/planning")
    await page.get_by_role("button", name=button).click()
    await page.wait_for_url("**/planning/mrp-runs/MRP-*")
    return str(page.url.rsplit("/", 1)[1])


async def test_carol_releases_twelve_planned_orders_in_one_click(ui: UI) -> None:
    open_orders(ui.db, 4, start=TODAY + timedelta(days=30))
    carol = await ui.login("carol")
    run = await run_mrp(carol, "Run MRP over all open orders")
    boxes = carol.locator('input[name="planned"]')
    assert await boxes.count() == 12
    # ticking shows the ticked totals (the page's own script); the server counts again on submit
    await carol.get_by_label("Tick every planned order not yet released").check()
    assert await carol.locator('[data-ticked-count="production"]').inner_text() == "8"
    assert await carol.locator('[data-ticked-count="purchase"]').inner_text() == "4"
    await carol.get_by_label("Tick every planned order not yet released").uncheck()
    await carol.get_by_label(f"{run}-1", exact=True).check()
    assert await carol.locator('[data-ticked-count="production"]').inner_text() == "1"
    await shot(carol, "run")
    await carol.get_by_role("button", name="Release all 12 not yet released").click()  # the one click
    await carol.wait_for_url(f"**/planning/mrp-runs/{run}")
    assert "being made into production orders and requisitions" in await carol.locator("main").inner_text()
    await eventually(ui.db, lambda s: s.execute(select(func.count()).select_from(PlannedOrderRelease).where(
        PlannedOrderRelease.released_as.is_not(None))).scalar_one() == 12, limit=60)
    await carol.goto(f"/planning/mrp-runs/{run}")
    main = await carol.locator("main").inner_text()
    assert "12 of 12 created" in main and await boxes.count() == 0
    assert "Every planned order shown is released." in main
    await shot(carol, "released")
    await carol.locator("#releases a").first.click()  # the release's process on the monitor
    await carol.wait_for_url("**/processes/**")
    assert "12 of 12 created" in await carol.locator("main").inner_text()
    await shot(carol, "monitor")

    await carol.goto("/production-orders")
    await carol.get_by_label("Item (SKU)").fill("FAN-200")
    await carol.get_by_label("Quantity").fill("2")
    await carol.get_by_label("Due date").fill((TODAY + timedelta(days=9)).isoformat())
    await shot(carol, "new-order")
    await carol.get_by_role("button", name="Make the production order").click()
    await carol.wait_for_url("**/production-orders/MO-*")
    assert "for stock is made" in await carol.locator("main").inner_text()
    ui.assert_no_console_errors()


async def test_the_release_form_in_chinese(ui: UI) -> None:
    open_orders(ui.db, 4, start=TODAY + timedelta(days=30))
    carol = await login_zh(ui, "carol")
    run = await run_mrp(carol, "对所有未完成订单运行 MRP")
    await carol.get_by_label(f"{run}-1", exact=True).check()
    await carol.get_by_label(f"{run}-5", exact=True).check()
    main = await carol.locator("main").inner_text()
    assert "下达勾选的计划订单" in main and "合计（金额按标准成本）" in main
    await shot(carol, "run-zh")
    await carol.get_by_role("button", name="下达勾选的计划订单").click()
    await carol.wait_for_url(f"**/planning/mrp-runs/{run}")
    await eventually(ui.db, lambda s: s.execute(select(func.count()).select_from(PlannedOrderRelease).where(
        PlannedOrderRelease.released_as.is_not(None))).scalar_one() == 2, limit=60)
    await carol.goto(f"/planning/mrp-runs/{run}")
    assert "已创建 2 / 2" in await carol.locator("main").inner_text()
    await shot(carol, "released-zh")
    await carol.goto("/production-orders")
    await carol.get_by_label("物料（SKU）").fill("BLADE-SET")
    await carol.get_by_label("数量").fill("2")
    await carol.get_by_label("到期日").fill((TODAY + timedelta(days=9)).isoformat())
    await carol.get_by_role("button", name="创建生产任务单").click()
    assert "生产任务单未创建" in await carol.locator("main").inner_text()  # a bought item: refused, nothing made
    await shot(carol, "new-order-refused-zh")
    ui.assert_no_console_errors(422)
