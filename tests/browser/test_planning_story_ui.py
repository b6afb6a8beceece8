"""Issue 20's story in a real browser, as tests/e2e/test_planning_story.py tells it over HTTP, on the demo company
with the forecasts `valueloop up --demo` adds: alice types a quotation for 10 FAN-200 and sees each line's promise
and why as she types; bob approves it from his task, which shows the promise; carol types next month's 50 fans on
the forecast page, runs MRP (twelve planned orders, ASSEMBLY overloaded in one week), releases all twelve with one
click, and moves the fan order on the load table until no week is overloaded; frank approves Northwind's
requisition; ivan receives 10 blade sets into quarantine and inspects them: 8 accepted, 2 rejected as damaged, the
nonconformance record. In English (make test) and in Chinese (slow). Each page's screenshot goes to
docs/screenshots/issue20-story-<n>-<page>-<lang>.png (and, desktop and phone, to test-artifacts/screenshots)."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.inventory.quarantine_tables import QuarantineLot
from domain.planning import forecast_demo
from domain.planning.forecast_rules import add_months, month_label
from domain.planning.release_tables import PlannedOrderRelease
from domain.purchasing.tables import PurchaseOrder, PurchaseRequisition
from tests.browser import test_ui
from tests.browser.test_languages_ui import login_zh
from tests.browser.test_promise_ui import opportunity
from tests.browser.test_ui import SHOTS, UI, inbox_row, screenshot
from tests.helpers import eventually

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TODAY = datetime.now(UTC).date()
M1 = month_label(add_months(TODAY.replace(day=1), 1))

# What each language's pages say at the steps the walk checks.
WORDS = {
    "en": {"why": "BLADE-SET: supplier lead time (6 days)", "late": "late", "made": "12 of 12 created",
           "levelled": "No work centre is loaded past its hours", "inspected": "8 accepted into stock, 2 rejected on"},
    "zh": {"why": "BLADE-SET：供应商交货期（6 天）", "late": "延期", "made": "已创建 12 / 12",
           "levelled": "没有工作中心超负荷", "inspected": "NCR-"},
}


def day(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


async def login(ui: UI, lang: str, user: str) -> Any:
    return await (login_zh(ui, user) if lang == "zh" else ui.login(user))


async def shot(page: Any, n: int, name: str, lang: str) -> None:
    stem = f"issue20-story-{n}-{name}-{lang}"
    await screenshot(page, stem)
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHOTS / f"{stem}-1280x800.png", DOCS / f"{stem}.png")


async def main_text(page: Any) -> str:
    return " ".join((await page.locator("main").inner_text()).split())


async def approve_from_the_inbox(page: Any, key: str) -> None:
    row = await inbox_row(page, key)
    await row.get_by_role("link").first.click()
    await page.wait_for_url("**/tasks/*")
    await page.locator("button[name=decision][value=approve]").click()
    await page.wait_for_load_state()


async def walk(ui: UI, lang: str) -> None:
    w = WORDS[lang]
    with ui.db.write() as s:
        forecast_demo.load(s)  # what `valueloop up --demo` adds to the demo company

    # alice types the quotation: each line's promise and why, before she sends it
    opp = await opportunity(ui, "Globex Corporation")
    alice = await login(ui, lang, "alice")
    await alice.goto(f"/opportunities/{opp}")
    row = alice.locator("table.quote-lines tbody tr").nth(0)
    await row.locator("input[name=sku]").fill("FAN-200")
    await row.locator("input[name=qty]").fill("10")
    await row.locator("input[name=unit_price]").fill("500")
    await alice.locator("input[name=requested_date]").fill(day(5))
    promise = row.locator("output.promise-out")
    await promise.filter(has_text=w["late"]).wait_for()
    said = " ".join((await promise.inner_text()).split())
    assert day(9) in said and w["why"] in said, said
    await shot(alice, 1, "quotation-typed", lang)
    await alice.locator("form.quote-form button[type=submit]").click()
    await alice.wait_for_url(re.compile(r".*/quotations/QT-\d+$"))
    quotation = alice.url.rsplit("/", 1)[-1]
    assert w["why"] in await main_text(alice)
    await shot(alice, 2, "quotation", lang)

    # bob sees the promise on his approval task and approves
    bob = await login(ui, lang, "bob")
    row = await inbox_row(bob, quotation)
    await row.get_by_role("link").first.click()
    await bob.wait_for_url("**/tasks/*")
    card = bob.locator(".card.context")
    assert w["why"] in " ".join((await card.inner_text()).split()) and await card.locator("tr.late").count() == 1
    await shot(bob, 3, "approval-task", lang)
    await bob.locator("button[name=decision][value=approve]").click()
    await bob.wait_for_load_state()

    # carol types next month's forecast and runs MRP: twelve planned orders, ASSEMBLY overloaded in one week
    carol = await login(ui, lang, "carol")
    await carol.goto("/planning/forecasts")
    await carol.locator("#new_sku_0").fill("FAN-200")
    await carol.locator(f'[name="new_0:{M1}"]').fill("50")
    await carol.locator('form[action="/planning/forecasts"] button[type=submit]').click()
    await carol.wait_for_url("**/planning/forecasts?from=*")
    assert await carol.locator(f"#f-FAN-200-{M1}").input_value() == "50"
    await shot(carol, 4, "forecast", lang)
    await carol.locator("#run button[type=submit]").click()
    await carol.wait_for_url("**/planning/mrp-runs/MRP-*")
    run = carol.url.rsplit("/", 1)[-1]
    assert await carol.locator('input[name="planned"]').count() == 12
    assert "ASSEMBLY" in await main_text(carol)
    await shot(carol, 5, "mrp-run", lang)

    # released in one click, once
    await carol.locator("#release-form button[value=all]").click()
    await carol.wait_for_url(f"**/planning/mrp-runs/{run}")
    await eventually(ui.db, lambda s: s.execute(select(func.count()).select_from(PlannedOrderRelease).where(
        PlannedOrderRelease.released_as.is_not(None))).scalar_one() == 12, limit=60)
    await carol.goto(f"/planning/mrp-runs/{run}")
    assert w["made"] in await main_text(carol) and await carol.locator('input[name="planned"]').count() == 0
    await shot(carol, 6, "released", lang)

    # the load table: the fans' production order overloads ASSEMBLY; carol gives it two weeks more
    await carol.goto("/planning/capacity?run=none")
    cell = carol.locator("section[id^='cell-ASSEMBLY-']", has=carol.locator(".badge.s-rejected"))
    assert await cell.count() == 1
    order = cell.locator("tr", has_text="FAN-200")
    mo = (await order.locator("a").first.inner_text()).strip()
    due = await order.locator("input[name=due_date]").input_value()
    await shot(carol, 7, "load-overloaded", lang)
    later = datetime.fromisoformat(due).date() + timedelta(days=14)  # under 8 h a day
    await order.locator("input[name=due_date]").fill(later.isoformat())
    await order.locator("button[type=submit]").click()
    await carol.wait_for_url("**/planning/capacity**")
    text = await main_text(carol)
    assert mo in text and w["levelled"] in text, text[:1000]
    await shot(carol, 8, "load-levelled", lang)

    # frank approves Northwind's requisition of blade sets; ivan receives 10 of them into quarantine
    await carol.goto(f"/planning/mrp-runs/{run}?sku=BLADE-SET")
    pr = re.findall(r"PR-\d+", await main_text(carol))[0]
    frank = await login(ui, lang, "frank")
    await approve_from_the_inbox(frank, pr)
    po = await eventually(ui.db, lambda s: s.execute(select(PurchaseOrder.number).join(
        PurchaseRequisition, PurchaseRequisition.purchase_order_id == PurchaseOrder.id).where(
        PurchaseRequisition.number == pr)).scalar(), limit=60)
    ivan = await login(ui, lang, "ivan")
    await ivan.goto("/warehouse")
    await ivan.locator(f'a[href="/warehouse/receive/{po}"]').click()
    await ivan.wait_for_url(f"**/warehouse/receive/{po}")
    await ivan.locator("#qty_0").fill("10")
    await shot(ivan, 9, "receive", lang)
    await ivan.locator("form button[type=submit]").last.click()
    await ivan.wait_for_load_state()
    lot = await eventually(ui.db, lambda s: s.execute(select(QuarantineLot.number).where(
        QuarantineLot.order_number == po, QuarantineLot.process_id != "")).scalar(), limit=60)
    await ivan.goto("/items/BLADE-SET")
    assert (await ivan.locator("#quarantine").inner_text()).startswith("10")

    # the inspection, from ivan's inbox: 8 accepted, 2 rejected as damaged
    row = await inbox_row(ivan, lot)
    await row.locator(f'a[href="/quality/inspections/{lot}"]').click()
    await ivan.wait_for_url(f"**/quality/inspections/{lot}")
    form = ivan.locator("#inspect-form")
    await form.locator("[name=accepted_qty]").fill("8")
    await form.locator("[name=rejected_qty]").fill("2")
    await form.locator("[name=reason]").select_option("damaged")
    await form.locator("[name=note]").fill("two hubs cracked")
    await shot(ivan, 10, "inspection", lang)
    await form.locator("button[type=submit]").click()
    await ivan.wait_for_url(f"**/quality/inspections/{lot}")
    assert w["inspected"] in await main_text(ivan)
    assert (await ivan.locator("#accepted").inner_text()).strip() == "8"
    await shot(ivan, 11, "inspected", lang)
    await ivan.locator("main a", has_text="NCR-").first.click()
    await ivan.wait_for_url("**/quality/nonconformances/NCR-*")
    text = await main_text(ivan)
    assert "two hubs cracked" in text and "Northwind Components" in text and po in text
    await shot(ivan, 12, "nonconformance", lang)
    ui.assert_no_console_errors()


async def test_the_story_in_english(ui: UI) -> None:
    await walk(ui, "en")


@pytest.mark.slow
async def test_the_story_in_chinese(ui: UI) -> None:
    await walk(ui, "zh")
