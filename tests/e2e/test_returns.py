"""Returns through HTTP (issue 17): the customer sends back 2 of 6 delivered motors → a return note, the motors
back in stock at the cost they left at, a credit note of −2 × price (and its tax) against the delivery's invoice,
whose outstanding falls; the sub-ledgers still equal their control accounts. Returning more than was delivered
and not yet returned → 409, no reason → 422, nothing stored."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.cash import services as cash
from domain.cash.tables import Invoice
from domain.processes import ids
from domain.sales.tables import DeliveryNote

pytestmark = pytest.mark.e2e
D = Decimal


async def delivered_order(stack, qty: int = 6) -> tuple[str, str]:
    """A direct order of `qty` MOTOR-200W at 260.00 for Umbrella Retail, delivered in full: (order, invoice)."""
    customers = {c["name"]: c["id"] for c in (await stack.as_("alice", "GET", "/api/customers")).json()}
    r = await stack.as_("alice", "POST", "/api/sales-orders", json={
        "customer_id": customers["Umbrella Retail"], "lines": [{"sku": "MOTOR-200W", "qty": qty, "unit_price": "260"}]})
    assert r.status_code == 201, r.text
    order = r.json()["sales_order_id"]
    for _ in range(200):
        r = await stack.as_("ivan", "POST", f"/api/sales-orders/{order}/deliver")
        if r.status_code == 200:
            break
        await asyncio.sleep(0.05)  # still reserving
    assert r.status_code == 200, r.text
    with stack.db.read() as s:
        inv = s.execute(select(Invoice.number).where(Invoice.sales_order_number == order,
                                                     Invoice.credit_note.is_(False))).scalar_one()
    return order, inv


async def stock(stack, sku: str = "MOTOR-200W") -> tuple[str, str]:
    lv = (await stack.as_("ivan", "GET", f"/api/stock/{sku}")).json()
    return lv["on_hand"], lv["stock_value"]


def returns_stored(stack) -> int:
    with stack.db.read() as s:
        return s.execute(select(func.count()).select_from(DeliveryNote).where(DeliveryNote.is_return)).scalar_one()


async def test_returning_two_of_six_credits_the_invoice_and_takes_the_goods_back(stack):
    order, inv = await delivered_order(stack)
    with stack.db.read() as s:
        owed = cash.by_number(s, inv).outstanding
    before = await stock(stack)
    r = await stack.as_("alice", "POST", f"/api/sales-orders/{order}/returns",
                        json={"lines": [{"sku": "MOTOR-200W", "qty": 2}], "reason": "two arrived dented"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["process_id"] == ids.sales_return(body["return_id"], stack.platform.id_prefix)
    assert body["return_id"].startswith("RET-") and (body["value"], body["cost"]) == ("520.00", "400.00")
    [note] = body["credit_notes"]
    assert note["against"] == inv and D(note["total"]) == -D("520.00") * (owed / D("1560.00"))
    with stack.db.read() as s:
        assert cash.by_number(s, inv).outstanding == owed + D(note["total"])
        assert cash.reconcile(s).balanced
    after = await stock(stack)
    assert D(after[0]) == D(before[0]) + 2 and D(after[1]) == D(before[1]) + D("400.00")
    so = (await stack.as_("alice", "GET", f"/api/sales-orders/{order}")).json()
    assert so["lines"][0]["returned_qty"] == "2.0000" or D(so["lines"][0]["returned_qty"]) == 2
    assert D(so["revenue"]) == D("1040.00") and D(so["margin"]) == D("240.00")  # net of the return
    listed = (await stack.as_("alice", "GET", f"/api/sales-orders/{order}/returns")).json()
    assert [x["return_id"] for x in listed] == [body["return_id"]]
    proc = (await stack.as_("alice", "GET", f"/api/processes/{body['process_id']}")).json()
    assert proc["status"] == "completed" and proc["type"] == "sales_return"


async def test_over_return_is_409_and_no_reason_is_422_and_nothing_is_stored(stack):
    order, _ = await delivered_order(stack)
    ok = await stack.as_("alice", "POST", f"/api/sales-orders/{order}/returns",
                         json={"lines": [{"sku": "MOTOR-200W", "qty": 2}], "reason": "wrong colour"})
    assert ok.status_code == 201, ok.text
    stored, before = returns_stored(stack), await stock(stack)
    for who, body, code in (
            ("alice", {"lines": [{"sku": "MOTOR-200W", "qty": 5}], "reason": "more"}, 409),  # 4 left
            ("alice", {"lines": [{"sku": "MOTOR-200W", "qty": 1}]}, 422),
            ("alice", {"lines": [{"sku": "MOTOR-200W", "qty": 1}], "reason": "   "}, 422),
            ("alice", {"lines": [{"sku": "MOTOR-200W", "qty": 0}], "reason": "x"}, 422),
            ("alice", {"lines": [], "reason": "x"}, 422),
            ("alice", {"lines": [{"sku": "FAN-200", "qty": 1}], "reason": "x"}, 422),
            ("carol", {"lines": [{"sku": "MOTOR-200W", "qty": 1}], "reason": "x"}, 403),  # sees it, may not return
            ("alice", {"lines": [{"sku": "MOTOR-200W", "qty": 1}], "reason": "x", "status": "done"}, 422)):
        r = await stack.as_(who, "POST", f"/api/sales-orders/{order}/returns", json=body)
        assert r.status_code == code, (body, r.status_code, r.text)
        assert isinstance(r.json()["detail"], str)
    assert (await stack.as_("alice", "POST", "/api/sales-orders/SO-99999/returns",
                            json={"lines": [{"sku": "MOTOR-200W", "qty": 1}], "reason": "x"})).status_code == 404
    assert returns_stored(stack) == stored and await stock(stack) == before
    r = await stack.as_("ivan", "POST", f"/api/sales-orders/{order}/returns",  # the warehouse may; 4 are left
                        json={"lines": [{"sku": "MOTOR-200W", "qty": 4}], "reason": "the rest, refused"})
    assert r.status_code == 201, r.text
    with stack.db.read() as s:
        assert cash.reconcile(s).balanced
