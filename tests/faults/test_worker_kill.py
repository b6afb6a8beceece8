"""kill -9 of the worker process while a side-effecting activity is in flight, after its transaction committed
and before Temporal heard of it. Temporal dispatches the activity again once its start-to-close timeout has
expired; a normal worker takes it over, and every effect must exist exactly once and every process complete.

The crashing worker is the real worker (worker.build_worker) in a process of its own, one activity wrapped to
hang once it committed (tests/faults/crashing_worker.py). The default run shortens the house activity timeout
(30 s, workflows/common.py) to a few seconds in both workers; the `slow` variant keeps it."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.starters import approval, expense_claim, order_fulfilment, production_order, purchase
from domain.accounting import ledger
from domain.accounting.tables import JournalEntry
from domain.approvals.tables import Task, TaskEvent
from domain.cash.tables import Invoice
from domain.core.db import Database
from domain.core.tables import IdempotencyRecord
from domain.expenses.tables import ExpenseClaim
from domain.inventory import stock
from domain.inventory.tables import StockLedgerEntry
from domain.parties.tables import Customer
from domain.processes import ids
from domain.processes.tables import Process
from domain.production import services as production_svc
from domain.production.tables import ProductionOrder
from domain.purchasing.rules import ReceiptLineIn, RequisitionLineIn
from domain.purchasing.tables import GoodsReceipt, PurchaseOrder, PurchaseRequisition
from domain.sales import services as sales_svc
from domain.sales.rules import OrderLineIn
from tests.faults.conftest import Faults
from tests.helpers import actor, claim_lines, eventually, open_task_for
from workflows.order_fulfilment import OrderFulfilment

pytestmark = pytest.mark.e2e
FAN = "FAN-200"


def count(db: Database, model: type, *where: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def entries(db: Database, voucher_no: str, voucher_type: str) -> list[tuple[str, Decimal]]:
    from domain.inventory.tables import Item
    with db.read() as s:
        return sorted((sku, qty) for sku, qty in s.execute(
            select(Item.sku, StockLedgerEntry.qty).join(Item, Item.id == StockLedgerEntry.item_id)
            .where(StockLedgerEntry.voucher_no == voucher_no, StockLedgerEntry.voucher_type == voucher_type)))


def process_status(db: Database, process_id: str) -> str | None:
    with db.read() as s:
        p = s.get(Process, process_id)
        return p.status if p else None


def balanced(db: Database) -> None:
    with db.read() as s:
        tb = ledger.trial_balance(s)
        assert tb["debit_total"] == tb["credit_total"]
        assert s.execute(select(func.min(StockLedgerEntry.on_hand_after))).scalar_one() >= 0


async def order_fans(f: Faults, qty: int) -> tuple[str, str]:
    with f.db.read() as s:
        globex = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
    out = await order_fulfilment.create(f.platform, "alice", globex, [OrderLineIn(sku=FAN, qty=Decimal(qty),
                                                                            unit_price=Decimal(450))], None)
    return str(out["sales_order_id"]), str(out["process_id"])


async def ready_to_deliver(f: Faults, process_id: str, limit: float = 40) -> None:
    handle = f.env.client.get_workflow_handle(process_id)
    deadline = asyncio.get_running_loop().time() + limit
    while (status := await handle.query(OrderFulfilment.current_status)) != "ready to deliver":
        assert asyncio.get_running_loop().time() < deadline, status
        await asyncio.sleep(0.1)


def fans(db: Database) -> dict[str, Decimal]:
    with db.read() as s:
        return stock.levels(s, FAN)


# --- stock: the sales reservation, and the delivery (stock issue + journal) -----------------------------------

@pytest.mark.slow  # make test keeps one kill per kind of effect: stock + journal (delivery), an order, a task, cash
async def test_kill_during_sales_reservation_reserves_once(faults: Faults):
    f, db = faults, faults.db
    await f.start_crashing("reserve_sales_order")
    so, pid = await order_fans(f, 3)
    crashed = await f.kill_after_commit()
    assert crashed["workflow_id"] == pid
    # the effect is there while the process still waits for the activity's answer
    assert count(db, IdempotencyRecord, IdempotencyRecord.key == f"{pid}:reserve") == 1
    assert fans(db)["reserved"] == 3
    await f.recover()
    await ready_to_deliver(f, pid)
    assert fans(db)["reserved"] == 3  # the retry found its key: not 6
    with db.read() as s:
        assert [ln.reserved_qty for ln in sales_svc.order(s, so).lines] == [3]
    assert await order_fulfilment.deliver(f.platform, actor(db, "ivan"), so) == "completed"
    assert fans(db)["on_hand"] == 5 - 3 and fans(db)["reserved"] == 0
    assert entries(db, so, "delivery") == [(FAN, Decimal(-3))]
    assert process_status(db, pid) == "completed"
    balanced(db)
    await f.assert_redelivered()


async def test_kill_during_delivery_issues_stock_and_posts_once(faults: Faults):
    f, db = faults, faults.db
    await f.start_crashing("deliver_part")  # the goods, the note and the invoice: one transaction
    so, pid = await order_fans(f, 3)
    await ready_to_deliver(f, pid)
    delivering = asyncio.create_task(order_fulfilment.deliver(f.platform, actor(db, "ivan"), so))
    try:
        await f.kill_after_commit()
        assert entries(db, so, "delivery") == [(FAN, Decimal(-3))]
        await f.recover()
        assert await delivering == "completed"  # the update answers once the retried activity did
    finally:
        delivering.cancel()
    assert entries(db, so, "delivery") == [(FAN, Decimal(-3))]
    # cost of goods sold under the order, once; one invoice, posted once (revenue and receivable)
    assert count(db, JournalEntry, JournalEntry.voucher_no == so, JournalEntry.voucher_type == "delivery") == 1
    with db.read() as s:
        [invoice] = s.execute(select(Invoice.number).where(Invoice.sales_order_number == so)).scalars().all()
    assert count(db, JournalEntry, JournalEntry.voucher_no == invoice) == 1
    assert fans(db)["on_hand"] == 2 and fans(db)["reserved"] == 0
    assert process_status(db, pid) == "completed"
    balanced(db)
    await f.assert_redelivered()


@pytest.mark.slow  # make test keeps one kill per kind of effect: stock + journal (delivery), an order, a task, cash
async def test_kill_during_production_kit_issue_issues_once(faults: Faults):
    """6 fans, 5 on hand: one kitted production order for 1 fan, whose kit (housing + blade set) is on hand,
    so its release issues the kit. The worker dies after the issue committed."""
    f, db = faults, faults.db
    await f.start_crashing("try_release")
    so, pid = await order_fans(f, 6)
    await f.kill_after_commit()
    with db.read() as s:
        [mo] = production_svc.for_sales_order(s, so)["production_orders"]
        row = s.execute(select(ProductionOrder).where(ProductionOrder.number == mo["id"])).scalar_one()
        kit = sorted((m.sku, -m.required_qty) for m in row.materials)
        mo_pid = row.process_id
    assert row.status == "released" and row.issue_method == "kitted" and kit and all(q < 0 for _, q in kit)
    assert entries(db, mo["id"], "production_issue") == kit
    await f.recover()
    from domain.production import rules
    from workflows.production_order import ProductionOrder as ProductionOrderWorkflow
    handle = f.env.client.get_workflow_handle(mo_pid)
    for _ in range(400):  # the process learns of its release when the retried activity answers
        if await handle.query(ProductionOrderWorkflow.current_status) == "released":
            break
        await asyncio.sleep(0.1)
    st = await production_order.progress(f.platform, actor(db, "carol"), mo["id"],
                                          rules.ProgressIn(completed_qty=Decimal(1), labour_hours=Decimal(1)))
    assert st.status == "completed"
    await ready_to_deliver(f, pid)
    assert await order_fulfilment.deliver(f.platform, actor(db, "ivan"), so) == "completed"
    assert entries(db, mo["id"], "production_issue") == kit  # once, though try_release ran twice
    assert count(db, JournalEntry, JournalEntry.voucher_no == mo["id"],
                 JournalEntry.memo == f"Kit issued to {mo['id']}") == 1
    assert entries(db, so, "delivery") == [(FAN, Decimal(-6))]
    assert process_status(db, pid) == "completed" and process_status(db, mo_pid) == "completed"
    balanced(db)
    await f.assert_redelivered()


# --- purchasing: the purchase order --------------------------------------------------------------------------

async def purchase_with_kill_during_po_creation(f: Faults, limit: float) -> None:
    db = f.db
    await f.start_crashing("create_purchase_order")
    req = await purchase.submit(f.platform, "dave", [RequisitionLineIn(sku="MOTOR-200W", qty=Decimal(10),
                                                                         est_unit_price=Decimal(200))],
                                              "fault test", None)
    task = await open_task_for(db, req["requisition_id"])
    await approval.decide(f.platform, actor(db, "frank"), task.id, "approve", "ok")
    await f.kill_after_commit()
    assert count(db, PurchaseOrder, PurchaseOrder.requisition_number == req["requisition_id"]) == 1
    await f.recover()

    def ordered(s: Session) -> Any:
        r = s.execute(select(PurchaseRequisition).where(
            PurchaseRequisition.number == req["requisition_id"])).scalar_one()
        return r.purchase_order_id if r.status == "ordered" else None

    po_id = await eventually(db, ordered, limit)
    from workflows.purchase import Purchase
    handle = f.env.client.get_workflow_handle(req["process_id"])
    deadline = asyncio.get_running_loop().time() + limit
    while await handle.query(Purchase.current_status) != "ordered":  # it learns of its order from the retry
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    with db.read() as s:
        po = s.get(PurchaseOrder, po_id)
        assert po is not None
    assert count(db, PurchaseOrder, PurchaseOrder.requisition_number == req["requisition_id"]) == 1
    state = await purchase.receive(f.platform, actor(db, "ivan"), po.number,
                                           [ReceiptLineIn(sku="MOTOR-200W", qty=Decimal(10))])
    assert state.fully_received
    await eventually(db, lambda s: process_status(db, req["process_id"]) == "completed", 30)
    assert count(db, PurchaseOrder) == 1 and count(db, GoodsReceipt) == 1
    balanced(db)
    await f.assert_redelivered()


async def test_kill_during_purchase_order_creation_orders_once(faults: Faults):
    await purchase_with_kill_during_po_creation(faults, limit=30)


@pytest.mark.slow
async def test_kill_during_purchase_order_creation_with_the_house_timeout(faults_real_timeout: Faults):
    """The same with the unchanged 30 s start-to-close timeout: the retry comes when it expires."""
    await purchase_with_kill_during_po_creation(faults_real_timeout, limit=90)


# --- approvals: the inbox task; expenses: the journal --------------------------------------------------------

@pytest.mark.parametrize(("activity", "match"), [("open_task", ""), ("set_claim_status", "'approved'")],
                         ids=["task-creation", "journal-posting"])
async def test_kill_during_expense_claim_creates_task_and_posts_once(faults: Faults, activity: str, match: str):
    f, db = faults, faults.db
    await f.start_crashing(activity, match)
    claim = await expense_claim.submit(f.platform, "erin", claim_lines("500"))
    number = claim["claim_id"]
    if activity == "open_task":
        await f.kill_after_commit()
        assert count(db, Task, Task.business_key == number) == 1
        await f.recover()
    task = await open_task_for(db, number, wait=30)
    await approval.decide(f.platform, actor(db, "frank"), task.id, "approve", "ok")
    if activity == "set_claim_status":
        await f.kill_after_commit()
        assert count(db, JournalEntry, JournalEntry.voucher_no == number) == 1
        await f.recover()
    await eventually(db, lambda s: s.execute(select(ExpenseClaim.status).where(ExpenseClaim.number == number))
                .scalar_one() == "approved", 30)
    assert await expense_claim.pay(f.platform, actor(db, "grace"), number) == "paid"
    assert count(db, Task, Task.business_key == number, Task.kind != "pay") == 1  # the approval, once
    await eventually(db, lambda s: count(db, Task, Task.business_key == number, Task.kind == "pay",
                                         Task.status != "open") == 1, 30)  # finance's Pay task, once, closed
    assert count(db, TaskEvent, TaskEvent.task_id == task.id, TaskEvent.event == "created") == 1
    assert count(db, JournalEntry, JournalEntry.voucher_no == number, JournalEntry.voucher_type == "expense_claim") == 1
    assert count(db, JournalEntry, JournalEntry.voucher_no == number) == 2  # the accrual and the payment
    await eventually(db, lambda s: process_status(db, claim["process_id"]) == "completed", 30)
    balanced(db)
    await f.assert_redelivered()


# --- cash: a payment's allocation, a supplier bill's posting ------------------------------------------------------

def _cash_counts(db: Database, reference: str) -> tuple[int, int, int]:
    """(payments of `reference`, their allocations, their journal entries)."""
    from domain.cash.tables import Payment, PaymentAllocation
    with db.read() as s:
        pays = list(s.execute(select(Payment).where(Payment.reference == reference)).scalars())
        allocations = sum(len(p.allocations) for p in pays)
        posted = sum(count(db, JournalEntry, JournalEntry.idempotency_key == f"payment:{p.number}") for p in pays)
        assert count(db, PaymentAllocation, PaymentAllocation.payment_id.in_([p.id for p in pays])) == allocations
        return len(pays), allocations, posted


def _reconciled(db: Database) -> None:
    from domain.cash import services as cash
    with db.read() as s:
        rec = cash.reconcile(s)
    assert rec.balanced, rec.rows
    balanced(db)


async def test_kill_during_payment_allocation_allocates_and_posts_once(faults: Faults):
    """Globex pays two of its invoices and part of a third; the worker dies after the allocation committed. The
    retried activity finds the payment its process recorded (not a second one), the caller gets the first
    answer, each invoice is set against once and the receivables still equal the open invoices."""
    from api.starters import payment as payment_starter
    from domain.cash import services as cash
    from domain.cash.rules import InvoiceKind, InvoiceStatus

    f, db = faults, faults.db
    with db.write() as s:
        globex = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
        numbers = [cash.issue(s, kind=InvoiceKind.CUSTOMER, party_id=globex, tax=Decimal(0), currency="USD",
                              issued_on=date(2026, 11, d), key=f"fault-invoice-{d}", process_id="",
                              lines=[cash.LineIn(sku=FAN, qty=Decimal(1), unit_price=Decimal(amount),
                                                 net=Decimal(amount))]).number
                   for d, amount in ((2, "300"), (3, "200"), (4, "500"))]
    await f.start_crashing("record_payment")
    paying = asyncio.create_task(payment_starter.record(f.platform, "grace", {
        "direction": "in", "party_id": globex, "amount": Decimal(700), "currency": "USD",
        "paid_on": date(2026, 11, 30), "reference": "FAULT-TT-1", "allocations": None}))
    try:
        crashed = await f.kill_after_commit()
        assert crashed["workflow_id"] == ids.payment("in", globex, "FAULT-TT-1", f.platform.id_prefix)
        assert _cash_counts(db, "FAULT-TT-1") == (1, 3, 1)  # committed, not yet answered
        await f.recover()
        res = await paying  # the Update answers once the retried activity did
    finally:
        paying.cancel()
    assert not res.existing
    assert [(a.number, a.amount) for a in res.allocations] == [(numbers[0], Decimal(300)), (numbers[1], Decimal(200)),
                                                               (numbers[2], Decimal(200))]
    assert _cash_counts(db, "FAULT-TT-1") == (1, 3, 1)  # once, though record_payment ran twice
    with db.read() as s:
        assert [cash.by_number(s, n).status for n in numbers] == [InvoiceStatus.PAID, InvoiceStatus.PAID,
                                                                  InvoiceStatus.OPEN]
        assert cash.by_number(s, numbers[2]).outstanding == Decimal(300)
    await eventually(db, lambda s: process_status(db, crashed["workflow_id"]) == "completed", 30)
    # the same reference again is the same payment
    again = await payment_starter.record(f.platform, "grace", {
        "direction": "in", "party_id": globex, "amount": Decimal(700), "currency": "USD",
        "paid_on": date(2026, 11, 30), "reference": "FAULT-TT-1", "allocations": None})
    assert again.existing and again.payment_id == res.payment_id
    assert _cash_counts(db, "FAULT-TT-1") == (1, 3, 1)
    _reconciled(db)
    await f.assert_redelivered()


@pytest.mark.slow  # make test keeps one kill per kind of effect: stock + journal (delivery), an order, a task, cash
async def test_kill_during_supplier_bill_posting_posts_once_and_the_payment_closes_it(faults: Faults):
    """A bill matching its received order is posted by its process's first activity; the worker dies after the
    commit. The retry finds the bill (one invoice, one journal entry, goods received not invoiced cleared once),
    the process waits for payment, and a payment closes it."""
    from api.starters import payment as payment_starter
    from api.starters import supplier_invoice
    from domain.cash import bills
    from domain.cash import services as cash
    from domain.cash.rules import BillLineIn, InvoiceStatus
    from domain.cash.tables import Invoice

    f, db = faults, faults.db
    await f.recover()  # the purchase first, on a normal worker
    req = await purchase.submit(f.platform, "dave", [RequisitionLineIn(sku="MOTOR-200W", qty=Decimal(4),
                                                                       est_unit_price=Decimal(200))], "bill", None)
    task = await open_task_for(db, req["requisition_id"])
    await approval.decide(f.platform, actor(db, "frank"), task.id, "approve", "ok")

    def ordered(s: Session) -> Any:
        r = s.execute(select(PurchaseRequisition).where(
            PurchaseRequisition.number == req["requisition_id"])).scalar_one()
        return r.purchase_order_id if r.status == "ordered" else None

    po = await eventually(db, ordered, 30)
    with db.read() as s:
        order = s.get(PurchaseOrder, po)
        assert order is not None
        po_number, supplier = order.number, order.supplier_id
    await purchase.receive(f.platform, actor(db, "ivan"), po_number, [ReceiptLineIn(sku="MOTOR-200W", qty=Decimal(4))])
    await f.stack.aclose()  # the normal worker goes: the crashing one takes the bill
    f.stack = contextlib.AsyncExitStack()
    await f.start_crashing("record_bill")
    entering = asyncio.create_task(supplier_invoice.enter(f.platform, actor(db, "grace"), bills.BillIn(
        supplier_id=supplier, purchase_order_id=po_number, supplier_ref="VM-FAULT-1", issued_on=date(2026, 11, 20),
        lines=[BillLineIn(sku="MOTOR-200W", qty=Decimal(4), unit_price=Decimal(200))])))
    try:
        crashed = await f.kill_after_commit()
        with db.read() as s:
            [number] = s.execute(select(Invoice.number).where(Invoice.supplier_ref == "VM-FAULT-1")).scalars()
        assert count(db, JournalEntry, JournalEntry.idempotency_key == f"invoice:{number}") == 1
        await f.recover()
        out, created = await entering
    finally:
        entering.cancel()
    assert created and out["number"] == number and out["match"] == "matched"
    assert crashed["workflow_id"] == out["process_id"]
    assert count(db, Invoice, Invoice.supplier_ref == "VM-FAULT-1") == 1
    assert count(db, JournalEntry, JournalEntry.idempotency_key == f"invoice:{number}") == 1
    _reconciled(db)  # goods received not invoiced cleared once: it equals what is received and not billed
    res = await payment_starter.record(f.platform, "grace", {
        "direction": "out", "party_id": supplier, "amount": Decimal(800), "currency": "USD",
        "paid_on": date(2026, 11, 30), "reference": "PAY-VM-FAULT-1", "allocations": [(number, Decimal(800))]})
    assert [(a.number, a.amount) for a in res.allocations] == [(number, Decimal(800))]
    with db.read() as s:
        assert cash.by_number(s, number).status == InvoiceStatus.PAID
    await eventually(db, lambda s: process_status(db, out["process_id"]) == "completed", 30)
    _reconciled(db)
    await f.assert_redelivered()
