"""Issue 18, "done when, tried as a new user would": a company started empty and run from the browser alone.

`valueloop up` (the real CLI, a subprocess) on an empty data dir, without --demo; then, only through Chromium (no
API call, no database write: the database is only read, to assert), admin does the first run (company name, base
currency, fiscal year start, time zone), creates a role and the users of every role with their managers, proposes
the approval policies (each takes effect once the cfo approves it in her inbox), a supplier with a price, items with
a two-level BOM (FG-1 <- SUB-1 <- RAW-1), a work centre, a customer with a credit limit, and imports 50 items from a
CSV file (upload, preview, import all). Then each role at its work: alice sells (lead -> opportunity -> quotation
-> accepted: the sales order), carol plans (the order's kitting and MRP made two production orders and a purchase;
she runs MRP again), the purchase is approved and dave's own requisition too (purchase orders), ivan receives them
(the first in two parts), carol reports the production orders done, ivan delivers, grace records the customer's
payment of the invoice and opens the journal and the trial balance; erin files an expense claim, frank approves
it, grace pays it from the Pay task in her inbox; erin changes her own password and chooses her language. At the
end the books are read back (order completed, invoice paid, everything made and received, claim paid, debits =
credits).

Once in English and once in Chinese (the browser's locale, hence Accept-Language), with a full-page screenshot of
every page visited in test-artifacts/screenshots/company-from-empty/<lang>/NNN-<name>.png. Fields are found by
their labels and buttons by their names; in Chinese through the UI's own catalog (api.i18n.catalog), so the very
words a Chinese user reads are the ones the test looks for (ids only where a label is ambiguous). The Chinese
screenshots need a CJK font (fonts-noto-cjk or fonts-wqy-zenhei) beside Debian's chromium.

The full two-language walk is marked slow; `test_company_from_empty_short` (English: first run, users, policies,
items and BOM, the CSV import, one claim filed, approved and paid, erin's own settings) stays in `make test`.

With DATABASE_URL set to PostgreSQL (CI), each run gets a database of its own (CREATE DATABASE, dropped after):
`up` takes a URL, not a schema, so the per-test schema of tests/conftest.py would not reach the subprocess."""

from __future__ import annotations

import asyncio
import csv
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import create_engine, func, select, text

from api.i18n import catalog

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}: apt-get install chromium"),
]
playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots" / "company-from-empty"
ADMIN_PASSWORD = "first-start-" + uuid.uuid4().hex[:8]
PASSWORD = "Valueloop-2026!"  # every user admin creates
NEW_PASSWORD = "Walked-all-the-way-2026"  # erin's own, chosen on her settings page
BROWSER_LOCALE = {"en": "en-US", "zh": "zh-CN"}
PG_URL = os.environ.get("DATABASE_URL", "")
TODAY = date.today().isoformat()

COMPANY = {"en": "Walk Manufacturing", "zh": "沃克制造有限公司"}
# username, full name, roles, manager: the demo's org chart, typed in by admin
USERS: list[tuple[str, str, list[str], str | None]] = [
    ("heidi", "Heidi Hall", ["cfo", "manager", "employee"], None),
    ("bob", "Bob Brown", ["sales_manager", "manager", "employee"], "heidi"),
    ("frank", "Frank Fischer", ["manager", "employee"], "heidi"),
    ("grace", "Grace Green", ["finance", "employee"], "heidi"),
    ("alice", "Alice Adams", ["sales", "employee"], "bob"),
    ("carol", "Carol Chen", ["planner", "employee"], "frank"),
    ("dave", "Dave Diaz", ["buyer", "employee"], "frank"),
    ("erin", "Erin Evans", ["employee"], "frank"),
    ("ivan", "Ivan Ivanov", ["warehouse", "employee"], "frank"),
]


# ---------------------------------------------------------------------------------------------------------------
# The installation: `valueloop up` on an empty data dir


def free_port(avoid: frozenset[int] = frozenset()) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in avoid:
            return port


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def temporal_ports(http_port: int) -> int:
    """A gRPC port whose UI port (+1000) is free too, neither of them the HTTP port."""
    for _ in range(200):
        p = free_port(frozenset({http_port, http_port - 1000}))
        if p + 1000 < 65536 and p + 1000 != http_port and port_is_free(p + 1000):
            return p
    raise RuntimeError("no pair of free ports for Temporal")


@dataclass
class Installation:
    base: str
    data_dir: Path
    database_url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def engine(self) -> Any:
        url = self.database_url
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return create_engine(url)

    def scalar(self, sql: str, **params: Any) -> Any:
        """Read one value from the company's database (asserting only: the test writes nothing)."""
        engine = self.engine()
        try:
            with engine.connect() as c:
                return c.execute(text(sql), params).scalar()
        finally:
            engine.dispose()

    def value(self, statement: Any) -> Any:
        """One value through the domain's own mapping (money and quantities come back as Decimals)."""
        from domain.core.db import Database

        db = Database(self.database_url)
        try:
            with db.read() as s:
                return s.execute(statement).scalar()
        finally:
            db.dispose()

    def rows(self, statement: Any) -> list[Any]:
        from domain.core.db import Database

        db = Database(self.database_url)
        try:
            with db.read() as s:
                return list(s.execute(statement))
        finally:
            db.dispose()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""



def _pg(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url.split("://", 1)[1]
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def company_database(data_dir: Path) -> Iterator[str]:
    """SQLite in the data dir; on PostgreSQL a database of this run's own, dropped afterwards."""
    if not PG_URL.startswith("postgres"):
        yield f"sqlite:///{data_dir.resolve()}/valueloop.db"
        return
    name = f"walk_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_pg(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_URL.split("?", 1)[0].rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def valueloop_command() -> list[str]:
    script = Path(sys.executable).parent / "valueloop"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli"]


@contextmanager
def valueloop_up(data_dir: Path) -> Iterator[Installation]:
    """`valueloop up` without --demo on an empty data dir, on free ports, until /healthz answers 200; SIGINT at the
    end (SIGKILL if it does not stop within a minute)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with company_database(data_dir) as url:
        port = free_port()
        temporal_port = temporal_ports(port)
        env = {**os.environ, "VALUELOOP_ADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONUNBUFFERED": "1"}
        env.pop("DATABASE_URL", None)
        env.pop("SECRET_KEY", None)
        if url.startswith("postgres"):
            env["DATABASE_URL"] = url
        log = data_dir / "up.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*valueloop_command(), "up", "--port", str(port), "--temporal-port", str(temporal_port),
                 "--data-dir", str(data_dir)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        site = Installation(f"http://127.0.0.1:{port}", data_dir, url, proc, log)
        try:
            deadline = time.monotonic() + 180
            while True:
                if proc.poll() is not None:
                    raise AssertionError(f"valueloop up ended with {proc.returncode}:\n{site.tail()}")
                try:
                    if httpx.get(f"{site.base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"/healthz never answered 200 in 180 s:\n{site.tail()}")
                time.sleep(0.5)
            yield site
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=30)


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        await b.close()


# ---------------------------------------------------------------------------------------------------------------
# The walk: one browser context per user, a numbered screenshot of every page


class Skipped(Exception):
    """A page the walk needs answers 404: the step is noted, the walk goes on where it can, and fails at the end
    naming every step it could not walk (so one missing page does not hide the others)."""


@dataclass
class Walk:
    browser: Any
    site: Installation
    lang: str
    shots: Path = field(init=False)
    n: int = 0
    skipped: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)
    pages: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.shots = SHOTS / self.lang
        self.shots.mkdir(parents=True, exist_ok=True)
        for old in self.shots.glob("*.png"):
            old.unlink()

    def t(self, message: str, **variables: Any) -> str:
        """The words the page shows: English, or the Chinese of the UI's own catalog."""
        text_ = message if self.lang == "en" else catalog("zh_Hans").get(message, message)
        return text_ % variables if variables else text_

    # --- pages -----------------------------------------------------------------------------------------------

    async def shot(self, page: Any, name: str, check_language: bool = True) -> None:
        self.n += 1
        await page.wait_for_load_state("load")
        await page.screenshot(path=str(self.shots / f"{self.n:03d}-{name}.png"), full_page=True)
        if self.lang == "zh" and check_language:
            assert (await page.locator("html").get_attribute("lang") or "").startswith("zh"), page.url

    async def visit(self, page: Any, url: str, name: str) -> Any:
        response = await page.goto(url)
        status = response.status if response else 0
        if status == 404:
            await self.shot(page, f"{name}-404")
            raise Skipped(f"{url} answers 404")
        assert status < 400, f"{url} answered {status}: {await self.flash_error(page)}"
        await self.shot(page, name)
        return page

    async def flash_error(self, page: Any) -> str:
        loc = page.locator(".flash.error, .error, main")
        return (await loc.first.inner_text())[:600] if await loc.count() else ""

    async def submit(self, page: Any, button: Any, name: str, check_language: bool = True) -> Any:
        """Press a form's button, wait for the page it leads to (POST-redirect-GET), screenshot it; a form refused
        (4xx/5xx, or the form again with an error) fails the walk with the page's own sentence."""
        async with page.expect_navigation() as nav:
            await button.click()
        response = await nav.value
        await self.shot(page, name, check_language)
        status = response.status if response else 0
        assert status < 400, f"{name}: {page.url} answered {status}: {await self.flash_error(page)}"
        error = page.locator(".flash.error")
        assert not await error.count(), f"{name}: {await error.first.inner_text()}"
        return page

    async def press(self, page: Any, button_text: str, name: str, **variables: Any) -> Any:
        button = page.get_by_role("button", name=self.t(button_text, **variables), exact=True)
        return await self.submit(page, button.first, name)

    def label(self, page: Any, text_: str, exact: bool = True, **variables: Any) -> Any:
        return page.get_by_label(self.t(text_, **variables), exact=exact)

    async def login(self, username: str, password: str = PASSWORD) -> Any:
        """A browser of this user's own (its locale sets Accept-Language), logged in; the page they land on."""
        if username in self.pages:
            return self.pages[username]
        context = await self.browser.new_context(base_url=self.site.base, locale=BROWSER_LOCALE[self.lang],
                                                 viewport={"width": 1280, "height": 800})
        context.set_default_timeout(30_000)
        self.contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e} [{page.url}]"))
        await self.visit(page, "/login", f"{username}-login")
        await self.label(page, "Username").fill(username)
        await self.label(page, "Password").fill(password)
        await self.press(page, "Log in", f"{username}-landing")
        assert "/login" not in page.url, f"{username} could not log in: {await self.flash_error(page)}"
        self.pages[username] = page
        return page

    async def step(self, name: str, action: Callable[[Walk], Awaitable[None]]) -> bool:
        """One step of the walk; a missing page is noted as skipped and the walk goes on."""
        try:
            await action(self)
        except Skipped as why:
            self.skipped.append(f"{name}: {why}")
            return False
        self.done.append(name)
        return True

    async def until(self, page: Any, url: str, check: Callable[[], Awaitable[bool]], what: str,
                    seconds: float = 90) -> None:
        """Reload `url` until `check` holds (a process moves on in the background)."""
        deadline = time.monotonic() + seconds
        while True:
            await page.goto(url)
            if await check():
                return
            if time.monotonic() > deadline:
                await self.shot(page, "timeout")
                raise AssertionError(f"{what}: not within {seconds} s at {url}\n{await self.flash_error(page)}")
            await asyncio.sleep(1)

    def wait_db(self, sql: str, what: str, seconds: float = 90, **params: Any) -> Any:
        deadline = time.monotonic() + seconds
        while True:
            value = self.site.scalar(sql, **params)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {seconds} s\n{self.site.tail()}")
            time.sleep(0.5)

    def wait_db_value(self, statement: Any, expected: Any, what: str, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while (value := self.site.value(statement)) != expected:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: {value!r}, not {expected!r}, after {seconds} s\n{self.site.tail()}")
            time.sleep(0.5)

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()

    async def approve_task(self, business_key: str, comment: str = "OK") -> str:
        """Whoever the open task of `business_key` waits for (read from the tasks table) approves it from their
        inbox; answers the approver's username."""
        row = self.wait_db("SELECT COALESCE(assignee, candidate_user, candidate_role) FROM tasks "
                           "WHERE status = 'open' AND kind = 'approval' AND business_key = :k ORDER BY created_at LIMIT 1", f"a task for {business_key}", k=business_key)
        approver = next((u for u, _n, roles, _m in USERS if u == row or row in roles), row)
        page = await self.login(approver)
        await self.until(page, "/inbox", lambda: _has(page.locator("table.inbox tbody tr", has_text=business_key)),
                         f"{business_key} in {approver}'s inbox")
        await self.shot(page, f"{approver}-inbox")
        link = page.locator("table.inbox tbody tr", has_text=business_key).first.get_by_role("link").first
        async with page.expect_navigation():
            await link.click()
        await self.shot(page, f"{approver}-task-{business_key}")
        claim = page.get_by_role("button", name=self.t("Claim"), exact=True)
        if await claim.count():
            await self.submit(page, claim.first, f"{approver}-claimed")
        decide = page.locator("form[action$='/decide']")  # the task page has other comment boxes (comments, OA)
        await decide.get_by_label(self.t("Comment"), exact=False).fill(comment)
        await self.press(page, "Approve", f"{approver}-approved-{business_key}")
        return approver


async def _has(locator: Any) -> bool:
    return bool(await locator.count())


def _number(pattern: str, textual: str) -> str:
    found = re.search(pattern, textual)
    assert found, f"no {pattern} in {textual!r}"
    return found.group(0)


# ---------------------------------------------------------------------------------------------------------------
# Admin sets the company up


async def admin_login(w: Walk) -> None:
    await w.login("admin", ADMIN_PASSWORD)


async def first_run(w: Walk) -> None:
    """The first-run page: company name, base currency, fiscal year start, time zone."""
    from domain.tables import Company

    page = w.pages["admin"]
    await w.visit(page, "/admin", "back-office")
    await w.visit(page, "/setup", "first-run")
    await w.label(page, "Company name").fill(COMPANY[w.lang])
    await w.label(page, "Base currency").fill("USD")
    await w.label(page, "Fiscal year starts in").select_option("4")
    await w.label(page, "Time zone").fill("Asia/Shanghai")
    await w.press(page, "Save", "first-run-saved")
    assert w.site.value(select(Company.name)) == COMPANY[w.lang]
    assert w.site.value(select(Company.fiscal_year_start)) == 4


async def create_users(w: Walk) -> None:
    """A role of the company's own, then the users of every role, each with their manager (managers first)."""
    from domain.tables import User

    page = w.pages["admin"]
    await w.visit(page, "/roles", "roles")
    await w.label(page, "Name").fill("quality")
    await w.label(page, "Description").fill("Quality inspection" if w.lang == "en" else "质量检验")
    await w.press(page, "Create role", "role-quality")
    for username, full_name, roles, manager in USERS:
        await w.visit(page, "/users/new", f"user-new-{username}")
        await w.label(page, "Username").fill(username)
        await w.label(page, "Full name").fill(full_name)
        await w.label(page, "E-mail").fill(f"{username}@walk.example")
        await w.label(page, "Password").fill(PASSWORD)
        for role in roles:
            await page.get_by_role("checkbox", name=w.t(role.replace("_", " ")), exact=True).check()
        if manager:
            await page.locator("#manager_username").select_option(manager)
        await w.press(page, "Create user", f"user-{username}")
    await w.visit(page, "/users", "users")
    assert w.site.value(select(func.count(User.id))) == len(USERS) + 1


POLICIES = {  # the demo's, typed into the tier editor: (above, steps)
    # (the editor offers two empty rows to a policy that has none: two tiers here, the demo's third would take
    # a second proposal)
    "expense_claim": [("0", "manager"), ("1000", "manager, role:finance")],
    "purchase_requisition": [("0", "manager"), ("5000", "manager, role:cfo")],
    "quotation_discount": [("0", "role:sales_manager")],
    "sales_credit": [("0", "role:finance")],
    # production_change (a change to a production order) is not offered by the editor (domain.changes.POLICY_KINDS)
}


async def approval_policies(w: Walk) -> None:
    """Who approves what (an empty company has no policy, so nothing could be approved): admin proposes each
    policy in the tier editor, and each takes effect once the cfo approves the change in her inbox."""
    from domain.tables import ApprovalPolicyTier, ChangeRequest

    page = w.pages["admin"]
    await w.visit(page, "/approval-policies", "policies")
    for kind, tiers in POLICIES.items():
        await w.visit(page, f"/approval-policies/{kind}", f"policy-{kind}")
        for n, (above, steps) in enumerate(tiers, start=1):
            await w.label(page, "Tier %(n)s: above", n=n).fill(above)
            await w.label(page, "Tier %(n)s: steps", n=n).fill(steps)
        await w.press(page, "Propose the change", f"policy-{kind}-proposed")
    changes = [r[0] for r in w.site.rows(select(ChangeRequest.id).where(ChangeRequest.kind == "approval_policy")
                                         .order_by(ChangeRequest.id))]
    assert len(changes) == len(POLICIES)
    for change in changes:
        await w.approve_task(f"change-{change}", "Agreed")
    for kind, tiers in POLICIES.items():
        w.wait_db_value(select(func.count(ApprovalPolicyTier.id)).where(ApprovalPolicyTier.process_kind == kind),
                        len(tiers), f"the {kind} policy in force")
    await w.visit(page, "/approval-policies", "policies-in-force")


async def supplier(w: Walk) -> None:
    page = w.pages["admin"]
    await w.visit(page, "/suppliers/new", "supplier-new")
    await page.locator("#s-name").fill("Walk Metals")
    await page.locator("#s-currency").fill("USD")
    await page.locator("#s-terms").fill("30")
    await w.press(page, "Save supplier", "supplier-saved")
    w.facts["supplier_id"] = _number(r"\d+$", page.url.split("?")[0])


ITEMS = [  # sku, name, kind, standard cost, lead time days
    ("RAW-1", "Steel tube", "purchased", "5.00", "3"),
    ("SUB-1", "Welded frame", "manufactured", "30.00", "2"),
    ("FG-1", "Walking frame", "manufactured", "120.00", "2"),
]


async def items(w: Walk) -> None:
    page = w.pages["admin"]
    await w.visit(page, "/items", "items-empty")
    for sku, name, kind, cost, lead in ITEMS:
        await w.visit(page, "/items/new", f"item-new-{sku}")
        await w.label(page, "SKU").fill(sku)
        await page.locator("#i-name").fill(name)
        await w.label(page, "Kind").select_option(kind)
        await w.label(page, "Standard cost").fill(cost)
        await w.label(page, "Lead time (days)").fill(lead)
        if kind == "purchased" and "supplier_id" in w.facts:
            await w.label(page, "Default supplier").select_option(w.facts["supplier_id"])
        await w.press(page, "Create item", f"item-{sku}")
    assert w.site.scalar("SELECT count(*) FROM items WHERE sku IN ('RAW-1', 'SUB-1', 'FG-1')") == 3


async def supplier_prices(w: Walk) -> None:
    page = w.pages["admin"]
    await w.visit(page, f"/suppliers/{w.facts['supplier_id']}", "supplier")
    await page.locator("#p-sku").fill("RAW-1")
    await page.locator("#p-price").fill("4.80")
    await page.locator("#p-currency").fill("USD")
    await page.locator("#p-min").fill("1")
    await page.locator("#p-lead").fill("3")
    await w.press(page, "Save price", "supplier-price")


async def work_centre(w: Walk) -> None:
    page = w.pages["admin"]
    await w.visit(page, "/work-centres", "work-centres")
    await w.label(page, "Code").fill("WELD")
    await page.locator("#w-name").fill("Welding" if w.lang == "en" else "焊接")
    await w.label(page, "Hourly cost").fill("40")
    await w.press(page, "Create work centre", "work-centre")
    assert w.site.scalar("SELECT count(*) FROM work_centres WHERE code = 'WELD'") == 1


BOMS = [("SUB-1", "RAW-1", "4", "5", "kitted"), ("FG-1", "SUB-1", "1", "0", "backflush")]  # a two-level BOM


async def boms(w: Walk) -> None:
    page = w.pages["admin"]
    await w.visit(page, "/boms", "boms-empty")
    for parent, component, qty, scrap, issue in BOMS:
        await w.label(page, "New BOM for").select_option(parent)
        await w.submit(page, page.get_by_role("button", name=w.t("Add a BOM")), f"bom-new-{parent}")
        await w.label(page, "Issue method").select_option(issue)
        await w.label(page, "Work centre").select_option("WELD")
        await w.label(page, "Labour hours per unit").fill("0.5")
        await w.label(page, "Overhead per labour hour").fill("10")
        await w.label(page, "Component of line %(n)s", n=1).fill(component)
        await w.label(page, "Quantity of line %(n)s", n=1).fill(qty)
        await w.label(page, "Scrap %% of line %(n)s", n=1).fill(scrap)
        await w.press(page, "Save the BOM", f"bom-{parent}")
        await w.visit(page, "/boms", f"boms-after-{parent}")
    await w.visit(page, "/boms/FG-1", "bom-tree")
    assert w.site.scalar("SELECT count(*) FROM boms") == 2


async def customer(w: Walk) -> None:
    """A customer with a credit limit; raising it above the threshold waits for the cfo's approval."""
    page = w.pages["admin"]
    await w.visit(page, "/customers/new", "customer-new")
    await page.locator("#c-name").fill("Walk Retail")
    await page.locator("#c-currency").fill("USD")
    await page.locator("#c-terms").fill("30")
    await page.locator("#c-credit").fill("50,000.00")
    await w.press(page, "Save customer", "customer")
    w.facts["customer_id"] = _number(r"\d+$", page.url.split("?")[0])
    from domain.tables import ChangeRequest, Customer

    limit = select(Customer.credit_limit).where(Customer.name == "Walk Retail")
    assert w.site.value(limit) == 50000  # at the threshold: stored at once
    await w.label(page, "New credit limit").fill("80,000")  # above it: the cfo approves first
    await w.press(page, "Set credit limit", "customer-credit-proposed")
    assert w.site.value(limit) == 50000
    change = w.site.value(select(ChangeRequest.id).where(ChangeRequest.kind == "credit_limit"))
    await w.approve_task(f"change-{change}", "Good payer")
    w.wait_db_value(limit, 80000, "the credit limit raised")
    await w.visit(page, f"/customers/{w.facts['customer_id']}", "customer-credit-raised")


def items_csv(folder: Path) -> Path:
    path = folder / "items-50.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["sku", "name", "kind", "uom", "standard_cost", "lead_time_days", "safety_stock",
                      "min_order_qty"])
        for i in range(1, 51):
            out.writerow([f"IMP-{i:03d}", f"Imported part {i}", "purchased", "ea", f"{i}.50", "5", "0", "1"])
    return path


async def import_items(w: Walk) -> None:
    """50 items from a CSV file: upload, the preview (every row checked, nothing stored), import all."""
    from domain.tables import Item

    page = w.pages["admin"]
    await w.visit(page, "/import", "import")
    await w.label(page, "The file holds").select_option("items")
    await w.label(page, "CSV file").set_input_files(str(items_csv(w.site.data_dir)))
    await w.press(page, "Upload and check", "import-preview")
    assert w.site.value(select(func.count(Item.id)).where(Item.sku.like("IMP-%"))) == 0
    await w.press(page, "Import all %(n)s rows", "import-started", n=50)
    done = page.get_by_role("status").filter(has_text="50")
    await w.until(page, page.url, lambda: _has(done), "the 50 items imported")
    await w.shot(page, "import-done")
    assert w.site.value(select(func.count(Item.id)).where(Item.sku.like("IMP-%"))) == 50
    await w.visit(page, "/items?q=IMP", "items-imported")


# ---------------------------------------------------------------------------------------------------------------
# Each role at work


async def sell(w: Walk) -> None:
    """alice: a lead, qualified into an opportunity, a quotation the customer accepts: the sales order."""
    page = await w.login("alice")
    await w.visit(page, "/pipeline", "pipeline")
    await w.label(page, "Company").fill("Walk Retail")
    await w.label(page, "Contact").fill("Rita Walker")
    await w.label(page, "E-mail").fill("rita@walk-retail.example")
    await w.label(page, "Source", exact=False).select_option("referral")
    await w.label(page, "Estimated value").fill("5,000")
    await w.press(page, "Save lead", "lead")
    await w.label(page, "Customer", exact=False).select_option(label="Walk Retail")
    await w.press(page, "Qualify: open an opportunity", "opportunity")
    await w.label(page, "SKU, line %(index)s", index=1).fill("FG-1")
    await w.label(page, "Quantity, line %(index)s", index=1).fill("2")
    await w.label(page, "Unit price, line %(index)s", index=1).fill("350.00")
    await w.press(page, "Create quotation", "quotation")
    quotation = _number(r"[^/]+$", page.url.split("?")[0])
    await w.press(page, "Customer accepted", "quotation-accepted")
    so = w.wait_db("SELECT number FROM sales_orders WHERE quotation_number = :q", "the sales order", q=quotation)
    w.facts["so"] = so
    await w.visit(page, f"/sales-orders/{so}", "sales-order")


async def plan(w: Walk) -> None:
    """carol: the order's shortage planned (kitting, MRP: production orders and a purchase), and an MRP run."""
    so = w.facts["so"]
    w.wait_db("SELECT count(*) FROM production_orders WHERE sales_order_number = :so", "production orders", so=so)
    page = await w.login("carol")
    await w.visit(page, f"/sales-orders/{so}", "planner-sales-order")
    await w.visit(page, "/planning", "planning")
    await w.press(page, "Run MRP over all open orders", "mrp-run")
    await w.visit(page, "/production-orders", "production-orders")


async def buy(w: Walk) -> None:
    """The order's purchase approved; dave's own requisition, approved by frank: purchase orders."""
    so = w.facts["so"]
    pr = w.wait_db("SELECT number FROM purchase_requisitions WHERE sales_order_number = :so", "the purchase", so=so)
    await w.approve_task(pr, "Needed for the order")
    page = await w.login("dave")
    await w.visit(page, "/purchasing", "purchasing")
    await page.locator("#sku_0").fill("RAW-1")
    await page.locator("#qty_0").fill("20")
    await page.locator("#price_0").fill("4.80")
    await w.label(page, "Supplier", exact=False).select_option(w.facts["supplier_id"])
    await w.label(page, "Justification").fill("Stock of tubes for the next orders")
    await w.press(page, "Submit for approval", "requisition")
    own = w.wait_db("SELECT number FROM purchase_requisitions WHERE requester = 'dave' ORDER BY id DESC LIMIT 1",
                    "dave's requisition")
    await w.approve_task(own, "Fine")
    w.wait_db("SELECT count(*) FROM purchase_orders WHERE requisition_number = :r", "its purchase order", r=own)
    await w.visit(page, "/purchase-orders", "purchase-orders")


async def receive(w: Walk) -> None:
    """ivan receives every open purchase order, the first one in two parts."""
    page = await w.login("ivan")
    await w.visit(page, "/warehouse", "warehouse")
    from domain.tables import PurchaseOrder, PurchaseOrderLine

    orders = [r[0] for r in w.site.rows(select(PurchaseOrder.number).order_by(PurchaseOrder.id))]
    lines = {po: [r[0] for r in w.site.rows(select(PurchaseOrderLine.qty).join(PurchaseOrder)
                                            .where(PurchaseOrder.number == po).order_by(PurchaseOrderLine.id))]
             for po in orders}
    for i, po in enumerate(orders):
        qty = lines[po][0]
        parts = [qty // 2, qty - qty // 2] if i == 0 and qty >= 2 else [qty]
        for k, part in enumerate(parts):
            await w.visit(page, f"/warehouse/receive/{po}", f"receive-{po}-{k}")
            await page.locator("#qty_0").fill(str(part))
            await w.press(page, "Receive into stock", f"received-{po}-{k}")


async def produce(w: Walk) -> None:
    """carol reports the production orders done, the sub-assembly first (its kit is in now), then the frame."""
    from domain.tables import ProductionOrder

    so = w.facts["so"]
    page = await w.login("carol")
    for sku in ("SUB-1", "FG-1"):
        number = w.wait_db("SELECT number FROM production_orders WHERE sales_order_number = :so AND sku = :sku",
                           f"the production order of {sku}", so=so, sku=sku)
        await w.until(page, f"/production-orders/{number}",
                      lambda: _has(page.get_by_role("button", name=w.t("Report progress"))),
                      f"{number} released")
        await w.shot(page, f"production-{sku}")
        qty = w.site.value(select(ProductionOrder.qty).where(ProductionOrder.number == number))
        await w.label(page, "Good units finished").fill(str(qty))
        await w.label(page, "Labour hours").fill("1.5")
        await w.press(page, "Report progress", f"production-{sku}-done")


async def deliver(w: Walk) -> None:
    so = w.facts["so"]
    page = await w.login("ivan")
    button = page.get_by_role("button", name=w.t("Deliver %(sales_order_id)s", sales_order_id=so))
    await w.until(page, f"/sales-orders/{so}", lambda: _has(button), f"{so} ready to deliver")
    await w.shot(page, "sales-order-ready")
    await w.submit(page, button, "delivered")


async def collect(w: Walk) -> None:
    """The invoice issued at delivery, paid: grace records the customer's payment."""
    so = w.facts["so"]
    invoice = w.wait_db("SELECT number FROM invoices WHERE sales_order_number = :so", "the invoice", so=so)
    page = await w.login("grace")
    await w.visit(page, f"/invoices/{invoice}", "invoice")
    from domain.tables import Invoice

    total = w.site.value(select(Invoice.total).where(Invoice.number == invoice))
    await w.visit(page, "/payments/new", "payment-new")
    await w.label(page, "Party", exact=False).select_option(label="Walk Retail")
    await w.press(page, "Show open invoices", "payment-party")
    await w.label(page, "Amount").fill(f"{total:,.2f}")
    await w.label(page, "Reference", exact=False).fill("BANK-0001")
    await w.press(page, "Record the payment", "payment")
    w.wait_db("SELECT count(*) FROM invoices WHERE number = :n AND status = 'paid'", "the invoice paid", n=invoice)
    await w.visit(page, f"/invoices/{invoice}", "invoice-paid")
    await w.visit(page, "/journal", "journal")
    await w.visit(page, "/trial-balance", "trial-balance")


async def expense_claim(w: Walk) -> None:
    """erin files a claim, frank approves it, grace pays it from the Pay task in her inbox."""
    page = await w.login("erin")
    await w.visit(page, "/requests", "requests")
    await w.label(page, "Category", exact=False).select_option("travel")
    await w.label(page, "Amount").fill("320.50")
    await w.label(page, "Date").fill(TODAY)
    await w.label(page, "Description").fill("Train to the customer" if w.lang == "en" else "去客户处的火车票")
    await w.press(page, "File claim", "claim-filed")
    claim = w.wait_db("SELECT number FROM expense_claims ORDER BY id DESC LIMIT 1", "the claim")
    await w.approve_task(claim, "Fine")
    grace = await w.login("grace")
    row = grace.locator("table.inbox tbody tr", has_text=claim)
    await w.until(grace, "/inbox", lambda: _has(row), f"the Pay task of {claim}")
    await w.shot(grace, "grace-inbox-pay")
    async with grace.expect_navigation():
        await row.first.get_by_role("link").first.click()
    await w.shot(grace, "pay-task")
    await w.submit(grace, grace.get_by_role("button", name=re.compile("^" + re.escape(w.t("Pay %(amount)s %(currency)s",
                   amount="", currency="").strip()))), "claim-paid")
    w.wait_db("SELECT count(*) FROM expense_claims WHERE number = :n AND status = 'paid'", "the claim paid", n=claim)
    await w.visit(page, "/requests", "requests-paid")


async def own_settings(w: Walk) -> None:
    """erin changes her own password (her session ends; she logs in with the new one) and chooses the other
    language in her settings: her pages follow it, whatever her browser says."""
    page = await w.login("erin")
    await w.visit(page, "/me", "erin-settings")
    await w.label(page, "Current password").fill(PASSWORD)
    await w.label(page, "New password").fill(NEW_PASSWORD)
    await w.label(page, "New password again").fill(NEW_PASSWORD)
    await w.press(page, "Change password", "erin-password-changed")
    await page.context.close()
    w.contexts.remove(page.context)
    del w.pages["erin"]
    page = await w.login("erin", NEW_PASSWORD)
    other = "zh_Hans" if w.lang == "en" else "en"
    await w.visit(page, "/me", "erin-settings-again")
    await page.locator("#locale").select_option(other)
    await w.submit(page, page.get_by_role("button", name=w.t("Save"), exact=True), "erin-language", False)
    await page.goto("/requests")
    await w.shot(page, f"erin-requests-{other}", False)
    assert await page.locator("html").get_attribute("lang") == ("zh-Hans" if other == "zh_Hans" else "en")


SETUP = [("admin logs in", admin_login), ("first-run page", first_run), ("users and roles", create_users),
         ("approval policies", approval_policies), ("supplier", supplier), ("items", items),
         ("supplier prices", supplier_prices), ("work centre", work_centre), ("two-level BOM", boms),
         ("customer with a credit limit", customer), ("50 items from CSV", import_items)]
WORK = [("sell", sell), ("plan", plan), ("buy", buy), ("receive", receive), ("produce", produce),
        ("deliver", deliver), ("invoice paid", collect), ("expense claim", expense_claim),
        ("own password and language", own_settings)]
SHORT = {"admin logs in", "first-run page", "users and roles", "approval policies", "supplier", "items",
         "work centre", "two-level BOM", "50 items from CSV", "expense claim", "own password and language"}
NEEDS = {  # a step that cannot run once one it stands on was skipped
    "supplier prices": {"supplier", "items"}, "two-level BOM": {"items", "work centre"},
    "customer with a credit limit": {"users and roles"},
    "sell": {"users and roles", "two-level BOM", "customer with a credit limit", "approval policies"},
    "plan": {"sell"}, "buy": {"sell"}, "receive": {"buy"}, "produce": {"receive"}, "deliver": {"produce"},
    "invoice paid": {"deliver"}, "expense claim": {"users and roles", "approval policies"},
    "own password and language": {"users and roles"},
}


def check_the_books(w: Walk) -> None:
    """What the walk did, read back from the company's database: the order delivered and paid, everything made
    and received, the claim paid; the trial balance balances."""
    from domain.tables import ExpenseClaim, Invoice, JournalLine, ProductionOrder, PurchaseOrder, SalesOrder

    if "invoice paid" in w.done:
        so = w.facts["so"]
        assert w.site.value(select(SalesOrder.status).where(SalesOrder.number == so)) == "completed"
        assert {r[0] for r in w.site.rows(select(ProductionOrder.status))} == {"completed"}
        assert {r[0] for r in w.site.rows(select(PurchaseOrder.status))} == {"received"}
        assert w.site.value(select(Invoice.status).where(Invoice.sales_order_number == so)) == "paid"
    if "expense claim" in w.done:
        assert w.site.value(select(ExpenseClaim.status).order_by(ExpenseClaim.id.desc()).limit(1)) == "paid"
    debit = w.site.value(select(func.coalesce(func.sum(JournalLine.debit), 0)))
    credit = w.site.value(select(func.coalesce(func.sum(JournalLine.credit), 0)))
    assert debit == credit, (debit, credit)


def cjk_font() -> bool:
    try:
        out = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return True  # cannot tell
    return bool(out.strip())


async def walk(browser: Any, site: Installation, lang: str, steps: list[tuple[str, Any]]) -> Walk:
    w = Walk(browser, site, lang)
    started = time.monotonic()
    try:
        for name, action in steps:
            missing = NEEDS.get(name, set()) - set(w.done)
            if missing:
                w.skipped.append(f"{name}: stands on {', '.join(sorted(missing))}")
                continue
            t0 = time.monotonic()
            await w.step(name, action)
            print(f"[{lang}] {name}: {time.monotonic() - t0:.1f} s")
    finally:
        await w.close()
    print(f"[{lang}] walked in {time.monotonic() - started:.0f} s; done: {w.done}; skipped: {w.skipped}")
    assert not w.errors, w.errors
    check_the_books(w)
    return w


def finish(walks: list[Walk]) -> None:
    """Every step walked: a page that answers 404 (or a step standing on one) fails the walk, named."""
    skipped = [f"[{w.lang}] {s}" for w in walks for s in w.skipped]
    assert not skipped, "steps not walked: " + "; ".join(skipped)


async def test_company_from_empty_short(browser: Any, tmp_path: Path) -> None:
    """English: first run, users and roles, an item with its BOM, the CSV import, one claim filed, approved and
    paid."""
    with valueloop_up(tmp_path / "en") as site:
        w = await walk(browser, site, "en", [s for s in SETUP + WORK if s[0] in SHORT])
    finish([w])


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_company_from_empty(browser: Any, tmp_path: Path, lang: str) -> None:
    """The whole walk, in English and in Chinese."""
    if lang == "zh" and not cjk_font():
        warnings.warn("no CJK font (fonts-noto-cjk): the Chinese screenshots show boxes", stacklevel=1)
    with valueloop_up(tmp_path / lang) as site:
        w = await walk(browser, site, lang, SETUP + WORK)
    finish([w])
