"""The finance reports, exchange rates and printed documents over HTTP: the JSON shapes of API.md, each report's
CSV (content type and header row), the invoice and statement PDFs (their text read back), the rates table
(409 for a second rate on one day, 422 for the company currency, a CSV file all or none naming its line), an
expense claim in a currency without a rate refused before any process starts, and 403 for a salesperson."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from domain.accounting.tables import ExchangeRate
from domain.cash import services as cash
from domain.cash.rules import BUCKETS, Direction, InvoiceKind
from domain.core.types import utcnow
from domain.expenses.tables import ExpenseClaim
from domain.parties.tables import Customer, Supplier
from domain.processes.tables import Process
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
D = Decimal
REPORTS = ["/api/reports/ar-aging", "/api/reports/ap-aging", "/api/reports/profit-and-loss",
           "/api/reports/balance-sheet", "/api/reports/cash-position"]


def seed(stack: Stack) -> dict[str, object]:
    """A customer owing on three invoices (current, 1-30, 90+) after a part payment; a supplier bill due (for
    office supplies: no goods received to clear)."""
    today = utcnow().date()
    with stack.db.write() as s:
        cid = s.execute(select(Customer.id).order_by(Customer.id)).scalars().first()
        sid = s.execute(select(Supplier.id).order_by(Supplier.id)).scalars().first()
        numbers = []
        for key, amount, issued in (("old", "300", today - timedelta(days=130)), ("mid", "500", today - timedelta(days=45)),
                                    ("new", "200", today - timedelta(days=3))):
            numbers.append(cash.issue(s, kind=InvoiceKind.CUSTOMER, party_id=cid, issued_on=issued, currency="USD",
                                      key=f"e2e:{key}", process_id=f"p-{key}", tax=D(0), terms=30, owner="alice",
                                      lines=[cash.LineIn(sku="FAN-200", qty=D(2), unit_price=D(amount) / 2,
                                                         net=D(amount), description="Fan")]).number)
        cash.record_payment(s, cash.PaymentIn(direction=Direction.IN, party_id=cid, amount=D("100"), currency="USD",
                                              paid_on=today - timedelta(days=1), reference="TT-E2E"), by="grace")
        cash.issue(s, kind=InvoiceKind.SUPPLIER, party_id=sid, issued_on=today - timedelta(days=5), currency="USD",
                   key="e2e:bill", process_id="p-bill", tax=D(0), terms=30, other_side={"6400": D("80")},
                   lines=[cash.LineIn(sku="MOTOR-1", qty=D(1), unit_price=D("80"), net=D("80"))])
        name = s.get(Customer, cid).name  # type: ignore[union-attr]
    return {"customer_id": cid, "supplier_id": sid, "numbers": numbers, "name": name, "today": today}


async def test_the_reports_answer_the_contracts_shapes_as_json_and_csv(stack: Stack) -> None:
    seeded = seed(stack)
    cid = seeded["customer_id"]
    r = await stack.as_("grace", "GET", "/api/reports/ar-aging")
    assert r.status_code == 200, r.text
    ar = r.json()
    assert set(ar) == {"as_of", "buckets", "rows", "totals"} and ar["buckets"] == list(BUCKETS)
    row = next(x for x in ar["rows"] if x["party_id"] == cid)
    assert set(row) == {"party_id", "party_name", *BUCKETS, "total"}
    # 300 (130 days old, due 100 days ago) took the 100 paid first: 200 in 90+; 500 is 15 days past due; 200 current.
    assert (row["90+"], row["1-30"], row["current"], row["total"]) == ("200.00", "500.00", "200.00", "900.00")
    assert set(ar["totals"]) == {*BUCKETS, "total"}
    ap = (await stack.as_("grace", "GET", "/api/reports/ap-aging")).json()
    assert next(x for x in ap["rows"] if x["party_id"] == seeded["supplier_id"])["current"] == "80.00"
    past = (await stack.as_("grace", "GET", "/api/reports/ar-aging", params={"as_of": "2000-01-01"})).json()
    assert past["rows"] == [] and past["as_of"] == "2000-01-01"

    st = (await stack.as_("grace", "GET", "/api/reports/customer-statement",
                          params={"customer_id": cid, "from": (seeded["today"] - timedelta(days=60)).isoformat()})).json()
    assert {"customer_id", "customer_name", "currency", "from", "to", "opening_balance", "lines", "closing_balance",
            "aging"} <= set(st)
    assert st["opening_balance"] == "300.00" and st["closing_balance"] == "900.00"
    assert [(ln["kind"], ln["balance"]) for ln in st["lines"]] == [("invoice", "800.00"), ("invoice", "1000.00"),
                                                                   ("payment", "900.00")]
    pnl = (await stack.as_("grace", "GET", "/api/reports/profit-and-loss",
                           params={"from": "2000-01-01"})).json()
    assert {"from", "to", "income", "total_income", "expenses", "total_expenses", "net_profit"} <= set(pnl)
    assert D(pnl["total_income"]) >= D("1000")
    bs = (await stack.as_("grace", "GET", "/api/reports/balance-sheet")).json()
    assert bs["total_assets"] == bs["total_liabilities_and_equity"] and bs["balanced"] is True
    assert D(bs["total_assets"]) == D(bs["total_liabilities"]) + D(bs["total_equity"])
    cp = (await stack.as_("grace", "GET", "/api/reports/cash-position")).json()
    assert {"as_of", "bank", "receivables", "payables", "net_30_days"} <= set(cp)
    assert D(cp["payables"]["next_30_days"]) >= D("80")

    for path, header in [("/api/reports/ar-aging.csv", "party_id,party_name,current,1-30,31-60,61-90,90+,total"),
                         ("/api/reports/ap-aging.csv", "party_id,party_name,current,1-30,31-60,61-90,90+,total"),
                         (f"/api/reports/customer-statement.csv?customer_id={cid}",
                          "on,kind,number,reference,due_on,amount,balance"),
                         ("/api/reports/profit-and-loss.csv", "section,code,name,amount"),
                         ("/api/reports/balance-sheet.csv", "section,code,name,amount"),
                         ("/api/reports/cash-position.csv", "item,when,amount")]:
        r = await stack.as_("grace", "GET", path)
        assert r.status_code == 200, (path, r.text)
        assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
        assert r.text.splitlines()[0] == header, path

    for path in [*REPORTS, "/api/reports/ar-aging.csv", f"/api/reports/customer-statement?customer_id={cid}",
                 "/api/exchange-rates"]:
        r = await stack.as_("alice", "GET", path)
        assert r.status_code == 403, (path, r.text)
    bad = await stack.as_("grace", "GET", "/api/reports/customer-statement", params={"customer_id": 999999})
    assert bad.status_code == 404
    assert (await stack.as_("grace", "GET", "/api/reports/ar-aging", params={"as_of": "31/12/2026"})).status_code == 422


def pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF")
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


async def test_invoices_and_statements_print_as_pdf(stack: Stack) -> None:
    seeded = seed(stack)
    number = seeded["numbers"][0]  # type: ignore[index]
    for user in ("grace", "alice"):  # finance, and the order's salesperson
        r = await stack.as_(user, "GET", f"/api/invoices/{number}/pdf")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        text = pdf_text(r.content)
        assert number in text and str(seeded["name"]) in text and "300.00" in text
    assert (await stack.as_("erin", "GET", f"/api/invoices/{number}/pdf")).status_code == 404
    assert (await stack.as_("grace", "GET", "/api/invoices/INV-99999/pdf")).status_code == 404
    r = await stack.as_("grace", "GET", "/api/reports/customer-statement.pdf",
                        params={"customer_id": seeded["customer_id"], "from": "2000-01-01"})
    assert r.status_code == 200, r.text
    text = pdf_text(r.content)
    assert "Statement of account" in text and str(seeded["name"]) in text and "900.00" in text


async def test_finance_keeps_the_exchange_rates_table(stack: Stack) -> None:
    r = await stack.as_("grace", "POST", "/api/exchange-rates", json={"currency": "CHF", "valid_from": "2026-11-01",
                                                                     "rate": "1.0850"})
    assert r.status_code == 201, r.text
    assert r.json()["rate"] == "1.085" and r.json()["entered_by"] == "grace"
    again = await stack.as_("grace", "POST", "/api/exchange-rates", json={"currency": "CHF", "valid_from": "2026-11-01",
                                                                         "rate": "1.09"})
    assert again.status_code == 409 and "a rate for CHF on 2026-11-01 exists" in again.json()["detail"]
    for body in ({"currency": "USD", "valid_from": "2026-11-01", "rate": "1"},
                 {"currency": "CHF", "valid_from": "2026-11-02", "rate": "0"},
                 {"currency": "CHF", "valid_from": "2026-11-02", "rate": "-1.5"},
                 {"currency": "chf", "valid_from": "2026-11-02", "rate": "1.1"}):
        r = await stack.as_("grace", "POST", "/api/exchange-rates", json=body)
        assert r.status_code == 422, (body, r.text)
    assert (await stack.as_("alice", "POST", "/api/exchange-rates",
                            json={"currency": "SEK", "valid_from": "2026-11-01", "rate": "1.27"})).status_code == 403

    good = "currency,valid_from,rate\nSEK,2026-10-01,1.27\nJPY,2026-10-01,0.0066\n"
    r = await stack.as_("grace", "POST", "/api/exchange-rates/import", content=good,
                        headers={"Content-Type": "text/csv"})
    assert r.status_code == 201 and r.json() == {"rows": 2, "created": 2}, r.text
    r = await stack.as_("admin", "POST", "/api/exchange-rates/import",
                        files={"file": ("rates.csv", b"currency,valid_from,rate\nNOK,2026-10-01,0.094\n", "text/csv")})
    assert r.status_code == 201, r.text
    bad = "currency,valid_from,rate\nDKK,2026-10-01,0.145\nSEK,2026-10-01,1.28\n"
    r = await stack.as_("grace", "POST", "/api/exchange-rates/import", content=bad, headers={"Content-Type": "text/csv"})
    assert r.status_code == 409 and r.json()["detail"].startswith("line 3:"), r.text
    rows = (await stack.as_("grace", "GET", "/api/exchange-rates")).json()
    assert {"CHF", "SEK", "JPY", "NOK"} <= {x["currency"] for x in rows}
    assert (await stack.as_("grace", "GET", "/api/exchange-rates", params={"currency": "DKK"})).json() == []
    assert [x["rate"] for x in (await stack.as_("heidi", "GET", "/api/exchange-rates",
                                                 params={"currency": "SEK"})).json()] == ["1.27"]


async def test_an_expense_claim_in_a_currency_without_a_rate_is_refused_before_its_process(stack: Stack) -> None:
    today = utcnow().date().isoformat()
    line = {"category": "travel", "amount": "100.00", "currency": "CHF", "date": today, "description": "taxi"}
    r = await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [line]})
    assert r.status_code == 422 and "CHF" in r.json()["detail"] and "exchange rate" in r.json()["detail"], r.text
    with stack.db.read() as s:
        assert s.execute(select(func.count()).select_from(ExpenseClaim)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(Process).where(
            Process.type == "expense_claim")).scalar_one() == 0
    with stack.db.write() as s:
        s.add(ExchangeRate(currency="CHF", valid_from=date(2020, 1, 1), rate=D("1.1")))
    r = await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [line]})
    assert r.status_code in (200, 201), r.text
