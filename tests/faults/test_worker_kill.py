"""kill -9 of the worker process while a side-effecting activity is in flight, after its transaction committed
and before Temporal heard of it. Temporal dispatches the activity again once its start-to-close timeout has
expired; a normal worker takes it over, and every effect must exist exactly once and every process complete.

The crashing worker is the real worker (worker.build_worker) in a process of its own, one activity wrapped to
hang once it committed (tests/faults/crashing_worker.py). The default run shortens the house activity timeout
(30 s, workflows/common.py) to a few seconds in both workers; the `slow` variant keeps it."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.starters import approval, expense_claim, order_fulfilment, production_order, purchase
from domain.accounting import ledger
from domain.accounting.tables import JournalEntry
from domain.approvals.tables import Task, TaskEvent
from domain.core.db import Database
from domain.core.tables import IdempotencyRecord
from domain.expenses.tables import ExpenseClaim
from domain.inventory import stock
from domain.inventory.tables import StockLedgerEntry
from domain.parties.tables import Customer
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
    await f.start_crashing("deliver")
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
    assert count(db, JournalEntry, JournalEntry.voucher_no == so, JournalEntry.voucher_type == "delivery") == 2
    assert fans(db)["on_hand"] == 2 and fans(db)["reserved"] == 0
    assert process_status(db, pid) == "completed"
    balanced(db)
    await f.assert_redelivered()


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
    assert count(db, Task, Task.business_key == number) == 1
    assert count(db, TaskEvent, TaskEvent.task_id == task.id, TaskEvent.event == "created") == 1
    assert count(db, JournalEntry, JournalEntry.voucher_no == number, JournalEntry.voucher_type == "expense_claim") == 1
    assert count(db, JournalEntry, JournalEntry.voucher_no == number) == 2  # the accrual and the payment
    await eventually(db, lambda s: process_status(db, claim["process_id"]) == "completed", 30)
    balanced(db)
    await f.assert_redelivered()
