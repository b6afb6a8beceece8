"""Capable-to-promise in a real browser (issue 20): alice types a quotation for 10 FAN-200 and sees, line by line as
she types, when each can ship and why ("BLADE-SET: supplier lead time"); with a requested date too soon the fan line
is marked late; the quotation she creates keeps the dates and says it waits for the sales manager; bob sees each
line's promise on his approval task. The same in Chinese. Screenshots in test-artifacts/screenshots/issue20-a-*
(the desktop ones copied to docs/screenshots/issue20-a-*.png)."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.browser import test_ui
from tests.browser.test_languages_ui import login_zh
from tests.browser.test_ui import SHOTS, UI, inbox_row, screenshot

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LEAD = {"contact": "Hank Scorpio", "email": "hank@globex.example", "source": "referral", "estimated_value": "40000"}


def day(n: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=n)).isoformat()


async def shot(page: Any, name: str) -> None:
    await screenshot(page, f"issue20-a-{name}")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHOTS / f"issue20-a-{name}-1280x800.png", DOCS / f"issue20-a-{name}.png")


async def opportunity(ui: UI, company: str) -> str:
    async with httpx.AsyncClient(base_url=ui.base, timeout=30) as http:
        token = (await http.post("/api/auth/token", data={"username": "alice", "password": "demo"})).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        lead = (await http.post("/api/leads", json={**LEAD, "company": company}, headers=auth)).json()["lead_id"]
        r = await http.post(f"/api/leads/{lead}/qualify", json={"decision": "qualified"}, headers=auth)
        return str(r.json()["opportunity_id"])


async def type_quotation(page: Any, requested: str) -> None:
    rows = page.locator("table.quote-lines tbody tr")
    await rows.nth(0).locator("input[name=sku]").fill("FAN-200")
    await rows.nth(0).locator("input[name=qty]").fill("10")
    await rows.nth(1).locator("input[name=sku]").fill("MOTOR-200W")
    await rows.nth(1).locator("input[name=qty]").fill("2")
    await page.locator("input[name=requested_date]").fill(requested)


async def test_alice_sees_each_line_s_promise_as_she_types_and_bob_sees_it_on_his_task(ui: UI) -> None:
    opp = await opportunity(ui, "Globex Corporation")
    alice = await ui.login("alice")
    await alice.goto(f"/opportunities/{opp}")
    rows = alice.locator("table.quote-lines tbody tr")
    await rows.nth(0).locator("input[name=sku]").fill("FAN-200")
    await rows.nth(0).locator("input[name=qty]").fill("10")
    fan = rows.nth(0).locator("output.promise-out")
    await fan.filter(has_text="BLADE-SET").wait_for()
    assert " ".join((await fan.inner_text()).split()) == (
        f"{day(9)} to be made · BLADE-SET: supplier lead time (6 days)")
    await rows.nth(1).locator("input[name=sku]").fill("MOTOR-200W")
    await rows.nth(1).locator("input[name=qty]").fill("2")
    motor = rows.nth(1).locator("output.promise-out")
    await motor.filter(has_text="in stock").wait_for()
    assert " ".join((await motor.inner_text()).split()) == f"{day(0)} from stock · MOTOR-200W: in stock"
    # wanted in 5 days: the fan line turns late, the motors do not
    await alice.locator("input[name=requested_date]").fill(day(5))
    await fan.filter(has_text="late").wait_for()
    assert "late" not in await motor.inner_text()
    await shot(alice, "form-en")

    await alice.get_by_role("button", name="Create quotation").click()
    await alice.wait_for_url(re.compile(r".*/quotations/QT-\d+$"))
    number = alice.url.rsplit("/", 1)[-1]
    main = " ".join((await alice.locator("main").inner_text()).split())
    assert "A line ships after the requested date, so it waits for the sales manager's approval" in main
    assert f"the customer asked for {day(5)}" in main
    lines = alice.locator("table.q-lines tbody tr")
    assert await lines.count() == 2 and await alice.locator("table.q-lines tr.late").count() == 1
    assert "BLADE-SET: supplier lead time (6 days)" in await lines.nth(0).inner_text()
    await shot(alice, "quotation-en")

    bob = await ui.login("bob")
    row = await inbox_row(bob, number)
    assert "can ship" in await row.inner_text()
    await row.get_by_role("link").click()
    await bob.wait_for_url("**/tasks/*")
    card = bob.locator(".card.context")
    facts = " ".join((await card.inner_text()).split())
    assert f"Requested date {day(5)} a line ships later" in facts
    late = card.locator("tr.late")
    assert await late.count() == 1 and "BLADE-SET: supplier lead time (6 days)" in await late.inner_text()
    reasons = await card.locator(".review-reasons").inner_text()
    assert f"line FAN-200 can ship {day(9)}, 4 day(s) after the requested {day(5)}" in reasons
    await shot(bob, "task-en")
    ui.assert_no_console_errors()


async def test_the_same_in_chinese(ui: UI) -> None:
    opp = await opportunity(ui, "Initech")
    alice = await login_zh(ui, "alice")
    await alice.goto(f"/opportunities/{opp}")
    await type_quotation(alice, day(5))
    fan = alice.locator("table.quote-lines tbody tr").nth(0).locator("output.promise-out")
    await fan.filter(has_text="延期").wait_for()
    assert "需生产 · BLADE-SET：供应商交货期（6 天）" in await fan.inner_text()
    await shot(alice, "form-zh")
    await alice.locator("form.quote-form button[type=submit]").click()
    await alice.wait_for_url(re.compile(r".*/quotations/QT-\d+$"))
    number = alice.url.rsplit("/", 1)[-1]
    main = await alice.locator("main").inner_text()
    assert "晚于要求交期" in main and "BLADE-SET：供应商交货期（6 天）" in main and "MOTOR-200W：有现货" in main
    await shot(alice, "quotation-zh")
    bob = await login_zh(ui, "bob")
    row = await inbox_row(bob, number)
    await row.get_by_role("link").click()
    await bob.wait_for_url("**/tasks/*")
    card = await bob.locator(".card.context").inner_text()
    assert "可发货日期" in card and "有行晚于要求交期" in card and "BLADE-SET：供应商交货期（6 天）" in card
    await shot(bob, "task-zh")
    ui.assert_no_console_errors()
