"""Accessibility of the main pages (issue 18 item 7): axe-core (axe-playwright-python) in Chromium finds no
serious or critical violation on the login, inbox, task, requests, processes, a process, dashboard, pipeline,
a sales order, production, planning and finance pages of the demo company; every form field has a label; the
keyboard alone reaches a form's fields and its submit button in order. The summary of every page's axe run is
saved to test-artifacts/axe-results.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import test_ui
from tests.browser.test_ui import UI

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark
axe_module = pytest.importorskip("axe_playwright_python.async_playwright",
                                 reason="the axe-playwright-python package is not installed")

RESULTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "axe-results.json"
BLOCKING = {"serious", "critical"}
LINE = {"category": "travel", "amount": "100.00", "currency": "USD", "date": "2026-11-02", "description": "taxi"}


async def api(ui: UI, who: str, method: str, url: str, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=ui.base, timeout=30) as http:
        token = (await http.post("/api/auth/token", data={"username": who, "password": "demo"})).json()
        return await http.request(method, url, headers={"Authorization": f"Bearer {token['access_token']}"}, **kw)


async def log_in(ui: UI, username: str) -> Any:
    page = await ui.new_page()
    await page.goto("/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill("demo")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log in").click()
    return page


def summary(url: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"url": url, "passes": len(result.get("passes", [])), "violations": [
        {"id": v["id"], "impact": v.get("impact"), "help": v.get("help"), "nodes": len(v.get("nodes", [])),
         "targets": [n.get("target") for n in v.get("nodes", [])[:5]]} for v in result.get("violations", [])]}


async def check(page: Any, runs: list[dict[str, Any]]) -> None:
    """axe-core on the page as it is now; its summary joins `runs` under the page's path."""
    results = await axe_module.Axe().run(page, options={"resultTypes": ["violations", "passes"]})
    path = "/" + page.url.split("/", 3)[3] if page.url.count("/") >= 3 else page.url
    runs.append(summary(path, results.response))


async def test_the_main_pages_have_no_serious_or_critical_axe_violation(ui: UI) -> None:
    claim = await api(ui, "erin", "POST", "/api/expense-claims", json={"lines": [LINE]})
    assert claim.status_code in (200, 201), claim.text
    customers = (await api(ui, "admin", "GET", "/api/customers")).json()
    order = await api(ui, "alice", "POST", "/api/sales-orders", json={
        "customer_id": customers[0]["id"], "lines": [{"sku": "FAN-200", "qty": 2, "unit_price": "450"}]})
    assert order.status_code == 201, order.text
    so = order.json()["sales_order_id"]
    runs: list[dict[str, Any]] = []

    anonymous = await ui.new_page()
    await anonymous.goto("/login")
    await check(anonymous, runs)

    frank = await log_in(ui, "frank")
    task_id = ""
    for _ in range(150):
        tasks = (await api(ui, "frank", "GET", "/api/tasks", params={"business_key": claim.json()["claim_id"]}))
        if tasks.json():
            task_id = str(tasks.json()[0]["id"])
            break
        await frank.wait_for_timeout(100)
    assert task_id, "frank never got the claim's task"
    for url in ("/inbox", f"/tasks/{task_id}", "/requests", "/processes", f"/processes/{claim.json()['process_id']}",
                "/dashboard"):
        await frank.goto(url)
        await check(frank, runs)
    alice = await log_in(ui, "alice")
    for url in ("/pipeline", f"/sales-orders/{so}"):
        await alice.goto(url)
        await check(alice, runs)
    admin = await log_in(ui, "admin")
    for url in ("/production-orders", "/planning", "/finance"):
        await admin.goto(url)
        await check(admin, runs)

    assert len(runs) == 12
    assert save("main pages", runs) == []
    ui.assert_no_console_errors()


async def test_the_back_office_and_workspace_pages_have_no_serious_or_critical_axe_violation(ui: UI) -> None:
    runs: list[dict[str, Any]] = []
    admin = await log_in(ui, "admin")
    for url in ("/admin", "/users", "/users/new", "/roles", "/approval-policies", "/scoring-rules", "/items",
                "/items/new", "/boms", "/work-centres", "/customers", "/customers/new", "/suppliers",
                "/suppliers/new", "/price-lists", "/import", "/purchasing", "/purchase-orders", "/warehouse",
                "/journal", "/trial-balance", "/bills/new", "/payments/new", "/me",
                "/setup", "/users/alice", "/roles/finance", "/approval-policies/expense_claim", "/form-types",
                "/form-types/new", "/form-types/leave", "/webhooks"):
        await admin.goto(url)
        await check(admin, runs)
    assert save("back office and workspaces", runs) == []


async def test_the_main_pages_in_chinese_have_no_serious_or_critical_axe_violation(ui: UI) -> None:
    """The same check with the browser asking for Chinese: the page says lang="zh-Hans" and the labels hold."""
    context = await ui.browser.new_context(base_url=ui.base, locale="zh-CN", viewport={"width": 1280, "height": 800})
    ui.contexts.append(context)
    page = await context.new_page()
    runs: list[dict[str, Any]] = []
    await page.goto("/login")
    assert await page.get_attribute("html", "lang") == "zh-Hans"
    await check(page, runs)
    await page.locator("input[name=username]").fill("grace")
    await page.locator("input[name=password]").fill("demo")
    async with page.expect_navigation():
        await page.locator("form button[type=submit]").click()
    for url in ("/inbox", "/requests", "/processes", "/dashboard", "/finance", "/invoices", "/payments/new"):
        await page.goto(url)
        assert await page.get_attribute("html", "lang") == "zh-Hans"
        await check(page, runs)
    assert save("main pages in Chinese", runs) == []


def save(section: str, runs: list[dict[str, Any]]) -> list[tuple[str, str, str, Any]]:
    """Writes the section's summaries into test-artifacts/axe-results.json; returns the blocking violations."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    try:
        saved = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        saved = {}
    saved.update({"tool": "axe-core via axe-playwright-python", "blocking": sorted(BLOCKING)})
    saved.setdefault("sections", {})[section] = runs
    RESULTS.write_text(json.dumps(saved, indent=2))
    return [(r["url"], v["id"], v["impact"], v["targets"]) for r in runs for v in r["violations"]
            if v["impact"] in BLOCKING]


async def test_every_field_has_a_label_and_the_keyboard_reaches_the_submit_button(ui: UI) -> None:
    erin = await log_in(ui, "erin")
    await erin.goto("/requests")
    unlabelled = await erin.evaluate("""() => [...document.querySelectorAll(
        'input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                     && !e.getAttribute('aria-labelledby'))
        .map(e => e.name || e.id)""")
    assert unlabelled == []
    # From the claim form's first field, Tab walks its fields in order and reaches "File claim".
    form = erin.locator("form", has=erin.get_by_role("button", name="File claim"))
    fields = await form.locator("input:not([type=hidden]), select, textarea, button").evaluate_all(
        "els => els.filter(e => !e.disabled && e.offsetParent !== null).map(e => e.name || e.textContent.trim())")
    await erin.get_by_label("Amount").fill("42")
    await erin.get_by_label("Date").fill("2026-11-02")
    await erin.get_by_label("Description").fill("Typed with the keyboard alone")
    await form.locator("input:not([type=hidden]), select, textarea").first.focus()
    reached = []
    for _ in range(len(fields) + 5):
        name = await erin.evaluate("() => document.activeElement.name || document.activeElement.textContent.trim()")
        if not reached or reached[-1] != name:  # a date field's day, month and year are one field's stops
            reached.append(name)
        if name == "File claim":
            break
        await erin.keyboard.press("Tab")
    assert reached[-1] == "File claim", reached
    assert reached == [f for f in fields if f in reached][: len(reached)], (reached, fields)  # in the form's order
    # and Enter on the focused button files the claim
    async with erin.expect_navigation():
        await erin.keyboard.press("Enter")
    assert "EC-" in await erin.locator(".flash.ok").inner_text()
