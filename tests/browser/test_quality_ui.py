"""Quality in Chromium (issue 20, F): ivan finds the inspection of the blade sets he received in his inbox, tries a
result that adds up to more than the lot (refused with a sentence, nothing stored), then accepts 8 and rejects 2 as
damaged; the nonconformance record and the item's quarantine show; the same pages in Chinese. Screenshots go to
docs/screenshots/issue20-f-*.png (desktop) and test-artifacts/screenshots (desktop and phone)."""

from __future__ import annotations

import asyncio
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
    await screenshot(page, f"issue20-f-{name}")
    DOCS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(DOCS / f"issue20-f-{name}.png"), full_page=True)


async def receive_blade_sets(base: str, parts: list[int]) -> list[str]:
    """dave orders sum(parts) blade sets, frank approves, ivan receives them in `parts`: the lots, oldest first."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        async def as_(user: str, method: str, url: str, **kw: Any) -> httpx.Response:
            token = (await http.post("/api/auth/token", data={"username": user, "password": "demo"})).json()
            return await http.request(method, url, headers={"Authorization": f"Bearer {token['access_token']}"},
                                      **kw)

        r = await as_("dave", "POST", "/api/purchase-requisitions", json={
            "lines": [{"sku": "BLADE-SET", "qty": sum(parts), "est_unit_price": "18"}], "justification": "blades"})
        assert r.status_code == 201, r.text
        req = r.json()["requisition_id"]
        for _ in range(200):
            tasks = (await as_("frank", "GET", "/api/tasks", params={"business_key": req})).json()
            if tasks:
                break
            await asyncio.sleep(0.1)
        r = await as_("frank", "POST", f"/api/tasks/{tasks[0]['id']}/complete", json={"decision": "approve"})
        assert r.status_code == 200, r.text
        for _ in range(200):
            po = (await as_("dave", "GET", f"/api/purchase-requisitions/{req}")).json()["purchase_order_id"]
            if po:
                break
            await asyncio.sleep(0.1)
        for qty in parts:
            r = await as_("ivan", "POST", f"/api/purchase-orders/{po}/receipts",
                          json={"lines": [{"sku": "BLADE-SET", "qty": qty}]})
            assert r.status_code == 201, r.text
        for _ in range(200):
            lots = [x for x in (await as_("ivan", "GET", "/api/inspections")).json() if x["order_number"] == po]
            if len(lots) == len(parts) and all(x["process_id"] for x in lots):
                return sorted(x["number"] for x in lots)
            await asyncio.sleep(0.1)
    raise AssertionError("the inspections did not open")


async def test_ivan_inspects_blade_sets_in_english_and_in_chinese(ui: UI) -> None:
    first, second = await receive_blade_sets(ui.base, [10, 4])
    ivan = await ui.login("ivan")
    row = ivan.locator("tr", has_text=first)
    await shot(ivan, "inbox-en")
    await row.get_by_role("link", name="Inspect", exact=True).click()
    await ivan.wait_for_url(f"**/quality/inspections/{first}")
    assert "not available" in await ivan.locator("main").inner_text()
    # more than was received: refused with the sentence, nothing stored
    await ivan.get_by_label("Accepted quantity").fill("9")
    await ivan.get_by_label("Rejected quantity").fill("2")
    await ivan.get_by_label("Reason for a rejection").select_option("damaged")
    await ivan.get_by_role("button", name="Record the inspection").click()
    main = await ivan.locator("main").inner_text()
    assert "nothing was changed" in main and "more than the 10 received" in main
    await shot(ivan, "inspection-refused-en")
    # 8 accepted, 2 rejected as damaged
    await ivan.get_by_label("Accepted quantity").fill("8")
    await ivan.get_by_label("Rejected quantity").fill("2")
    await ivan.get_by_label("Reason for a rejection").select_option("damaged")
    await ivan.locator("#inspect-form").get_by_label("Note", exact=True).fill("two hubs cracked")
    await ivan.get_by_role("button", name="Record the inspection").click()
    await ivan.wait_for_url(f"**/quality/inspections/{first}")
    main = await ivan.locator("main").inner_text()
    assert "8 accepted into stock, 2 rejected on NCR-" in main
    assert (await ivan.locator("#accepted").inner_text()).strip() == "8"
    await shot(ivan, "inspection-done-en")
    await ivan.get_by_role("link", name="NCR-00001").click()
    await ivan.wait_for_url("**/quality/nonconformances/NCR-00001")
    main = await ivan.locator("main").inner_text()
    assert "Damaged" in main and "two hubs cracked" in main and "Northwind Components" in main
    await shot(ivan, "nonconformance-en")
    await ivan.goto("/quality/inspections")
    await shot(ivan, "inspections-en")
    admin = await ui.login("admin")
    await admin.goto("/items/BLADE-SET")
    assert (await admin.locator("#quarantine").inner_text()).startswith("4")
    await shot(admin, "item-quarantine-en")
    await admin.locator("#inspection-flags").get_by_label("Inspect goods received from production").check()
    await admin.get_by_role("button", name="Save the inspection settings").click()
    await admin.wait_for_url("**/items/BLADE-SET")
    assert "The inspection settings of BLADE-SET are saved." in await admin.locator("main").inner_text()
    assert await admin.locator("#inspection-flags").get_by_label("Inspect goods received from production").is_checked()
    await admin.goto("/dashboard")
    fpy = await admin.locator("#first-pass-yield").inner_text()
    assert "BLADE-SET" in fpy and "80.0 %" in fpy
    await shot(admin, "dashboard-first-pass-yield-en")

    zh = await login_zh(ui, "ivan")
    await zh.goto(f"/quality/inspections/{second}")
    main = await zh.locator("main").inner_text()
    assert "合格数量" in main and "记录检验结果" in main
    await shot(zh, "inspection-form-zh")
    await zh.get_by_label("合格数量", exact=True).fill("4")
    await zh.get_by_role("button", name="记录检验结果").click()
    await zh.wait_for_url(f"**/quality/inspections/{second}")
    assert "合格入库" in await zh.locator("main").inner_text()
    await zh.goto("/quality/nonconformances")
    assert "损坏" in await zh.locator("main").inner_text()
    await shot(zh, "nonconformances-zh")
    await zh.goto("/quality/inspections")
    await shot(zh, "inspections-zh")
    await zh.goto(f"/quality/inspections/{first}")
    await shot(zh, "inspection-done-zh")
    ui.assert_no_console_errors(422)  # the refused result
