"""Sales forecasts in Chromium (issue 20, B): carol opens Planning → Sales forecasts, types next month's 50 fans in
a new row (a bad quantity first: refused with the sentence, what she typed kept), saves (axe-core finds no
serious violation on the grid), runs MRP from the same page and finds the run planning the fans pegged to the
month's forecast; the page in Chinese; a fan order's kitting
lists the housing to build. Screenshots go to docs/screenshots/issue20-b-*.png (desktop) and
test-artifacts/screenshots (desktop and phone)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from domain.planning.forecast_rules import add_months, month_label
from domain.planning.forecast_tables import Forecast
from tests.browser import test_ui
from tests.browser.test_accessibility import BLOCKING, check
from tests.browser.test_languages_ui import login_zh
from tests.browser.test_ui import UI, screenshot

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


async def shot(page: Any, name: str) -> None:
    await screenshot(page, f"issue20-b-{name}")
    DOCS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(DOCS / f"issue20-b-{name}.png"), full_page=True)


def next_month() -> str:
    return month_label(add_months(datetime.now(UTC).date().replace(day=1), 1))


async def test_carol_enters_next_months_forecast_and_runs_mrp(ui: UI) -> None:
    m1 = next_month()
    carol = await ui.login("carol")
    await carol.goto("/planning")
    await carol.get_by_role("link", name="Sales forecasts →").click()
    await carol.wait_for_url("**/planning/forecasts")
    await carol.get_by_label("Item (SKU) of new row 1").fill("FAN-200")
    await carol.get_by_label(f"Forecast of new row 1 for {m1}").fill("fifty")
    await carol.get_by_role("button", name="Save forecasts").click()
    main = await carol.locator("main").inner_text()
    assert "nothing was changed" in main and "must be a number" in main
    assert await carol.get_by_label("Item (SKU) of new row 1").input_value() == "FAN-200"  # kept
    await carol.get_by_label(f"Forecast of new row 1 for {m1}").fill("50")
    await carol.get_by_role("button", name="Save forecasts").click()
    await carol.wait_for_url("**/planning/forecasts?from=*")
    main = await carol.locator("main").inner_text()
    assert "Forecasts saved: 1 new, 0 changed, 0 removed" in main and "left 50" in main
    assert await carol.get_by_label(f"Forecast of FAN-200 for {m1}").input_value() == "50"
    with ui.db.read() as s:
        assert s.execute(select(Forecast.qty)).scalar_one() == 50
    await shot(carol, "forecasts-en")
    runs: list[dict[str, Any]] = []
    await check(carol, runs)  # axe-core: no serious or critical violation on the grid
    assert [v for v in runs[0]["violations"] if v["impact"] in BLOCKING] == []

    await carol.get_by_role("button", name="Run MRP over all open orders and forecasts").click()
    await carol.wait_for_url("**/planning/mrp-runs/MRP-*")
    main = await carol.locator("main").inner_text()
    assert f"FC {m1}" in main and "FAN-200" in main
    await shot(carol, "mrp-run-en")
    await carol.get_by_role("link", name=f"FC {m1}").first.click()  # the peg leads to the month's forecasts
    await carol.wait_for_url(f"**/planning/forecasts?from={m1}")

    zh = await login_zh(ui, "carol")
    await zh.goto("/planning/forecasts")
    main = await zh.locator("main").inner_text()
    assert "销售预测" in main and "保存预测" in main and "剩余 50" in main
    await shot(zh, "forecasts-zh")


async def test_a_fan_order_lists_the_housing_to_build(ui: UI) -> None:
    alice = await ui.login("alice")
    await alice.goto("/sales-orders")
    carol = await ui.login("carol")
    # No housing left in stock (ivan counts none): the order's 5 fans to make need 5 housings, all to build.
    ivan = await ui.login("ivan")
    r = await ivan.request.post("/api/stock/adjustments", data={"sku": "FAN-HOUSING", "qty": "-2",
                                                                 "reason": "count: scrapped"})
    assert r.status == 201, await r.text()
    r = await alice.request.get("/api/customers")
    globex = next(c["id"] for c in await r.json() if c["name"] == "Globex Corporation")
    r = await alice.request.post("/api/sales-orders", data={
        "customer_id": globex, "lines": [{"sku": "FAN-200", "qty": 10, "unit_price": "450"}]})
    assert r.status == 201, await r.text()
    so = (await r.json())["sales_order_id"]
    await carol.goto(f"/sales-orders/{so}")
    kitting = carol.locator("#kitting")
    await kitting.wait_for()
    assert "FAN-HOUSING" in await kitting.inner_text()
    await kitting.scroll_into_view_if_needed()
    await shot(carol, "kitting-en")
    zh = await login_zh(ui, "carol")
    await zh.goto(f"/sales-orders/{so}")
    assert "FAN-HOUSING" in await zh.locator("#kitting").inner_text()
    await shot(zh, "kitting-zh")
