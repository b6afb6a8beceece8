"""Issue 17's "done when", as a new user would do it, through HTTP on the dev server with the real worker:
alice sells 10; ivan delivers 6, then 4 (two delivery notes, two invoices); the customer pays the first in full
and part of the second in one payment (oldest first); aging shows the rest in the right bucket; a second order
from that customer goes to finance because of its receivables. dave bills a received purchase order 5 % above
its price → a mismatch task → approved → paid; goods received not invoiced for that order is zero. grace closes
last month, heidi approves, and a payment dated in it is refused. Profit and loss and the balance sheet agree
with the trial balance; the sub-ledgers reconcile (also checked by the stack fixture after every e2e test)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domain.accounting import rules as accounting
from tests.e2e.test_order_to_cost import poll
from tests.e2e.test_supplier_bills import bill, grni_of, received_order

pytestmark = pytest.mark.e2e
D = Decimal
MOTOR = "MOTOR-200W"


def last_month() -> str:
    today = datetime.now(UTC).date()
    return f"{today.year - 1}-12" if today.month == 1 else f"{today.year}-{today.month - 1:02d}"


async def customer_id(stack: Any, name: str) -> int:
    r = await stack.as_("alice", "GET", "/api/customers", params={"limit": 200})
    return next(int(c["id"]) for c in r.json() if c["name"] == name)


async def order(stack: Any, customer: int, qty: str, price: str) -> dict[str, Any]:
    r = await stack.as_("alice", "POST", "/api/sales-orders", json={
        "customer_id": customer, "lines": [{"sku": MOTOR, "qty": qty, "unit_price": price}]})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_order_to_cash_procure_to_pay_and_the_close(stack):
    today = datetime.now(UTC).date().isoformat()
    initech = await customer_id(stack, "Initech")  # credit limit 20,000, nothing owed yet

    # alice sells 10; ivan delivers 6, then 4.
    first = await order(stack, initech, "10", "1500")
    so = first["sales_order_id"]
    await poll(stack, "alice", f"/api/processes/{first['process_id']}", lambda b: b["stage"] == "ready to deliver")
    url = f"/api/sales-orders/{so}/deliver"
    assert (await stack.as_("ivan", "POST", url, json={"lines": [{"sku": MOTOR, "qty": "6"}]})).status_code == 200
    r = await stack.as_("ivan", "POST", url, json={"lines": [{"sku": MOTOR, "qty": "4"}]})
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    view = (await stack.as_("alice", "GET", f"/api/sales-orders/{so}")).json()
    assert len({d["delivery_note_id"] for d in view["deliveries"]}) == 2
    inv1, inv2 = (i["invoice_id"] for i in view["invoices"])
    assert [D(i["total"]) for i in view["invoices"]] == [9000, 6000]

    # One payment: the first in full and 2,000 of the second, oldest first.
    r = await stack.as_("grace", "POST", "/api/payments", json={
        "direction": "in", "party_id": initech, "amount": "11000", "currency": "USD", "paid_on": today,
        "reference": f"INITECH-{uuid.uuid4().hex[:6]}"})
    assert r.status_code == 201, r.text
    assert [(a["invoice_id"], D(a["amount"])) for a in r.json()["allocations"]] == [(inv1, 9000), (inv2, 2000)]
    await poll(stack, "grace", f"/api/invoices/{inv1}", lambda b: b["status"] == "paid")
    assert D((await stack.as_("grace", "GET", f"/api/invoices/{inv2}")).json()["outstanding"]) == 4000
    view = (await stack.as_("alice", "GET", f"/api/sales-orders/{so}")).json()
    assert D(view["paid"]) == 11000

    # Aging: the 4,000 left is not yet due (net 30 from today): current.
    aging = (await stack.as_("grace", "GET", "/api/reports/ar-aging")).json()
    assert aging["buckets"] == ["current", "1-30", "31-60", "61-90", "90+"]
    row = next(r for r in aging["rows"] if r["party_id"] == initech)
    assert (D(row["current"]), D(row["1-30"]), D(row["total"])) == (4000, 0, 4000)

    # A second order of 17,000 fits the 20,000 limit alone, not with the 4,000 still owed: finance decides.
    second = await order(stack, initech, "10", "1700")
    task = await stack.open_task("grace", second["sales_order_id"])
    detail = (await stack.as_("grace", "GET", f"/api/tasks/{task['id']}")).json()
    credit = detail["context"]["credit"]
    assert (D(credit["open_receivables"]), D(credit["credit_limit"])) == (4000, 20000), credit
    assert credit["over_limit"] is True

    # dave bills a received purchase order 5 % above its price: a mismatch, approved by frank then grace, paid.
    sup, po = await received_order(stack)
    r = await stack.as_("dave", "POST", "/api/supplier-invoices", json=bill(sup, po, "VM-STORY", 10, "210"))
    assert r.status_code == 201 and r.json()["match"] == "mismatch", r.text
    number = r.json()["number"]
    for who in ("frank", "grace"):
        t = await stack.open_task(who, number)
        assert (await stack.as_(who, "POST", f"/api/tasks/{t['id']}/complete",
                                json={"decision": "approve", "comment": "agreed"})).status_code == 200
    await poll(stack, "grace", f"/api/supplier-invoices/{number}", lambda b: b["status"] == "open")
    r = await stack.as_("grace", "POST", "/api/payments", json={
        "direction": "out", "party_id": sup, "amount": "2100", "currency": "USD", "paid_on": today,
        "reference": f"PAY-{uuid.uuid4().hex[:6]}", "allocations": [{"invoice_id": number, "amount": "2100"}]})
    assert r.status_code == 201, r.text
    await poll(stack, "grace", f"/api/supplier-invoices/{number}", lambda b: b["status"] == "paid")
    assert grni_of(stack, po) == 0

    # grace closes last month; heidi approves; a payment dated in it is refused.
    period = last_month()
    r = await stack.as_("grace", "POST", f"/api/periods/{period}/close")
    assert r.status_code == 201 and all(c["passed"] for c in r.json()["checks"]["checks"]), r.text
    t = await stack.open_task("heidi", period)
    assert (await stack.as_("heidi", "POST", f"/api/tasks/{t['id']}/complete",
                            json={"decision": "approve", "comment": "fine"})).status_code == 200
    await poll(stack, "grace", f"/api/periods/{period}", lambda b: b["status"] == "closed")
    r = await stack.as_("grace", "POST", "/api/payments", json={
        "direction": "in", "party_id": initech, "amount": "100", "currency": "USD",
        "paid_on": accounting.parse_period(period)[1].isoformat(), "reference": "LATE-1"})
    assert r.status_code == 409 and f"period {period} is closed" in r.json()["detail"], r.text

    # Profit and loss and the balance sheet agree with the trial balance.
    tb = (await stack.as_("grace", "GET", "/api/ledger/trial-balance")).json()
    assert tb["debit_total"] == tb["credit_total"]
    net = {a["code"]: D(a["debit"]) - D(a["credit"]) for a in tb["accounts"]}
    types = {c: t for c, _n, t in accounting.CHART}
    bs = (await stack.as_("grace", "GET", "/api/reports/balance-sheet", params={"as_of": today})).json()
    assets = sum((v for c, v in net.items() if types[c] == "asset"), D(0))
    assert D(bs["total_assets"]) == assets and bs["total_assets"] == bs["total_liabilities_and_equity"], bs
    pnl = (await stack.as_("grace", "GET", "/api/reports/profit-and-loss",
                           params={"from": "2000-01-01", "to": today})).json()
    profit = -sum((v for c, v in net.items() if types[c] in ("income", "expense")), D(0))
    assert D(pnl["net_profit"]) == profit, pnl
