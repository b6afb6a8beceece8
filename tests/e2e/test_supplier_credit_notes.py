"""Supplier credit notes through HTTP on the dev server (issue 17, "Returns and corrections"): dave's matched bill of
10 motors at 200, paid; the supplier takes 2 back → a credit note DN-… of −400.00, the motors leave stock, and as the
bill is paid the credit stays the supplier's (negative outstanding, negative in AP aging). A price correction
against an open bill lowers what it owes. The same supplier reference again is the first credit note; more than the
bill has left to credit → 409, above its price or no reason → 422, a bill not posted → 409, sales → 403, nothing
stored. After each step every sub-ledger equals its control account (the stack checks it at teardown too)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.cash import services as cash
from domain.cash.tables import Invoice
from domain.processes import ids
from tests.e2e.test_sales_pages import Browser, flash, text
from tests.e2e.test_supplier_bills import bill, pay, received_order, reconciled

pytestmark = pytest.mark.e2e
D = Decimal


def note(ref: str, qty: object, price: str, *, goods: bool, reason: str = "two arrived dented") -> dict[str, object]:
    return {"supplier_ref": ref, "issued_on": "2026-11-25", "reason": reason, "return_goods": goods,
            "lines": [{"sku": "MOTOR-200W", "qty": qty, "unit_price": price}]}


async def entered_bill(stack, ref: str, qty: int = 10, price: str = "200", by: str = "dave") -> tuple[int, dict]:
    sup, po = await received_order(stack, qty)
    r = await stack.as_(by, "POST", "/api/supplier-invoices", json=bill(sup, po, ref, qty, price))
    assert r.status_code == 201, r.text
    return sup, r.json()


async def motors(stack) -> tuple[Decimal, Decimal]:
    lv = (await stack.as_("ivan", "GET", "/api/stock/MOTOR-200W")).json()
    return D(lv["on_hand"]), D(lv["stock_value"])


def invoices_stored(stack) -> int:
    with stack.db.read() as s:
        return s.execute(select(func.count()).select_from(Invoice)).scalar_one()


async def test_two_motors_back_against_a_paid_bill_leave_stock_and_stay_the_suppliers_credit(stack):
    sup, b = await entered_bill(stack, "VM-E1")
    assert b["match"] == "matched" and b["status"] == "open"
    await pay(stack, sup, "2000.00", "PAY-VM-E1", b["process_id"])
    with stack.db.read() as s:
        assert cash.by_number(s, b["number"]).status == "paid"
    reconciled(stack)
    before = await motors(stack)
    r = await stack.as_("dave", "POST", f"/api/supplier-invoices/{b['number']}/credit-note",
                        json=note("VM-CN-E1", 2, "200", goods=True))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["invoice_id"].startswith("DN-") and out["against"] == b["number"] and out["total"] == "-400.00"
    assert out["process_id"] == ids.supplier_credit_note(out["invoice_id"], stack.platform.id_prefix)
    assert out["outstanding"] == "-400.00" and out["return_goods"] and not out["existing"]
    after = await motors(stack)
    assert after[0] == before[0] - 2 and before[1] - after[1] == D(out["stock_value"])
    reconciled(stack)
    # the supplier's credit: negative outstanding, negative in AP aging
    aging = (await stack.as_("grace", "GET", "/api/reports/ap-aging")).json()
    [row] = [x for x in aging["rows"] if x["party_id"] == sup]
    assert D(row["total"]) == D("-400.00")
    view = (await stack.as_("dave", "GET", f"/api/supplier-invoices/{b['number']}")).json()
    assert [(c["number"], c["total"], c["outstanding"], c["return_goods"]) for c in view["credit_notes"]] == [
        (out["invoice_id"], "-400.00", "-400.00", True)]
    dn = (await stack.as_("dave", "GET", f"/api/supplier-invoices/{out['invoice_id']}")).json()
    assert dn["credit_note"] and dn["against"] == b["number"] and dn["total"] == "-400.00"
    proc = (await stack.as_("admin", "GET", f"/api/processes/{out['process_id']}")).json()
    assert proc["status"] == "completed" and proc["type"] == "purchase_return"
    # the same reference again is the first credit note, and nothing moves twice
    again = await stack.as_("grace", "POST", f"/api/supplier-invoices/{b['id']}/credit-note",
                            json=note("VM-CN-E1", 2, "200", goods=True))
    assert again.status_code == 200, again.text
    assert again.json()["invoice_id"] == out["invoice_id"] and again.json()["existing"]
    assert await motors(stack) == after
    reconciled(stack)


async def test_a_price_correction_lowers_what_an_open_bill_owes_and_bad_credit_notes_store_nothing(stack):
    _, b = await entered_bill(stack, "VM-E2")
    number = b["number"]
    r = await stack.as_("grace", "POST", f"/api/supplier-invoices/{number}/credit-note",
                        json=note("VM-CN-E2", 8, "15", goods=False, reason="agreed discount"))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["total"] == "-120.00" and not out["return_goods"] and out["stock_value"] == "0.00"
    assert out["outstanding"] == "0.00"  # all of it set against the bill
    view = (await stack.as_("dave", "GET", f"/api/supplier-invoices/{number}")).json()
    assert view["outstanding"] == "1880.00" and view["status"] == "open"
    reconciled(stack)
    _, pending = await entered_bill(stack, "VM-E3", qty=2, price="260")  # 30 % above its order: a mismatch
    assert pending["status"] == "pending_approval"
    stored, before = invoices_stored(stack), await motors(stack)
    url = f"/api/supplier-invoices/{number}/credit-note"
    for who, target, body, code in (
            ("dave", url, note("VM-CN-E3", 3, "15", goods=False), 409),  # 8 of 10 credited already
            ("dave", f"/api/supplier-invoices/{pending['number']}/credit-note", note("VM-CN-E3", 1, "200", goods=False),
             409),  # not posted
            ("dave", url, note("VM-CN-E3", 1, "200.01", goods=True), 422),  # above the bill's price
            ("dave", url, note("VM-CN-E3", 1, "0", goods=False), 422),  # a zero total
            ("dave", url, {**note("VM-CN-E3", 1, "1", goods=False), "reason": "  "}, 422),
            ("dave", url, {k: v for k, v in note("VM-CN-E3", 1, "1", goods=False).items() if k != "reason"}, 422),
            ("dave", url, {**note("VM-CN-E3", 1, "1", goods=False), "lines": [{"sku": "BOLT-M8", "qty": 1,
                                                                                 "unit_price": "0.1"}]}, 422),
            ("dave", url, {**note("VM-CN-E3", 1, "1", goods=False), "status": "paid"}, 422),
            ("alice", url, note("VM-CN-E3", 1, "1", goods=False), 403),
            ("ivan", url, note("VM-CN-E3", 1, "1", goods=False), 403),
            ("dave", "/api/supplier-invoices/BILL-99999/credit-note", note("VM-CN-E3", 1, "1", goods=False), 404)):
        r = await stack.as_(who, "POST", target, json=body)
        assert r.status_code == code, (who, body, r.status_code, r.text)
        assert isinstance(r.json()["detail"], str)
    r = await stack.as_("dave", "POST", url, json=note("VM-CN-E3", 3, "15", goods=False))
    assert number in r.json()["detail"] and "left to credit" in r.json()["detail"]
    assert invoices_stored(stack) == stored and await motors(stack) == before
    reconciled(stack)


async def test_the_bill_page_lists_its_credit_notes_and_buyers_enter_one_there(stack):
    _, b = await entered_bill(stack, "VM-E4", qty=4)
    number = b["number"]
    dave = await Browser(stack, "dave").start()
    page = await dave.get(f"/bills/{number}")
    assert page.status_code == 200 and "Enter the credit note" in page.text and "Credit notes" in text(page)
    r = await dave.post(f"/bills/{number}/credit-note", {
        "supplier_ref": "VM-CN-E4", "issued_on": "2026-11-25", "reason": "one was the wrong model", "return_goods": "1",
        "sku_0": "MOTOR-200W", "qty_0": "1", "price_0": "200", "form_token": re.search(
            r'name="form_token" value="([^"]+)"', page.text).group(1)})  # type: ignore[union-attr]
    assert r.status_code == 303, text(r)
    assert r.headers["location"] == f"/bills/{number}" and flash(r)["msg"].startswith("Credit note DN-")
    page = await dave.get(r.headers["location"])
    assert "goods back" in text(page) and "one was the wrong model" in text(page) and "-200.00" in text(page)
    view = (await stack.as_("dave", "GET", f"/api/supplier-invoices/{number}")).json()
    assert view["outstanding"] == "600.00" and len(view["credit_notes"]) == 1
    dn = view["credit_notes"][0]["number"]
    page = await dave.get(f"/bills/{dn}")
    assert page.status_code == 200 and f"Against bill {number}" in text(page)
    refused = await dave.post(f"/bills/{number}/credit-note", {
        "supplier_ref": "VM-CN-E5", "issued_on": "2026-11-25", "reason": "x", "sku_0": "MOTOR-200W", "qty_0": "9",
        "price_0": "200"})
    assert refused.status_code == 409 and "left to credit" in text(refused)
    alice = await Browser(stack, "alice").start()
    assert (await alice.get(f"/bills/{number}")).status_code == 404
    grace = await Browser(stack, "grace").start()
    listed = await grace.get("/bills")
    assert f"credit note · {number}" in text(listed)
    reconciled(stack)
