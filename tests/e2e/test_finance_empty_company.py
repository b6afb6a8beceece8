"""The finance pages of a company started without the demo (`valueloop up` on a fresh data directory): no
company row, no exchange rate, no customer, supplier, invoice, bill or payment. Every page answers (no 5xx) and
says politely what is missing instead of an empty form."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from domain import demo
from domain.core.db import Database
from domain.org import services as org
from tests.e2e.conftest import Stack, serve_stack
from tests.e2e.test_sales_pages import Browser, text

pytestmark = pytest.mark.e2e

# The users an admin would create first (the test logs in with the password Stack.login uses).
PEOPLE = {"fiona": ["finance", "employee"], "boris": ["buyer", "employee"], "cleo": ["cfo", "employee"]}
PAGES = ["/finance", "/invoices", "/payments", "/payments/new", "/payments/new?party=in:1", "/bills", "/bills/new",
         "/periods", "/finance/ar-aging", "/finance/ap-aging", "/finance/statements",
         "/finance/profit-and-loss", "/finance/balance-sheet", "/finance/cash-position", "/finance/rates"]


@pytest_asyncio.fixture
async def empty(dev_env: WorkflowEnvironment, fresh_db: Database) -> AsyncIterator[Stack]:
    with fresh_db.write() as s:
        assert demo.first_admin(s, "demo")
        for username, roles in PEOPLE.items():
            org.create_user(s, username, "demo", roles)
    async with serve_stack(dev_env, fresh_db, "empty") as served:
        yield Stack(http=served.http, db=fresh_db, platform=served.platform)


async def test_every_finance_page_answers_on_an_empty_company(empty: Stack) -> None:
    for user in ("admin", "fiona", "boris", "cleo"):
        who = await Browser(empty, user).start()
        for page in PAGES:
            r = await who.get(page)
            assert r.status_code in (200, 403), (user, page, r.status_code, text(r)[:300])
            assert "Traceback" not in r.text and "Internal Server Error" not in r.text


async def test_the_empty_pages_say_what_is_missing(empty: Stack) -> None:
    fiona = await Browser(empty, "fiona").start()
    landing = text(await fiona.get("/finance"))
    assert "in the bank" in landing and "0.00" in landing and "today, in USD" in landing  # the default currency
    assert "no customer or supplier yet" in text(await fiona.get("/payments/new"))
    assert "no customer yet" in text(await fiona.get("/finance/statements"))
    assert "No invoice you may see yet" in text(await fiona.get("/invoices"))
    assert "No payment yet" in text(await fiona.get("/payments"))
    assert "No supplier bill yet" in text(await fiona.get("/bills"))
    assert "No rates yet" in text(await fiona.get("/finance/rates"))
    assert "Nothing is open" in text(await fiona.get("/finance/ar-aging"))
    assert "Nothing is open" in text(await fiona.get("/finance/ap-aging"))
    sheet = text(await fiona.get("/finance/balance-sheet"))
    assert "Assets 0.00 = liabilities and equity 0.00" in sheet and "balanced" in sheet
    assert "Net profit 0.00" in text(await fiona.get("/finance/profit-and-loss"))
    assert "No purchase order has goods received and not yet billed" in text(
        await (await Browser(empty, "boris").start()).get("/bills/new"))
    # a party or document that is not there is a sentence, not a crash
    r = await fiona.get("/finance/statements?customer_id=1")
    assert r.status_code == 404 and "no customer 1" in text(r)
    r = await fiona.get("/invoices/INV-00001")
    assert r.status_code == 404 and "no invoice INV-00001" in text(r)
    r = await fiona.post("/payments/new", {"direction": "in", "party_id": "1", "amount": "10", "currency": "USD",
                                           "paid_on": "2026-01-05", "reference": "X-1", "action": "preview"})
    assert r.status_code == 404 and "no customer 1" in text(r)
