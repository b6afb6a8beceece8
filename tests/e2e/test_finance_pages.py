"""The finance pages over HTTP, without a browser: the Finance entry in the navigation for finance, the cfo and
buyers (not for a salesperson), the landing page's links, each report page with the database's numbers, the
statement with its CSV and PDF links, and the exchange rates page's add form and CSV upload."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_finance_reports import seed
from tests.e2e.test_sales_pages import Browser, text

pytestmark = pytest.mark.e2e
NAV_FINANCE = '<a href="/finance"'


async def test_the_finance_entry_and_landing_page_are_for_finance_the_cfo_and_buyers(stack: Stack) -> None:
    for user, sees in (("grace", True), ("heidi", True), ("dave", True), ("admin", True), ("alice", False),
                       ("erin", False)):
        page = await (await Browser(stack, user).start()).get("/inbox")
        assert (NAV_FINANCE in page.text) == sees, user
    grace = await (await Browser(stack, "grace").start()).get("/finance")
    assert grace.status_code == 200
    for href in ("/invoices", "/bills/new", "/payments", "/finance/ar-aging", "/finance/ap-aging",
                 "/finance/statements", "/finance/profit-and-loss", "/finance/balance-sheet",
                 "/finance/cash-position", "/finance/rates", "/periods"):
        assert f'href="{href}"' in grace.text, href
    assert 'aria-current="page">Finance' in grace.text
    dave = await (await Browser(stack, "dave").start()).get("/finance")
    assert dave.status_code == 200 and 'href="/bills/new"' in dave.text and "/finance/ar-aging" not in dave.text
    alice = await (await Browser(stack, "alice").start()).get("/finance")
    assert alice.status_code == 403
    report = await (await Browser(stack, "alice").start()).get("/finance/ar-aging")
    assert report.status_code == 403 and "finance reports are for" in text(report)


async def test_the_report_pages_show_the_numbers(stack: Stack) -> None:
    seeded = seed(stack)
    grace = await Browser(stack, "grace").start()
    ar = await grace.get("/finance/ar-aging")
    assert ar.status_code == 200, text(ar)[:300]
    body = text(ar)
    assert str(seeded["name"]) in body and "900.00" in body and "500.00" in body
    assert 'href="/api/reports/ar-aging.csv?as_of=' in ar.text and "<script" not in ar.text
    ap = await grace.get("/finance/ap-aging")
    assert ap.status_code == 200 and "80.00" in text(ap)
    past = await grace.get("/finance/ar-aging?as_of=2000-01-01")
    assert "Nothing is open" in text(past)
    assert (await grace.get("/finance/ar-aging?as_of=yesterday")).status_code == 422

    st = await grace.get(f"/finance/statements?customer_id={seeded['customer_id']}&from=2000-01-01")
    assert st.status_code == 200, text(st)[:300]
    body = text(st)
    assert "Opening balance" in body and "Closing balance" in body and "900.00" in body
    for number in seeded["numbers"]:  # type: ignore[attr-defined]
        assert number in body
    assert "customer-statement.pdf?customer_id=" in st.text
    assert (await grace.get("/finance/statements")).status_code == 200  # the customer to choose first

    pnl = await grace.get("/finance/profit-and-loss?from=2000-01-01")
    assert pnl.status_code == 200 and "Sales revenue" in text(pnl) and 'id="net-profit"' in pnl.text
    bs = await grace.get("/finance/balance-sheet")
    assert bs.status_code == 200
    total = re.search(r"Assets ([\d,.-]+) = liabilities and equity ([\d,.-]+)", text(bs))
    assert total and total.group(1) == total.group(2)
    cash = await grace.get("/finance/cash-position")
    assert cash.status_code == 200 and "in the bank" in text(cash)


async def test_finance_enters_and_uploads_exchange_rates_on_the_rates_page(stack: Stack) -> None:
    grace = await Browser(stack, "grace").start()
    page = await grace.get("/finance/rates")
    assert page.status_code == 200
    r = await grace.post("/finance/rates", {"currency": "chf", "valid_from": "2026-11-01", "rate": "1.085"})
    assert r.status_code == 303, text(r)[:300]
    page = await grace.get(r.headers["location"])
    assert "Entered: 1 CHF = 1.085 from 2026-11-01" in text(page) and "1.085" in text(page)
    again = await grace.post("/finance/rates", {"currency": "CHF", "valid_from": "2026-11-01", "rate": "1.09"})
    assert again.status_code == 409 and "a rate for CHF on 2026-11-01 exists" in text(again)
    assert (await grace.post("/finance/rates", {"currency": "CHF", "valid_from": "2026-11-02",
                                                "rate": "abc"})).status_code == 422
    upload = await stack.http.post("/finance/rates/import", data={"csrf": grace.csrf}, headers={"Cookie": grace.cookie},
                                   files={"file": ("rates.csv", b"currency,valid_from,rate\nSEK,2026-10-01,0.094\n",
                                                   "text/csv")})
    assert upload.status_code == 303, text(upload)[:300]
    bad = await stack.http.post("/finance/rates/import", data={"csrf": grace.csrf}, headers={"Cookie": grace.cookie},
                                files={"file": ("rates.csv", b"currency,valid_from,rate\nNOK,2026-10-01,0\n", "text/csv")})
    assert bad.status_code == 422 and "line 2: rate" in text(bad)
    page = await grace.get("/finance/rates")
    assert "SEK" in text(page) and "NOK" not in text(page)
    heidi = await (await Browser(stack, "heidi").start()).get("/finance/rates")  # reads, may not enter
    assert heidi.status_code == 200 and 'action="/finance/rates"' not in heidi.text
