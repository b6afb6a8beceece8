"""Customers, suppliers and the price list in the browser (over HTTP, without one): lists with search, filters, paging
and CSV; create and edit with bad input refused (422, nothing stored); the credit limit; contacts; deactivation
refused while something is open; a supplier's prices. And the sales fixes of issue 18: a quotation or order line
left without a price takes the price list's, an opportunity with a quotation out is at proposal (and cannot be moved
back), the pipeline's Won is what was ordered, a customer created from a lead starts with the company's default
credit limit."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.core.types import utcnow
from domain.crm.tables import Opportunity
from domain.parties.tables import Customer, PriceListPrice, Supplier, SupplierPrice
from domain.purchasing.tables import PurchaseOrder
from domain.sales.tables import Quotation, SalesOrder
from tests.e2e.conftest import Stack
from tests.e2e.test_finance_reports import seed
from tests.e2e.test_sales_pages import Browser, count, new_lead, text

pytestmark = pytest.mark.e2e


def text_of(markup: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)))


async def test_customers_list_create_edit_credit_contacts_and_deactivation(stack: Stack) -> None:
    grace, alice, erin = [await Browser(stack, u).start() for u in ("grace", "alice", "erin")]
    assert 'href="/customers"' in (await grace.get("/inbox")).text
    assert 'href="/customers"' not in (await erin.get("/inbox")).text
    assert (await erin.get("/customers")).status_code == 403
    page = await grace.get("/customers")
    assert page.status_code == 200 and "Globex Corporation" in page.text and "Initech" in page.text
    assert "Default credit limit" in page.text and "10,000.00" in page.text  # the demo's default
    assert "Initech" not in (await grace.get("/customers?q=globex")).text
    csv = await grace.get("/customers.csv")
    assert csv.status_code == 200 and csv.text.startswith("name,currency,credit_limit,payment_terms_days,active")
    assert "Globex Corporation,USD,50000" in csv.text

    before = count(stack, Customer)
    for bad, why in (({"name": "", "currency": "USD"}, "name is required"),
                     ({"name": "Wayne", "currency": "dollars"}, "three-letter code"),
                     ({"name": "Wayne", "currency": "USD", "payment_terms_days": "soon"}, "must be a number"),
                     ({"name": "Wayne", "currency": "USD", "credit_limit": "-5"}, "0 or more")):
        r = await grace.post("/customers", bad)
        assert r.status_code == 422 and why in text(r), (bad, text(r)[:300])
        assert 'value="Wayne"' in r.text or not bad["name"]  # what was typed stays
    r = await grace.post("/customers", {"name": "globex  corporation", "currency": "USD"})
    assert r.status_code == 409 and "exists already" in text(r)
    assert count(stack, Customer) == before

    r = await grace.post("/customers", {"name": "Wayne Enterprises", "currency": "usd", "payment_terms_days": "45",
                                        "credit_limit": "２５,000"})
    assert r.status_code == 303, text(r)
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    page = text(await grace.get(f"/customers/{cid}"))
    assert "Customer Wayne Enterprises is saved." in page
    assert "Credit limit 25,000.00 USD" in page and "Payment terms 45 days" in page
    with stack.db.read() as s:
        assert s.get(Customer, cid).credit_limit == Decimal(25000)  # type: ignore[union-attr]

    r = await grace.post(f"/customers/{cid}/credit-limit", {"credit_limit": "lots"})
    assert r.status_code == 422 and "must be a number" in text(r)
    r = await grace.post(f"/customers/{cid}/credit-limit", {"credit_limit": "30,000"})
    assert r.status_code == 303
    page = text(await grace.get(f"/customers/{cid}"))
    assert "The credit limit is now 30,000.00." in page and "customer: changed" in page
    r = await grace.post(f"/customers/{cid}/credit-limit", {"credit_limit": "80000"})  # over the threshold
    assert r.status_code == 303
    assert "waits for a second approval" in text(await grace.get(f"/customers/{cid}"))
    r = await alice.post(f"/customers/{cid}/credit-limit", {"credit_limit": "1000000"})
    assert r.status_code == 403
    with stack.db.read() as s:
        assert s.get(Customer, cid).credit_limit == Decimal(30000)  # type: ignore[union-attr]

    r = await grace.post(f"/customers/{cid}", {"name": "Wayne Enterprises Inc", "currency": "EUR",
                                               "payment_terms_days": "500"})
    assert r.status_code == 422 and "0 to 365" in text(r)
    r = await grace.post(f"/customers/{cid}", {"name": "Wayne Enterprises Inc", "currency": "EUR",
                                               "payment_terms_days": "60"})
    assert r.status_code == 303
    r = await grace.post(f"/customers/{cid}/contacts", {"name": "Lucius Fox", "email": "not-mail"})
    assert r.status_code == 422 and "e-mail address" in text(r)
    r = await grace.post(f"/customers/{cid}/contacts", {"name": "Lucius Fox", "email": "lucius@wayne.example",
                                                        "phone": "+1 555 0199"})
    assert r.status_code == 303
    page = text(await grace.get(f"/customers/{cid}"))
    assert "Wayne Enterprises Inc" in page and "Lucius Fox lucius@wayne.example +1 555 0199" in page
    assert "Payment terms 60 days" in page
    alice_page = await alice.get(f"/customers/{cid}")
    assert alice_page.status_code == 200 and "Add contact" not in alice_page.text and "Set credit limit" not in alice_page.text

    # Deactivation: refused while invoices are open (the first demo customer, given open invoices), done otherwise.
    seeded = seed(stack)
    held = seeded["customer_id"]
    assert str(seeded["name"]) in text(await grace.get("/customers?status=on_hold"))
    r = await grace.post(f"/customers/{held}/deactivate")
    assert r.status_code == 409 and "cannot be deactivated" in text(r) and "open invoices" in text(r)
    with stack.db.read() as s:
        assert s.get(Customer, held).active  # type: ignore[union-attr]
    statement = await grace.get(f"/customers/{held}")
    assert f'href="/finance/statements?customer_id={held}"' in statement.text
    assert re.search(r"Invoice [A-Z]+-\d+", text(statement))  # the activity log
    r = await grace.post(f"/customers/{cid}/deactivate")
    assert r.status_code == 303
    assert "Wayne Enterprises Inc" in text(await grace.get("/customers?status=inactive"))
    assert "Wayne Enterprises Inc" not in text(await grace.get("/customers?status=active"))
    r = await alice.post(f"/customers/{cid}/orders", {"sku": ["FAN-200"], "qty": ["1"], "unit_price": [""]})
    assert r.status_code == 422 and "inactive" in text(r) and count(stack, SalesOrder) == 0
    r = await grace.post(f"/customers/{cid}/reactivate")
    assert r.status_code == 303


async def test_suppliers_prices_and_deactivation(stack: Stack) -> None:
    dave, alice = [await Browser(stack, u).start() for u in ("dave", "alice")]
    assert 'href="/suppliers"' in (await dave.get("/inbox")).text
    assert (await alice.get("/suppliers")).status_code == 403
    page = await dave.get("/suppliers")
    assert page.status_code == 200 and "Volt Motors" in page.text
    assert (await dave.get("/suppliers.csv")).text.startswith("name,currency,payment_terms_days,active")
    before = count(stack, Supplier)
    r = await dave.post("/suppliers", {"name": "Gotham Steel", "currency": "US", "payment_terms_days": "30"})
    assert r.status_code == 422 and count(stack, Supplier) == before
    r = await dave.post("/suppliers", {"name": "Gotham Steel", "currency": "USD", "payment_terms_days": "30"})
    assert r.status_code == 303, text(r)
    sid = int(r.headers["location"].rsplit("/", 1)[1])
    r = await dave.post(f"/suppliers/{sid}/prices", {"sku": "NO-SUCH", "price": "5", "currency": "USD"})
    assert r.status_code == 404 and count(stack, SupplierPrice) == 0
    r = await dave.post(f"/suppliers/{sid}/prices", {"sku": "FAN-200", "price": "abc", "currency": "USD"})
    assert r.status_code == 422 and count(stack, SupplierPrice) == 0
    r = await dave.post(f"/suppliers/{sid}/prices", {"sku": "FAN-200", "price": "1,234.5", "currency": "USD",
                                                     "min_qty": "10", "lead_time_days": "14"})
    assert r.status_code == 303, text(r)
    page = text(await dave.get(f"/suppliers/{sid}"))
    assert "FAN-200" in page and "1,234.50 USD" in page and "14" in page

    with stack.db.write() as s:
        s.add(PurchaseOrder(number="PO-H3-1", supplier_id=sid, requisition_number="PR-H3-1", process_id="p-h3",
                            buyer="dave", status="open", total=Decimal(100),
                            expected_date=utcnow().date() + timedelta(days=7), idempotency_key="h3-po"))
    r = await dave.post(f"/suppliers/{sid}/deactivate")
    assert r.status_code == 409 and "PO-H3-1" in text(r)
    with stack.db.write() as s:
        s.execute(select(PurchaseOrder).where(PurchaseOrder.number == "PO-H3-1")).scalar_one().status = "received"
    assert (await dave.post(f"/suppliers/{sid}/deactivate")).status_code == 303
    with stack.db.read() as s:
        assert not s.get(Supplier, sid).active  # type: ignore[union-attr]


async def test_price_list_fills_the_quotation_proposal_stage_and_won_value(stack: Stack) -> None:
    alice, bob = [await Browser(stack, u).start() for u in ("alice", "bob")]
    lead = await new_lead(alice, company="Wayne Enterprises")  # estimated 40,000
    r = await alice.post(f"/leads/{lead}/qualify", {"decision": "qualified", "customer_id": ""})
    assert r.status_code == 303, text(r)
    opp = r.headers["location"].rsplit("/", 1)[1]
    with stack.db.read() as s:
        customer = s.execute(select(Customer).where(Customer.name == "Wayne Enterprises")).scalar_one()
        cid = customer.id
        assert customer.credit_limit == Decimal(10000)  # the company's default, not 0

    # The price list: bob sets Wayne's own price of FAN-200; alice may read but not change it.
    assert (await alice.get("/price-lists")).status_code == 200
    r = await alice.post("/price-lists", {"sku": "FAN-200", "customer_id": str(cid), "currency": "USD",
                                          "unit_price": "450"})
    assert r.status_code == 403
    r = await bob.post("/price-lists", {"sku": "FAN-200", "customer_id": str(cid), "currency": "USD",
                                        "unit_price": "x"})
    assert r.status_code == 422 and count(stack, PriceListPrice) == 0
    r = await bob.post("/price-lists", {"sku": "FAN-200", "customer_id": str(cid), "currency": "USD",
                                        "unit_price": "450"})
    assert r.status_code == 303, text(r)
    assert "Wayne Enterprises" in text(await bob.get("/price-lists"))
    page = await alice.get(f"/opportunities/{opp}")
    assert "FAN-200" in page.text and "450.00" in page.text  # the list price beside the item

    r = await alice.post(f"/opportunities/{opp}/quotations", {
        "sku": ["FAN-200", "NO-PRICE-SKU"], "qty": ["10", "1"], "unit_price": ["", ""], "discount_pct": ["", ""],
        "valid_days": "14", "tax_rate": "0"})
    assert r.status_code in (404, 422) and count(stack, Quotation) == 0
    r = await alice.post(f"/opportunities/{opp}/quotations", {
        "sku": ["FAN-200"], "qty": ["10"], "unit_price": [""], "discount_pct": [""], "valid_days": "14",
        "tax_rate": "0"})
    assert r.status_code == 303, text(r)
    number = r.headers["location"].rsplit("/", 1)[1]
    with stack.db.read() as s:
        q = s.execute(select(Quotation).where(Quotation.number == number)).scalar_one()
        assert q.total == Decimal(4500) and q.lines[0].unit_price == Decimal(450)
        assert s.execute(select(Opportunity.stage).where(Opportunity.number == opp)).scalar_one() == "proposal"
    assert "Proposal" in text(await alice.get(f"/opportunities/{opp}"))
    r = await alice.post(f"/opportunities/{opp}/stage", {"stage": "qualification"})
    assert r.status_code == 409 and "out" in text(r), text(r)[:400]
    with stack.db.read() as s:
        assert s.execute(select(Opportunity.stage).where(Opportunity.number == opp)).scalar_one() == "proposal"

    r = await alice.post(f"/quotations/{number}/answer", {"answer": "accept"})
    assert r.status_code == 303, text(r)
    for _ in range(200):
        with stack.db.read() as s:
            order = s.execute(select(SalesOrder).where(SalesOrder.quotation_number == number)).scalar_one_or_none()
        if order is not None:
            break
        await asyncio.sleep(0.05)
    assert order is not None and order.total == Decimal(4500)
    board = (await alice.get("/pipeline")).text
    won = text_of(board[board.index('id="stage-won"'):board.index('id="stage-lost"')])
    assert opp in won and "Amount 4,500.00 Expected 4,500.00" in won and "40,000.00" not in won, won

    # A customer with an open order cannot be deactivated; a sales order form fills the price in too.
    grace = await Browser(stack, "grace").start()
    r = await grace.post(f"/customers/{cid}/deactivate")
    assert r.status_code == 409 and order.number in text(r)
    page = text(await grace.get(f"/customers/{cid}"))
    assert number in page and order.number in page and lead in page  # the activity log
    assert 'href="/new-sales-order"' in (await alice.get("/sales-orders")).text
    assert "Wayne Enterprises" in (await alice.get("/new-sales-order")).text
    r = await alice.get(f"/new-sales-order?customer_id={cid}")
    assert r.status_code == 303 and r.headers["location"] == f"/customers/{cid}/orders/new"
    form = await alice.get(f"/customers/{cid}/orders/new")
    assert form.status_code == 200 and "450.00" in form.text  # Wayne's own price on the price list
    r = await alice.post(f"/customers/{cid}/orders", {"sku": ["FAN-200"], "qty": ["2"], "unit_price": [""]})
    assert r.status_code == 303, text(r)
    with stack.db.read() as s:
        direct = s.execute(select(SalesOrder).where(SalesOrder.customer_id == cid, SalesOrder.quotation_number.is_(None))
                           ).scalar_one()
        assert direct.total == Decimal(900)


async def test_the_pages_speak_chinese_to_a_chinese_browser(stack: Stack) -> None:
    grace = await Browser(stack, "grace").start()
    for url, chinese, english in (("/customers", "默认信用额度", "Default credit limit"),
                                  ("/customers/1", "信用额度", "Set credit limit"),
                                  ("/suppliers", "全部供应商", "All suppliers"),
                                  ("/price-lists", "价目表", "No price on the price list yet")):
        r = await stack.http.get(url, headers={"Cookie": grace.cookie, "Accept-Language": "zh-CN,zh;q=0.9"})
        assert r.status_code == 200 and chinese in r.text and english not in r.text, url
