"""Partial deliveries and customer invoices through the API, with the real worker: 6 then 4 of 10 (two delivery
notes, two invoices, each its collection process, the order completed), refusals that store nothing, the invoice
list and one invoice in the contract's shape, who sees which invoices, a payment oldest first that ends the first
invoice's process, and a write-off the cfo approves. The stack fixture checks the sub-ledgers reconcile after."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.accounting.tables import JournalEntry
from domain.cash.tables import Invoice
from domain.sales.tables import DeliveryNote
from tests.e2e.test_order_to_cost import poll

pytestmark = pytest.mark.e2e
D = Decimal
MOTOR = "MOTOR-200W"
LIST_KEYS = {"invoice_id", "kind", "party_id", "party_name", "number", "issued_on", "due_on", "total", "outstanding",
             "currency", "status", "process_id"}


async def customer(stack: Any, name: str = "Globex Corporation") -> int:
    r = await stack.as_("alice", "GET", "/api/customers", params={"limit": 200})
    return next(int(c["id"]) for c in r.json() if c["name"] == name)


async def ready_order(stack: Any, qty: str = "10") -> str:
    r = await stack.as_("alice", "POST", "/api/sales-orders", json={
        "customer_id": await customer(stack), "lines": [{"sku": MOTOR, "qty": qty, "unit_price": "260"}]})
    assert r.status_code == 201, r.text
    so = r.json()["sales_order_id"]
    await poll(stack, "alice", f"/api/processes/{r.json()['process_id']}", lambda b: b["stage"] == "ready to deliver")
    return str(so)


def counts(stack: Any) -> tuple[int, int, int]:
    with stack.db.read() as s:
        return (s.execute(select(func.count()).select_from(DeliveryNote)).scalar_one(),
                s.execute(select(func.count()).select_from(Invoice)).scalar_one(),
                s.execute(select(func.count()).select_from(JournalEntry)).scalar_one())


async def test_six_then_four_two_notes_two_invoices_paid_oldest_first_and_a_write_off(stack):
    so = await ready_order(stack)
    url = f"/api/sales-orders/{so}/deliver"
    before = counts(stack)
    for body, status, match in (
            ({"lines": [{"sku": MOTOR, "qty": "11"}]}, 409, "more than is left"),
            ({"lines": [{"sku": "BOLT-M8", "qty": "1"}]}, 422, "not on sales order"),
            ({"lines": [{"sku": MOTOR, "qty": "0"}]}, 422, ""),
            ({"lines": [{"sku": MOTOR, "qty": "-2"}]}, 422, ""),
            ({"lines": [{"sku": MOTOR, "qty": "1"}, {"sku": MOTOR, "qty": "1"}]}, 422, "twice"),
            ({"lines": [{"sku": MOTOR, "qty": "1", "price": "1"}]}, 422, "")):
        r = await stack.as_("ivan", "POST", url, json=body)
        assert r.status_code == status, (body, r.text)
        assert match.lower() in str(r.json()["detail"]).lower(), r.text
    r = await stack.as_("bob", "POST", url, json={"lines": [{"sku": MOTOR, "qty": "1"}]})
    assert r.status_code in (403, 404), r.text  # not the warehouse nor her salesperson
    assert counts(stack) == before  # nothing stored

    r = await stack.as_("ivan", "POST", url, json={"lines": [{"sku": MOTOR, "qty": "6"}]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "partially delivered" and len(r.json()["deliveries"]) == 1
    r = await stack.as_("ivan", "POST", url)  # no body: the rest
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    view = (await stack.as_("alice", "GET", f"/api/sales-orders/{so}")).json()
    assert view["status"] == "completed" and D(view["paid"]) == 0
    assert [D(d["lines"][0]["qty"]) for d in view["deliveries"]] == [6, 4]
    assert [D(i["total"]) for i in view["invoices"]] == [1560, 1040]
    assert [d["invoice_id"] for d in view["deliveries"]] == [i["invoice_id"] for i in view["invoices"]]
    assert view["lines"][0]["delivered_qty"] == "10.0000" or D(view["lines"][0]["delivered_qty"]) == 10
    first, second = (i["invoice_id"] for i in view["invoices"])
    r = await stack.as_("ivan", "POST", url, json={"lines": [{"sku": MOTOR, "qty": "1"}]})
    assert r.status_code == 409, r.text

    # The list, in the contract's shape; filters; paging.
    gid = await customer(stack)
    r = await stack.as_("grace", "GET", "/api/invoices", params={"kind": "customer", "party_id": gid})
    assert r.status_code == 200, r.text
    rows = {i["invoice_id"]: i for i in r.json()}
    assert {first, second} <= set(rows) and set(rows[first]) >= LIST_KEYS
    assert rows[first]["status"] == "open" and rows[first]["party_name"] == "Globex Corporation"
    assert rows[first]["process_id"].endswith(f"invoice-{first}") and rows[first]["kind"] == "customer"
    overdue = (await stack.as_("grace", "GET", "/api/invoices", params={"status": "overdue"})).json()
    assert first not in {i["invoice_id"] for i in overdue}  # not due for 30 days
    page = (await stack.as_("grace", "GET", "/api/invoices", params={"limit": 1, "party_id": gid})).json()
    assert [i["invoice_id"] for i in page] == [second]
    assert (await stack.as_("grace", "GET", "/api/invoices", params={"kind": "nope"})).status_code == 422
    assert (await stack.as_("grace", "GET", "/api/invoices", params={"status": "nope"})).status_code == 422
    assert not (await stack.as_("grace", "GET", "/api/invoices", params={"kind": "supplier", "party_id": gid})).json() \
        or all(i["kind"] == "supplier" for i in (await stack.as_("grace", "GET", "/api/invoices",
                                                                  params={"kind": "supplier"})).json())

    # One invoice: lines, payments, reminders, journal, both currencies.
    one = (await stack.as_("grace", "GET", f"/api/invoices/{first}")).json()
    assert [(ln["sku"], D(ln["qty"]), D(ln["net"])) for ln in one["lines"]] == [(MOTOR, 6, 1560)]
    assert one["payments"] == [] and one["reminders"] == [] and D(one["total_base"]) == 1560
    assert D(one["rate"]) == 1 and D(one["outstanding_base"]) == 1560 and one["sales_order_id"] == so
    [entry] = one["journal"]
    assert entry["voucher_no"] == first
    assert {ln["account"]: (D(ln["debit"]), D(ln["credit"])) for ln in entry["lines"]} == {
        "1100": (D(1560), D(0)), "4000": (D(0), D(1560))}

    # Who sees what: finance, the cfo and admin all; the order's salesperson hers; others nothing.
    for who in ("heidi", "admin", "alice"):
        seen = {i["invoice_id"] for i in (await stack.as_(who, "GET", "/api/invoices", params={"limit": 500})).json()}
        assert {first, second} <= seen, who
        assert (await stack.as_(who, "GET", f"/api/invoices/{first}")).status_code == 200
    for who in ("bob", "dave", "ivan"):
        seen = {i["invoice_id"] for i in (await stack.as_(who, "GET", "/api/invoices", params={"limit": 500})).json()}
        assert not seen & {first, second}, who
        assert (await stack.as_(who, "GET", f"/api/invoices/{first}")).status_code == 404

    # One payment, oldest first: the first in full, 500 of the second; the first's process ends paid.
    today = datetime.now(UTC).date().isoformat()
    r = await stack.as_("grace", "POST", "/api/payments", json={
        "direction": "in", "party_id": gid, "amount": "2060.00", "currency": "USD", "paid_on": today,
        "reference": f"TT-{uuid.uuid4().hex[:8]}"})
    assert r.status_code == 201, r.text
    paid = await poll(stack, "grace", f"/api/invoices/{first}", lambda b: b["status"] == "paid")
    assert [D(p["amount"]) for p in paid["payments"]] == [1560] and paid["payments"][0]["payment_id"]
    await poll(stack, "admin", f"/api/processes/{rows[first]['process_id']}", lambda b: b["status"] == "completed")
    view = (await stack.as_("alice", "GET", f"/api/sales-orders/{so}")).json()
    assert D(view["paid"]) == 2060 and [i["status"] for i in view["invoices"]] == ["paid", "open"]

    # The rest of the second is written off: finance asks, the cfo approves, bad debts.
    r = await stack.as_("alice", "POST", f"/api/invoices/{second}/write-off", json={"reason": "bankrupt"})
    assert r.status_code == 403, r.text
    r = await stack.as_("grace", "POST", f"/api/invoices/{second}/write-off", json={"reason": ""})
    assert r.status_code == 422, r.text
    r = await stack.as_("grace", "POST", f"/api/invoices/{second}/write-off", json={"reason": "bankrupt"})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "write-off pending approval"
    task = await stack.open_task("heidi", second)
    r = await stack.as_("heidi", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    gone = await poll(stack, "grace", f"/api/invoices/{second}", lambda b: b["status"] == "written_off")
    assert D(gone["outstanding"]) == 0 and any(e["voucher_type"] == "write_off" for e in gone["journal"])
    r = await stack.as_("grace", "POST", f"/api/invoices/{second}/write-off", json={"reason": "again"})
    assert r.status_code == 409, r.text
