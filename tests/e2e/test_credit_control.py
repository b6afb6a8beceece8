"""Credit control through HTTP (issue 17, item 5): a customer on credit hold gets every new order checked by
finance, however small; unpaid invoices use up the credit line; the approval task shows it all."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from domain.cash import services as cash
from domain.cash.rules import InvoiceKind
from tests.e2e.test_sales_pages import Browser

pytestmark = pytest.mark.e2e
D = Decimal


async def customers(stack) -> dict[str, int]:
    return {c["name"]: c["id"] for c in (await stack.as_("alice", "GET", "/api/customers")).json()}


def invoice(stack, cid: int, amount: str, days_ago: int, key: str) -> str:
    with stack.db.write() as s:  # as a delivery's invoice would be (net 30 days)
        return cash.issue(s, kind=InvoiceKind.CUSTOMER, party_id=cid,
                          issued_on=date.today() - timedelta(days=days_ago), currency="USD", key=key,
                          process_id=f"e2e-{key}", tax=D(0),
                          lines=[cash.LineIn(sku="FAN-200", qty=D(1), unit_price=D(amount), net=D(amount))]).number


async def test_a_small_order_of_a_customer_on_credit_hold_goes_to_finance(stack):
    cid = (await customers(stack))["Initech"]  # 20,000 limit
    late = invoice(stack, cid, "300", 75, "late")  # due 45 days ago: past the 30 hold days
    r = await stack.as_("alice", "POST", "/api/sales-orders", json={
        "customer_id": cid, "lines": [{"sku": "BOLT-M8", "qty": 100, "unit_price": "0.50"}]})  # 50.00
    assert r.status_code == 201, r.text
    order_id = r.json()["sales_order_id"]
    task = await stack.open_task("grace", order_id)
    assert task["candidate_role"] == "finance" and "credit hold" in task["title"], task["title"]
    detail = (await stack.as_("grace", "GET", f"/api/tasks/{task['id']}")).json()
    credit = detail["context"]["credit"]
    assert credit["on_hold"] and not credit["over_limit"] and credit["oldest_overdue"]["number"] == late
    assert (credit["open_receivables"], credit["order_value"], credit["hold_after_days"]) == ("300.00", "50.00", 30)
    page = await (await Browser(stack, "grace").start()).get(f"/tasks/{task['id']}")
    assert page.status_code == 200
    for text in ("on credit hold", late, "Open receivables", "Accepted quotations", "300.00"):
        assert text in page.text, text
    r = await stack.as_("grace", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text


async def test_unpaid_receivables_push_an_order_over_the_limit(stack):
    cid = (await customers(stack))["Initech"]
    invoice(stack, cid, "18000", 3, "recent")  # not yet due: no hold, but 18,000 of the 20,000 is used
    r = await stack.as_("alice", "POST", "/api/sales-orders", json={
        "customer_id": cid, "lines": [{"sku": "FAN-200", "qty": 5, "unit_price": "500"}]})  # 2,500
    assert r.status_code == 201, r.text
    task = await stack.open_task("grace", r.json()["sales_order_id"])
    assert "over the customer's credit" in task["title"] and "hold" not in task["title"]
    grace = await Browser(stack, "grace").start()
    page = await grace.get(f"/tasks/{task['id']}")
    assert "over the limit by 500.00" in page.text and "18,000.00" in page.text
    inbox = await grace.get("/inbox")
    assert "over credit by 500.00" in inbox.text
