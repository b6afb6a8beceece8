"""The web UI in a real browser: Debian's Chromium driven by Playwright against the whole stack
(the Temporal dev server, a worker, the API with its UI served by uvicorn over HTTP)."""

from __future__ import annotations

import asyncio
import re
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import uvicorn
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.platform import Platform
from domain.approvals.tables import Task
from domain.core.db import Database
from domain.expenses.tables import ExpenseClaim
from domain.processes import ids
from settings import Settings
from tests.conftest import terminate_processes
from worker import build_worker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}: apt-get install chromium"),
]
playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
REFUSED = re.compile(r"Failed to load resource: the server responded with a status of (\d{3})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest_asyncio.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        await b.close()


@pytest_asyncio.fixture
async def site(dev_env: WorkflowEnvironment, db: Database) -> AsyncIterator[str]:
    """The whole stack on a free localhost port; yields its base URL."""
    task_queue = f"ui-{uuid.uuid4()}"
    settings = Settings(database_url=db.url, task_queue=task_queue, secret_key="ui-secret-" + uuid.uuid4().hex,
                        temporal_ui_url="http://127.0.0.1:8233")
    platform = Platform(dev_env.client, db, task_queue, id_prefix=f"{task_queue}/")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, platform), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    async with build_worker(dev_env.client, db, task_queue, threads=16):
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
        server.should_exit = True
        await serving
        await terminate_processes(dev_env.client, db)


class UI:
    """Browser sessions against the site, one context (cookie jar) per user; collects console errors."""

    def __init__(self, browser: Any, base: str, db: Database):
        self.browser, self.base, self.db = browser, base, db
        self.contexts: list[Any] = []
        self.errors: list[str] = []

    async def new_page(self) -> Any:
        context = await self.browser.new_context(base_url=self.base, viewport={"width": 1280, "height": 800})
        context.set_default_timeout(20_000)
        self.contexts.append(context)
        page = await context.new_page()
        page.on("console", lambda m: self.errors.append(f"{m.text} [{page.url}]") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e} [{page.url}]"))
        return page

    async def login(self, username: str, shot: str | None = None) -> Any:
        page = await self.new_page()
        await page.goto("/login")
        await page.get_by_label("Username").fill(username)
        await page.get_by_label("Password").fill("demo")
        if shot:
            await screenshot(page, shot)
        await page.get_by_role("button", name="Log in").click()
        await page.wait_for_url(lambda url: "/login" not in url)  # each role lands on its own work (issue 18)
        if not page.url.endswith("/inbox"):
            await page.goto("/inbox")  # these tests start from the inbox
        return page

    def assert_no_console_errors(self, *expected_statuses: int) -> None:
        """No JavaScript error on any page; a refused request shows up as a console line, which is
        expected only where the test provoked that status."""
        unexpected = [e for e in self.errors
                      if not ((m := REFUSED.search(e)) and int(m.group(1)) in expected_statuses)]
        assert not unexpected, unexpected

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest_asyncio.fixture
async def ui(browser: Any, site: str, db: Database) -> AsyncIterator[UI]:
    u = UI(browser, site, db)
    yield u
    await u.close()


async def screenshot(page: Any, name: str) -> None:
    """The page at desktop and phone size; on a phone only tables may scroll sideways, never the page."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in VIEWPORTS.values():
        await page.set_viewport_size({"width": width, "height": height})
        await page.screenshot(path=str(SHOTS / f"{name}-{width}x{height}.png"), full_page=True)
        overflow = await page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{name} is {overflow} px wide at {width} px"
    await page.set_viewport_size({"width": 1280, "height": 800})


async def file_claim(page: Any, amount: str, description: str, category: str = "travel") -> str:
    await page.goto("/requests")
    await page.get_by_label("Category").select_option(category)
    await page.get_by_label("Amount").fill(amount)
    await page.get_by_label("Date").fill("2026-11-02")
    await page.get_by_label("Description").fill(description)
    async with page.expect_navigation():
        await page.get_by_role("button", name="File claim").click()
    flash = await page.locator(".flash.ok").inner_text()
    found = re.search(r"EC-\d+", flash)
    assert found, flash
    return found.group(0)


async def inbox_row(page: Any, business_key: str, tries: int = 150) -> Any:
    """The inbox row of a document; the task appears once the approval workflow has opened it."""
    for _ in range(tries):
        await page.goto("/inbox")
        row = page.locator("table.inbox tbody tr", has_text=business_key)
        if await row.count():
            return row.first
        await asyncio.sleep(0.1)
    raise AssertionError(f"no inbox row for {business_key}")


async def claim_status(page: Any, claim: str, status: str, tries: int = 150) -> None:
    for _ in range(tries):
        await page.goto("/requests")
        if status in await page.locator(f"#claim-{claim} .badge").inner_text():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{claim} never became {status}")


async def test_a_claim_of_20000_goes_through_frank_grace_and_heidi(ui: UI) -> None:
    erin = await ui.login("erin", shot="login")
    claim = await file_claim(erin, "20000", "Trade fair Hannover: stand and travel")
    row = erin.locator(f"#claim-{claim}")
    assert "20,000.00 USD" in await row.inner_text()
    assert await row.locator(".badge").inner_text() == "pending approval"
    await screenshot(erin, "requests")

    frank = await ui.login("frank")
    row = await inbox_row(frank, claim)
    text = await row.inner_text()
    assert "20,000.00" in text and "erin" in text and "frank" in text
    assert int(await frank.locator(".nav .count").inner_text()) >= 1
    assert await row.get_by_role("button", name="Claim").count() == 0  # named to frank: nothing to claim
    await row.get_by_role("link").click()
    await frank.wait_for_url("**/tasks/*")
    assert "Trade fair Hannover: stand and travel" in await frank.locator(".card.doc").inner_text()
    assert "20,000.00 USD" in await frank.locator("tfoot").inner_text()
    await screenshot(frank, "task")
    await frank.locator("form[action$='/decide']").get_by_label("Comment").fill("Fine by me")
    async with frank.expect_navigation():
        await frank.get_by_role("button", name="Approve").click()
    assert f"Approved: Expense claim {claim}" in await frank.locator(".flash.ok").inner_text()

    grace = await ui.login("grace")
    row = await inbox_row(grace, claim)
    assert "finance" in await row.inner_text()
    await screenshot(grace, "inbox")
    async with grace.expect_navigation():
        await row.get_by_role("button", name="Claim").click()  # a task for a role: grace takes it
    row = await inbox_row(grace, claim)
    assert "(claimed)" in await row.inner_text()
    async with grace.expect_navigation():
        await row.get_by_role("button", name="Approve").click()

    heidi = await ui.login("heidi")
    row = await inbox_row(heidi, claim)
    await row.get_by_role("link").click()
    trail = await heidi.locator(".card.trail").inner_text()
    assert "frank" in trail and "grace" in trail and "Fine by me" in trail
    async with heidi.expect_navigation():
        await heidi.get_by_role("button", name="Approve").click()

    await claim_status(erin, claim, "approved")
    await erin.locator(f"#claim-{claim} a").first.click()
    await erin.wait_for_url("**/processes/**")
    steps = await erin.locator("ol.steps .step-name").all_inner_texts()
    assert steps[:4] == ["submitted", "approval: manager", "approval: finance", "approval: cfo"], steps
    assert await erin.locator("ol.steps .step.st-done").count() >= 4
    trail = await erin.locator(".card.trail").inner_text()
    assert all(who in trail for who in ("frank", "grace", "heidi"))
    # The Temporal UI has no login and walks around every visibility rule: its link is admin's only.
    assert await erin.get_by_role("link", name=re.compile("Temporal UI")).count() == 0
    await screenshot(erin, "process")
    admin = await ui.login("admin")
    await admin.goto(erin.url)
    link = await admin.get_by_role("link", name=re.compile("Temporal UI")).get_attribute("href")
    assert link.startswith("http://127.0.0.1:8233/namespaces/default/workflows/") and link.endswith(
        ids.expense_claim(claim))
    await erin.goto("/processes")
    assert claim in await erin.locator("table.grid").inner_text()

    # Approved, the claim is finance's Pay task until it is paid (issue 18): grace pays it from the task's page.
    grace = await ui.login("grace")
    row = await inbox_row(grace, claim)
    assert "Pay expense claim" in await row.inner_text()
    await row.get_by_role("link").first.click()
    await grace.wait_for_url("**/tasks/*")
    await screenshot(grace, "pay-task")
    async with grace.expect_navigation():
        await grace.get_by_role("button", name="Pay 20,000.00 USD").click()
    assert f"Expense claim {claim} is paid" in await grace.locator(".flash.ok").inner_text()
    await claim_status(erin, claim, "paid")
    ui.assert_no_console_errors()


async def test_a_rejection_needs_a_comment(ui: UI) -> None:
    erin = await ui.login("erin")
    claim = await file_claim(erin, "300", "Taxi to the airport", category="transport")
    frank = await ui.login("frank")
    row = await inbox_row(frank, claim)
    # the browser will not send a rejection without a comment...
    assert not await row.locator("form.decide").evaluate("f => f.checkValidity()")
    await row.get_by_role("button", name="Reject").click()
    await asyncio.sleep(0.3)
    assert "msg=" not in frank.url
    assert await row.locator("input[name=comment]").evaluate("e => e.validity.valueMissing")
    # ...and the server refuses one sent around the browser's check
    task_id = (await row.get_attribute("id")).removeprefix("task-")
    token = await row.locator("input[name=csrf]").first.get_attribute("value")
    r = await frank.request.post(f"/inbox/{task_id}/decide", form={"csrf": token, "decision": "reject",
                                                                   "comment": "  "})
    assert r.status == 422, await r.text()
    assert "a rejection needs a comment" in await r.text()
    with ui.db.read() as s:
        assert s.get(Task, task_id).status == "open"  # type: ignore[union-attr]
    # with a reason it goes through
    row = await inbox_row(frank, claim)
    await row.locator("input[name=comment]").fill("No receipt attached")
    async with frank.expect_navigation():
        await row.get_by_role("button", name="Reject").click()
    assert "Rejected" in await frank.locator(".flash.ok").inner_text()
    await claim_status(erin, claim, "rejected")
    ui.assert_no_console_errors()


async def test_a_post_without_the_session_csrf_token_is_refused(ui: UI) -> None:
    erin = await ui.login("erin")
    await erin.goto("/requests")
    await erin.locator(".claim-form input[name=csrf]").evaluate("e => { e.value = 'forged' }")
    await erin.get_by_label("Amount").fill("50")
    await erin.get_by_label("Description").fill("forged")
    async with erin.expect_navigation() as nav:
        await erin.get_by_role("button", name="File claim").click()
    response = await nav.value
    assert response.status == 403
    assert "nothing was changed" in await erin.locator("main").inner_text()
    await screenshot(erin, "refused")
    r = await erin.request.post("/requests/expense-claims", form={"category": "travel", "amount": "50",
                                                                  "date": "2026-11-02"})
    assert r.status == 403
    r = await erin.request.post("/logout", form={"csrf": "0" * 64})
    assert r.status == 403
    with ui.db.read() as s:
        assert s.execute(select(func.count()).select_from(ExpenseClaim)).scalar_one() == 0
    # the login form has its own double-submit token: a login posted from elsewhere sets no session
    stranger = await ui.new_page()
    r = await stranger.request.post("/login", form={"username": "erin", "password": "demo"}, max_redirects=0)
    assert r.status == 403
    assert "vl_session" not in {c["name"] for c in await stranger.context.cookies()}
    ui.assert_no_console_errors(403)


async def test_markup_in_a_description_is_shown_as_text(ui: UI) -> None:
    erin = await ui.login("erin")
    claim = await file_claim(erin, "45.50", XSS, category="meals")
    assert await erin.locator(f"#claim-{claim} td.desc").inner_text() == XSS
    assert await erin.evaluate("typeof window.__xss") == "undefined"
    assert await erin.locator("img[src=x]").count() == 0
    frank = await ui.login("frank")
    row = await inbox_row(frank, claim)
    await row.get_by_role("link").click()
    await frank.wait_for_url("**/tasks/*")
    assert XSS in await frank.locator("td.desc").all_inner_texts()
    assert await frank.evaluate("typeof window.__xss") == "undefined"
    ui.assert_no_console_errors()


async def test_pages_need_a_login_and_a_wrong_password_is_refused(ui: UI) -> None:
    page = await ui.new_page()
    await page.goto("/")
    assert page.url.endswith("/login")
    await page.goto("/requests")
    assert "/login?next=%2Frequests" in page.url
    await page.get_by_label("Username").fill("erin")
    await page.get_by_label("Password").fill("wrong")
    async with page.expect_navigation() as nav:
        await page.get_by_role("button", name="Log in").click()
    assert (await nav.value).status == 401
    assert "Wrong username or password" in await page.locator(".flash.error").inner_text()
    await page.get_by_label("Password").fill("demo")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/requests")  # back where the login interrupted
    assert "Erin Evans" in await page.locator(".who").inner_text()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log out").click()
    await page.goto("/inbox")
    assert "/login" in page.url
    ui.assert_no_console_errors(401)


async def test_a_pending_claim_can_be_cancelled_and_the_monitor_filters_by_status(ui: UI) -> None:
    erin = await ui.login("erin")
    claim = await file_claim(erin, "120", "Train ticket", category="transport")
    async with erin.expect_navigation():
        await erin.locator(f"#claim-{claim}").get_by_role("button", name="Cancel").click()
    assert f"{claim} is cancelled" in await erin.locator(".flash.ok").inner_text()
    row = erin.locator(f"#claim-{claim}")
    assert await row.locator(".badge").inner_text() == "cancelled"
    assert await row.get_by_role("button", name="Cancel").count() == 0
    await erin.goto("/processes?status=cancelled")
    assert claim in await erin.locator("table.grid").inner_text()
    await erin.get_by_label("Status").select_option("running")
    await erin.get_by_role("button", name="Filter").click()
    await erin.wait_for_url("**/processes?*status=running*")
    assert await erin.locator("table.grid").count() == 0
    assert "No process matches" in await erin.locator("main").inner_text()
    frank = await ui.login("frank")
    assert await frank.locator("table.inbox tbody tr", has_text=claim).count() == 0
    ui.assert_no_console_errors()


async def quotation_badge(page: Any, number: str, status: str, tries: int = 150) -> None:
    for _ in range(tries):
        await page.goto(f"/quotations/{number}")
        if await page.locator(".page-head .badge").inner_text() == status:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{number} never became {status}")


async def new_quotation(page: Any, opportunity: str, lines: list[tuple[str, str, str, str]]) -> str:
    await page.goto(f"/opportunities/{opportunity}")
    for i, (sku, qty, price, discount) in enumerate(lines, start=1):
        await page.get_by_label(f"SKU, line {i}").fill(sku)
        await page.get_by_label(f"Quantity, line {i}").fill(qty)
        await page.get_by_label(f"Unit price, line {i}").fill(price)
        await page.get_by_label(f"Discount %, line {i}").fill(discount)
    await page.get_by_label("Valid for (days)").fill("14")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Create quotation").click()
    return re.search(r"QT-\d+", page.url).group(0)  # type: ignore[union-attr]


async def enter_lead(page: Any, company: str, contact: str, email: str, source: str, value: str, notes: str,
                     phone: str = "") -> str:
    await page.goto("/pipeline")
    await page.get_by_label("Company").fill(company)
    await page.get_by_label("Contact").fill(contact)
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Phone").fill(phone)
    await page.get_by_label("Source").select_option(source)
    await page.get_by_label("Estimated value").fill(value)
    await page.get_by_label("Notes").fill(notes)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Save lead").click()
    return re.search(r"LD-\d+", page.url).group(0)  # type: ignore[no-any-return, union-attr]


async def test_a_lead_becomes_an_order_through_the_sales_pages(ui: UI) -> None:
    alice = await ui.login("alice")
    await alice.get_by_role("link", name="Sales").click()
    await alice.wait_for_url("**/pipeline")
    other = await enter_lead(alice, "Initech", "Bill Lumbergh", "bill@initech.example", "website", "8000",
                             "Replacement fans for the server room")
    lead = await enter_lead(alice, "Globex Corporation", "Hank Scorpio", "hank@globex.example", "referral", "60000",
                            "Cooling for the new Cypress Creek plant", phone="+1 555 0100")
    reasons = await alice.locator("#score table").inner_text()
    assert "Referred by someone who knows us" in reasons and "+25" in reasons
    await alice.get_by_label("Kind").select_option("meeting")
    await alice.get_by_label("Note", exact=True).fill("Walked the plant with Hank; they need 150 fans")
    async with alice.expect_navigation():
        await alice.get_by_role("button", name="Log activity").click()
    assert "150 fans" in await alice.locator("#activities").inner_text()
    await screenshot(alice, "sales-lead")
    async with alice.expect_navigation():
        await alice.get_by_role("button", name="Qualify: open an opportunity").click()
    opp = re.search(r"OP-\d+", alice.url).group(0)  # type: ignore[union-attr]

    await alice.get_by_label("SKU, line 1").fill("FAN-200")
    await alice.get_by_label("Quantity, line 1").fill("ten")
    await alice.get_by_label("Unit price, line 1").fill("500")
    await alice.get_by_role("button", name="Create quotation").click()
    assert "Line 1: the quantity must be a number, not 'ten'" in await alice.locator(".flash.error").inner_text()
    assert await alice.get_by_label("Quantity, line 1").input_value() == "ten"  # kept for correction
    await screenshot(alice, "sales-opportunity-refused")
    small = await new_quotation(alice, opp, [("FAN-200", "10", "500", "5"), ("BOLT-M8", "200", "0.50", "")])
    assert await alice.locator(".page-head .badge").inner_text() == "sent"
    big = await new_quotation(alice, opp, [("FAN-200", "150", "500", "25")])  # 56,250: over Globex's 50,000
    assert await alice.locator(".page-head .badge").inner_text() == "pending approval"
    await alice.goto(f"/opportunities/{opp}")
    rows = await alice.locator("table.quotations tbody").inner_text()
    assert small in rows and big in rows and "56,250.00" in rows
    await screenshot(alice, "sales-opportunity")

    bob = await ui.login("bob")
    row = await inbox_row(bob, big)
    await row.locator("input[name=comment]").fill("Strategic account: fine")
    async with bob.expect_navigation():
        await row.get_by_role("button", name="Approve").click()

    await quotation_badge(alice, big, "sent")
    async with alice.expect_navigation():
        await alice.get_by_role("button", name="Customer accepted").click()
    assert "finance" in await alice.locator(".flash.ok").inner_text()
    assert await alice.locator("#credit .badge").inner_text() == "over limit"

    grace = await ui.login("grace")
    row = await inbox_row(grace, big)
    async with grace.expect_navigation():
        await row.get_by_role("button", name="Approve").click()

    await quotation_badge(alice, big, "accepted")
    trail = await alice.locator(".card.trail").inner_text()
    assert "bob" in trail and "grace" in trail and "Strategic account: fine" in trail
    order = alice.get_by_role("link", name=re.compile(r"Sales order SO-\d+"))
    assert await order.count() == 1
    await screenshot(alice, "sales-quotation")
    await order.click()
    await alice.wait_for_url("**/processes/**sales-order-SO-*")

    await alice.goto("/pipeline")
    won = await alice.locator("#stage-won").inner_text()
    assert opp in won and "56,250.00" in won  # the order won, not the lead's 60,000 estimate
    leads = await alice.locator("table.leads").inner_text()
    assert other in leads and lead not in leads  # qualified: no longer an open lead
    await bob.goto("/pipeline")
    await bob.get_by_label("Owner").first.select_option("alice")
    await bob.get_by_role("button", name="Show").click()
    await bob.wait_for_url("**/pipeline?owner=alice")
    assert opp in await bob.locator("#stage-won").inner_text()
    await screenshot(bob, "sales-pipeline")
    ui.assert_no_console_errors(422)  # the refused quotation
