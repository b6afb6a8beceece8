"""The master data pages in a real browser: a planner imports 300 items (3,000 in the slow variant) from a CSV file (preview, then Import all
with the progress bar kept up to date by the page's own script, under its CSP), finds them in the list, and
opens a BOM's tree and an item's page; screenshots at desktop and phone width, no console error."""

from __future__ import annotations

import re

import pytest

from tests.browser import test_ui
from tests.browser.test_ui import UI, screenshot

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark


# 300 rows in make test; the 3,000-row import (its progress bar over several batches) is the slow variant.
@pytest.mark.parametrize("ROWS", [300, pytest.param(3000, marks=pytest.mark.slow)])
async def test_a_large_csv_import_with_its_progress_bar_then_the_items_and_a_bom_tree(ui: UI, ROWS: int) -> None:
    admin = await ui.login("carol")  # a planner: may import items (admin's menu is wider than 1280 px today)
    await admin.goto("/import")
    await admin.get_by_label("The file holds").select_option("items")
    content = "sku,name,kind,standard_cost\n" + "".join(f"UI-{n:05},Part {n},purchased,{n % 97}.25\n"
                                                          for n in range(1, ROWS + 1))
    await admin.get_by_label("CSV file").set_input_files(
        files=[{"name": "parts.csv", "mimeType": "text/csv", "buffer": content.encode()}])
    await admin.get_by_role("button", name="Upload and check").click()
    await admin.get_by_text("Every row can be imported").wait_for()
    await screenshot(admin, "issue18-import-preview")
    await admin.get_by_role("button", name=f"Import all {ROWS} rows").click()
    done = admin.get_by_text(f"All {ROWS} rows are imported")
    bar = admin.locator("progress#import-progress")
    if await bar.count():
        seen = int(await bar.get_attribute("max") or 0)
        assert seen == ROWS
    await done.wait_for(timeout=60_000)  # the script reloads the page when the import has ended
    await screenshot(admin, "issue18-import-done")

    last = f"UI-{ROWS - 1:05}"[:-1]  # UI-0299 for 3,000 rows: UI-02990 … UI-02999
    await admin.goto(f"/items?q={last}")
    assert f"Part {int(last[3:]) * 10}" in await admin.locator("table.grid").inner_text()
    await admin.goto("/items")
    assert re.search(r"\d+ found", await admin.locator(".page-head").inner_text())
    await screenshot(admin, "issue18-items")
    await admin.goto("/boms/FAN-200")
    await admin.get_by_text("STEEL-SHEET").first.wait_for()
    await screenshot(admin, "issue18-bom-tree")
    await admin.goto("/boms/FAN-200/edit")
    await screenshot(admin, "issue18-bom-editor")
    await admin.goto("/items/BOLT-M8")
    await screenshot(admin, "issue18-item")
    ui.assert_no_console_errors()


async def test_the_master_data_pages_have_no_serious_or_critical_axe_violation(ui: UI) -> None:
    axe = pytest.importorskip("axe_playwright_python.async_playwright",
                              reason="the axe-playwright-python package is not installed")
    page = await ui.login("carol")
    found = []
    for path in ("/items", "/items/new", "/items/BOLT-M8", "/items/FAN-200/edit", "/boms", "/boms/FAN-200",
                 "/boms/FAN-200/edit", "/work-centres", "/import"):
        await page.goto(path)
        result = (await axe.Axe().run(page)).response
        found += [(path, v["id"], v.get("impact"), [n.get("target") for n in v.get("nodes", [])[:3]])
                  for v in result.get("violations", []) if v.get("impact") in ("serious", "critical")]
    await page.goto("/import")
    await page.get_by_label("CSV file").set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"sku,name,kind\nX-1,One,bought\n"}])
    await page.get_by_role("button", name="Upload and check").click()
    await page.get_by_text("cannot be imported").wait_for()
    result = (await axe.Axe().run(page)).response
    found += [("/import/<id>", v["id"], v.get("impact")) for v in result.get("violations", [])
              if v.get("impact") in ("serious", "critical")]
    assert not found, found
    ui.assert_no_console_errors()
