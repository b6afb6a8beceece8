"""Supplier bills through HTTP on the dev server: dave enters the supplier's bill for a received purchase order 5 %
above its price → a mismatch task → approved (not by dave, who entered it) → paid; goods received not invoiced for
that order is zero and the sub-ledgers reconcile. A matched bill posts at once. Bad input stores nothing."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.accounting import rules as accounting
from domain.accounting.tables import JournalEntry, JournalLine
from domain.cash import services as cash
from domain.cash.bills import BillDraft, BillIn, by_number_or_none, check, find_order, reserve_number
from domain.cash.rules import BillLineIn, Direction, PaymentIn
from domain.cash.tables import Invoice
from domain.core.errors import Conflict
from domain.parties.tables import Supplier
from domain.processes import ids
from tests.e2e.test_flows import wait_for
from tests.e2e.test_sales_pages import Browser, text
from workflows.common import search_attributes
from workflows.supplier_invoice import SupplierInvoice

pytestmark = pytest.mark.e2e


async def received_order(stack, qty: int = 10, price: str = "200") -> tuple[int, str]:
    r = await stack.as_("dave", "POST", "/api/purchase-requisitions", json={
        "lines": [{"sku": "MOTOR-200W", "qty": qty, "est_unit_price": price}], "justification": "motors"})
    assert r.status_code == 201, r.text
    req = r.json()["requisition_id"]
    task = await stack.open_task("frank", req)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    po = (await wait_for(stack, "dave", f"/api/purchase-requisitions/{req}", "status", "ordered"))["purchase_order_id"]
    r = await stack.as_("ivan", "POST", f"/api/purchase-orders/{po}/receipts",
                        json={"lines": [{"sku": "MOTOR-200W", "qty": qty}]})
    assert r.status_code == 201, r.text
    return r.json()["supplier_id"], po


def bill(supplier_id: int, po: str | int, ref: str, qty: object, price: str) -> dict[str, object]:
    return {"supplier_id": supplier_id, "purchase_order_id": po, "supplier_ref": ref, "issued_on": "2026-11-20",
            "lines": [{"sku": "MOTOR-200W", "qty": qty, "unit_price": price}]}


def grni_of(stack, po: str) -> Decimal:
    with stack.db.read() as s:
        numbers = list(s.execute(select(Invoice.number).where(Invoice.purchase_order_number == po)).scalars())
        debit, credit = s.execute(
            select(func.coalesce(func.sum(JournalLine.debit), 0), func.coalesce(func.sum(JournalLine.credit), 0))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalLine.account_code == accounting.GRNI,
                   JournalEntry.voucher_no.like(f"{po}-R%") | JournalEntry.voucher_no.in_(numbers or [""]))).one()
    return Decimal(debit) - Decimal(credit)


def bills_stored(stack) -> int:
    with stack.db.read() as s:
        return s.execute(select(func.count()).select_from(Invoice).where(Invoice.kind == "supplier")).scalar_one()


async def pay(stack, supplier_id: int, amount: str, reference: str, process_id: str) -> None:
    """Finance pays the supplier (the payment's own process tells the bill; here the signal is sent by hand)."""
    with stack.db.write() as s:
        cash.record_payment(s, PaymentIn(direction=Direction.OUT, party_id=supplier_id, amount=Decimal(amount),
                                              currency="USD", paid_on=date(2026, 12, 1), reference=reference),
                            by="grace")
    await stack.platform.handle(process_id).signal("payment_allocated")


async def process_ended(stack, process_id: str, stage: str) -> dict:
    for _ in range(200):
        proc = (await stack.as_("admin", "GET", f"/api/processes/{process_id}")).json()
        if proc["status"] == "completed" and proc["temporal"]["status"] == "completed":
            assert proc["stage"] == stage
            return proc
        await asyncio.sleep(0.05)
    raise AssertionError(f"{process_id} did not end: {proc['status']} {proc['stage']}")


def reconciled(stack) -> None:
    with stack.db.read() as s:
        rec = cash.reconcile(s)
    assert rec.balanced, rec.rows


async def test_a_bill_5_percent_above_the_order_is_approved_by_the_buyers_manager_and_finance_then_paid(stack):
    sup, po = await received_order(stack)
    r = await stack.as_("dave", "POST", "/api/supplier-invoices/preview", json=bill(sup, po, "VM-77", 10, "210"))
    assert r.status_code == 200 and r.json()["match"] == "mismatch", r.text
    assert r.json()["approvers"] == ["buyer → manager", "finance"]
    before = bills_stored(stack)
    r = await stack.as_("dave", "POST", "/api/supplier-invoices", json=bill(sup, po, "VM-77", 10, "210"))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["match"] == "mismatch" and out["status"] == "pending_approval" and out["total"] == "2100.00"
    assert "+5.0 %" in out["reasons"][0]
    number, pid = out["number"], out["process_id"]
    assert bills_stored(stack) == before + 1
    # the same bill entered again is the first one
    again = await stack.as_("dave", "POST", "/api/supplier-invoices", json=bill(sup, po, "VM-77", 10, "210"))
    assert again.status_code == 200 and again.json()["number"] == number and again.json()["existing"]
    # dave entered it: he is the only buyer, so the buyer's step goes where buyer tasks escalate (a manager)
    task = await stack.open_task("frank", number)
    r = await stack.as_("dave", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code in (403, 404), r.text
    detail = (await stack.as_("frank", "GET", f"/api/tasks/{task['id']}")).json()
    ctx = detail["context"]
    assert ctx["kind"] == "supplier_bill" and not ctx["matched"] and ctx["purchase_order_id"] == po
    assert [(ln["sku"], ln["order_price"], ln["unit_price"]) for ln in ctx["lines"]] == [
        ("MOTOR-200W", "200.00", "210.00")]
    frank = await Browser(stack, "frank").start()
    page = await frank.get(f"/tasks/{task['id']}")
    assert page.status_code == 200 and "does not match" in text(page) and "+100.00" in text(page)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete",
                        json={"decision": "approve", "comment": "price rise agreed"})
    assert r.status_code == 200, r.text
    assert grni_of(stack, po) == Decimal("-2000.00")  # nothing posted before finance approves
    task = await stack.open_task("grace", number)
    r = await stack.as_("grace", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    view = await wait_for(stack, "grace", f"/api/supplier-invoices/{number}", "status", "open")
    with stack.db.read() as s:  # due on the supplier's terms
        terms = s.get(Supplier, sup).payment_terms_days
    assert view["due_on"] == (date(2026, 11, 20) + timedelta(days=terms)).isoformat()
    assert view["outstanding"] == "2100.00"
    assert grni_of(stack, po) == 0
    with stack.db.read() as s:
        bill_entry = s.execute(select(JournalEntry).where(JournalEntry.voucher_no == number)).scalar_one()
    assert sorted((ln.account_code, ln.debit, ln.credit) for ln in bill_entry.lines) == [
        ("2000", 0, Decimal("2100.00")), ("2100", Decimal("2000.00"), 0), ("5200", Decimal("100.00"), 0)]
    reconciled(stack)
    # the order shows its bill and what each line was billed
    order = (await stack.as_("dave", "GET", f"/api/purchase-orders/{po}")).json()
    assert [(b["number"], b["status"], b["outstanding"]) for b in order["bills"]] == [(number, "open", "2100.00")]
    assert order["lines"][0]["billed_qty"] == "10.00"
    await pay(stack, sup, "2100.00", "PAY-VM-77", pid)
    proc = await process_ended(stack, pid, "paid")
    assert [s["name"] for s in proc["steps"]] == ["submitted", "approval: buyer → manager", "approval: finance",
                                                  "awaiting payment", "paid"]
    assert (await stack.as_("grace", "GET", f"/api/supplier-invoices/{number}")).json()["status"] == "paid"
    assert grni_of(stack, po) == 0
    reconciled(stack)
    page = await (await Browser(stack, "dave").start()).get(f"/bills/{number}")
    assert page.status_code == 200 and number in text(page) and "paid" in text(page)
    assert (await (await Browser(stack, "alice").start()).get(f"/bills/{number}")).status_code == 404


async def test_a_matched_bill_posts_at_once_and_ends_when_paid_and_a_rejected_one_posts_nothing(stack):
    sup, po = await received_order(stack, qty=4)
    r = await stack.as_("grace", "POST", "/api/supplier-invoices", json=bill(sup, po, "VM-80", 2, "200.00"))
    assert r.status_code == 201 and r.json()["match"] == "matched" and r.json()["status"] == "open", r.text
    pid = r.json()["process_id"]
    assert grni_of(stack, po) == Decimal("-400.00")  # half billed
    # the rest, billed 25 % high: dave (the buyer) and grace decide; grace entered the first, dave this one
    r = await stack.as_("dave", "POST", "/api/supplier-invoices", json=bill(sup, po, "VM-81", 2, "250"))
    assert r.status_code == 201 and r.json()["match"] == "mismatch", r.text
    second = r.json()["number"]
    task = await stack.open_task("frank", second)
    r = await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete",
                        json={"decision": "reject", "comment": "not the agreed price"})
    assert r.status_code == 200, r.text
    await process_ended(stack, r2 := (await stack.as_("grace", "GET", f"/api/supplier-invoices/{second}")).json()[
        "process_id"], "rejected")
    assert r2.endswith(second)
    view = (await stack.as_("grace", "GET", f"/api/supplier-invoices/{second}")).json()
    assert view["status"] == "rejected" and view["reason"] == "not the agreed price"
    assert grni_of(stack, po) == Decimal("-400.00")
    # the goods it did not take may be billed again
    r = await stack.as_("grace", "POST", "/api/supplier-invoices/preview", json=bill(sup, po, "VM-82", 2, "200"))
    assert r.status_code == 200 and r.json()["match"] == "matched"
    await pay(stack, sup, "400.00", "PAY-VM-80", pid)
    await process_ended(stack, pid, "paid")
    reconciled(stack)


async def test_bad_bills_are_refused_and_store_nothing(stack):
    sup, po = await received_order(stack, qty=3)
    before = bills_stored(stack)
    r = await stack.as_("dave", "POST", "/api/supplier-invoices", json=bill(sup, po, "B-1", 4, "200"))
    assert r.status_code == 409 and "only 3 was received" in r.json()["detail"], r.text
    r = await stack.as_("dave", "POST", "/api/supplier-invoices", json=bill(99999, po, "B-2", 1, "200"))
    assert r.status_code == 404 and "no supplier" in r.json()["detail"]
    r = await stack.as_("dave", "POST", "/api/supplier-invoices", json=bill(sup, "PO-99999", "B-3", 1, "200"))
    assert r.status_code == 404 and "no purchase order" in r.json()["detail"]
    r = await stack.as_("dave", "POST", "/api/supplier-invoices", json=bill(sup, po, "B-4", 0, "200"))
    assert r.status_code == 422, r.text
    r = await stack.as_("dave", "POST", "/api/supplier-invoices", json=bill(sup, po, "B-5", "1,000", "200"))
    assert r.status_code == 422, r.text
    r = await stack.as_("ivan", "POST", "/api/supplier-invoices", json=bill(sup, po, "B-6", 1, "200"))
    assert r.status_code == 403, r.text
    assert bills_stored(stack) == before
    # the order by its id works as well as by its number
    with stack.db.read() as s:
        po_id = find_order(s, po).id
    r = await stack.as_("dave", "POST", "/api/supplier-invoices", json=bill(sup, po_id, "B-7", 3, "200"))
    assert r.status_code == 201 and r.json()["match"] == "matched", r.text
    assert grni_of(stack, po) == 0
    reconciled(stack)


async def test_a_bill_that_lost_the_race_for_the_same_goods_is_refused_by_its_process_and_stores_nothing(stack):
    """Two bills for the same goods, both checked before either was recorded: the process that records second
    finds the goods billed under the order's lock, fails with the 409, and nothing of it is stored."""
    sup, po = await received_order(stack, qty=2)
    before = bills_stored(stack)
    first = BillIn(supplier_id=sup, purchase_order_id=po, supplier_ref="RACE-1", issued_on=date(2026, 11, 20),
                   lines=[BillLineIn(sku="MOTOR-200W", qty=Decimal(2), unit_price=Decimal(200))])
    with stack.db.read() as s:
        checked = check(s, first)  # the second bill's check, made before the first bill is recorded
    r = await stack.as_("dave", "POST", "/api/supplier-invoices", json=bill(sup, po, "RACE-0", 2, "200"))
    assert r.status_code == 201, r.text
    number = await stack.platform.write(reserve_number, sup, "RACE-1")
    assert checked.match is not None
    draft = BillDraft(number=number, supplier_id=sup, supplier=checked.supplier, purchase_order_number=po,
                      supplier_ref="RACE-1", issued_on=first.issued_on, currency="USD", lines=first.lines,
                      entered_by="dave", owner="dave", match=checked.match)
    handle = await stack.platform.start(SupplierInvoice.run, draft, workflow_type="SupplierInvoice",
                                        id=ids.invoice(number, stack.platform.id_prefix),
                                        search_attributes=search_attributes("supplier_invoice", number, "dave"))
    with pytest.raises(Conflict, match="only 0 was received and not yet billed"):
        await stack.platform.update(handle, SupplierInvoice.recorded_state)
    with stack.db.read() as s:
        assert by_number_or_none(s, number) is None
    assert bills_stored(stack) == before + 1
    reconciled(stack)


async def test_the_bill_entry_page_prefills_what_was_received_shows_the_match_and_enters_the_bill(stack):
    sup, po = await received_order(stack, qty=5)
    dave = await Browser(stack, "dave").start()
    before = bills_stored(stack)
    page = await dave.get(f"/bills/new?purchase_order_id={po}")
    assert page.status_code == 200 and "Volt Motors" in text(page)
    assert 'name="qty_0" inputmode="decimal" maxlength="40" size="8"\n               value="5"' in page.text
    form = {"purchase_order_id": po, "supplier_id": sup, "supplier_ref": "VM-P1", "issued_on": "2026-11-20",
            "currency": "USD", "sku_0": "MOTOR-200W", "qty_0": "5", "price_0": "1,050.00"}
    r = await dave.post("/bills/new", {**form, "action": "preview"})
    assert r.status_code == 200 and "does not match" in text(r) and "buyer → manager (bob or frank or heidi), then finance (grace)" in text(r)
    assert bills_stored(stack) == before
    r = await dave.post("/bills/new", {**form, "qty_0": "6", "action": "enter"})
    assert r.status_code == 409 and "only 5 was received" in text(r)
    r = await dave.post("/bills/new", {**form, "price_0": "200", "action": "enter"})
    assert r.status_code == 303, r.text
    number = r.headers["location"].split("?")[0].rsplit("/", 1)[-1]
    page = await dave.get(r.headers["location"])
    assert page.status_code == 200 and "matched: it is approved for payment" in text(page)
    assert number in text(await dave.get("/bills"))
