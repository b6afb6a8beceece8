"""Activities are idempotent: a retried activity (Temporal retries after a crash, also one that
struck after the transaction committed) and an activity run twice with the same arguments leave
one effect: one journal entry, one purchase order, one receipt."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from temporalio import activity
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import all_activities
from activities.expenses import ExpenseActivities
from activities.purchasing import PurchaseActivities
from api.platform import Platform
from api.starters import expense_claim
from domain.accounting import ledger
from domain.accounting.tables import JournalEntry
from domain.approvals import services as approvals
from domain.core import records as common
from domain.core.db import Database
from domain.expenses.rules import ClaimDraft, ClaimStatus
from domain.expenses.tables import ExpenseClaim
from domain.inventory import stock
from domain.inventory.tables import StockLedgerEntry
from domain.processes import ids
from domain.processes.tables import Process
from domain.purchasing import rules as purchasing
from domain.purchasing.tables import GoodsReceipt, PurchaseOrder, PurchaseRequisition
from tests.conftest import USE_PG
from tests.helpers import actor, approve_chain, claim_lines
from worker import WORKFLOWS

CRASHES = 2


def _name(fn: object) -> str:
    return getattr(fn, "__temporal_activity_definition").name


class FlakySetClaimStatus:
    """`set_claim_status` that crashes on its first two attempts at approving, then succeeds.
    `after_effect`: the crash strikes after the real activity committed (the reply was lost)."""

    def __init__(self, db: Database, after_effect: bool):
        self.real = ExpenseActivities(db)
        self.after_effect = after_effect
        self.attempts: list[tuple[str, int]] = []
        self.succeeded: list[tuple[str, int]] = []

    def activity(self) -> object:
        @activity.defn(name="set_claim_status")
        def set_claim_status(number: str, process_id: str, status: ClaimStatus, stage: str, post_key: str | None,
                             close: bool) -> None:
            attempt = activity.info().attempt
            self.attempts.append((status, attempt))
            if status == ClaimStatus.APPROVED and attempt <= CRASHES:
                if self.after_effect:
                    self.real.set_claim_status(number, process_id, status, stage, post_key, close)
                raise RuntimeError(f"simulated crash on attempt {attempt}")
            self.real.set_claim_status(number, process_id, status, stage, post_key, close)
            self.succeeded.append((status, attempt))

        return set_claim_status


@pytest_asyncio.fixture(params=[False, True], ids=["crash-before-commit", "crash-after-commit"])
async def flaky_worker(request, time_env: WorkflowEnvironment, db: Database, task_queue: str
                       ) -> AsyncIterator[tuple[Client, FlakySetClaimStatus]]:
    flaky = FlakySetClaimStatus(db, after_effect=request.param)
    acts = [a for a in all_activities(db) if _name(a) != "set_claim_status"] + [flaky.activity()]
    assert len(acts) == len(all_activities(db))
    with ThreadPoolExecutor(max_workers=8) as pool:
        async with Worker(time_env.client, task_queue=task_queue, workflows=WORKFLOWS, activities=acts,
                          activity_executor=pool, max_concurrent_activities=8):
            yield time_env.client, flaky
            await _terminate_running(time_env.client, db)


async def _terminate_running(client: Client, db: Database) -> None:
    with db.read() as s:
        ids = list(s.execute(select(Process.process_id).where(Process.status == "running")).scalars())
    for pid in ids:
        try:
            await client.get_workflow_handle(pid).terminate("test finished")
        except Exception as e:  # already closed
            print("terminate", pid, e)


async def test_an_activity_failing_twice_then_succeeding_posts_once(flaky_worker, db, task_queue):
    client, flaky = flaky_worker
    p = Platform(client, db, task_queue, id_prefix=f"{task_queue}/")
    number = (await expense_claim.submit(p, "erin", claim_lines("800", 2)))["claim_id"]
    await approve_chain(p, db, number, ["frank"])
    for _ in range(200):  # until the activity has succeeded (the effect may be in before that)
        if ("approved", CRASHES + 1) in flaky.succeeded:
            break
        await asyncio.sleep(0.05)
    assert [a for s, a in flaky.attempts if s == "approved"] == [1, 2, 3]
    assert flaky.succeeded == [("approved", 3)]
    with db.read() as s:
        claim = s.execute(select(ExpenseClaim).where(ExpenseClaim.number == number)).scalar_one()
    assert claim.status == "approved"
    assert await expense_claim.pay(p, actor(db, "grace"), number) == "paid"  # the process went on
    with db.read() as s:
        entries = list(s.execute(select(JournalEntry).where(JournalEntry.voucher_no == number,
                                                            JournalEntry.voucher_type == "expense_claim")).scalars())
        tb = ledger.trial_balance(s)
    assert len(entries) == 1
    assert sum(ln.debit for ln in entries[0].lines) == sum(ln.credit for ln in entries[0].lines) == Decimal("800")
    assert tb["debit_total"] == tb["credit_total"]
    assert _count(db, JournalEntry, JournalEntry.voucher_no == number) == 2  # accrual + payment


# --- the activities themselves, run twice with the same arguments ----------------------------------

def _count(db: Database, model: type, *where: object) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _requisition(db: Database, qty: str) -> tuple[purchasing.RequisitionDraft, str]:
    """A requisition as submitted (api/starters/purchase.py): numbered, with the approval chain it is made with."""
    lines = [purchasing.RequisitionLineIn(sku="MOTOR-200W", qty=Decimal(qty), est_unit_price=Decimal("200"))]
    total = purchasing.requisition_total(lines)
    with db.write() as s:
        number = common.next_number(s, "PR")
        supplier_id = stock.item_by_sku(s, "MOTOR-200W").default_supplier_id
        steps = approvals.chain_for(s, "purchase_requisition", total, "dave")
    assert supplier_id is not None
    draft = purchasing.RequisitionDraft(number=number, requester="dave", supplier_id=supplier_id,
                                        justification="twice", total=total, lines=lines, lead_time_days=10,
                                        steps=steps)
    return draft, ids.purchase(number)


def test_purchase_activities_twice_with_the_same_key_act_once(db):
    acts = PurchaseActivities(db)
    draft, pid = _requisition(db, "40")
    steps = [acts.record_requisition(draft, pid) for _ in range(2)]
    assert steps[0] == steps[1] and [s.candidate_user or s.candidate_role for s in steps[0]] == ["frank", "cfo"]
    assert _count(db, PurchaseRequisition, PurchaseRequisition.number == draft.number) == 1
    assert _count(db, Process, Process.process_id == pid) == 1
    with db.read() as s:
        before = stock.levels(s, "MOTOR-200W")

    orders = [acts.create_purchase_order(draft.number, pid, "dave", date(2026, 11, 2), f"{pid}:po") for _ in range(2)]
    assert orders[0] == orders[1]
    assert _count(db, PurchaseOrder, PurchaseOrder.requisition_number == draft.number) == 1
    with db.read() as s:
        assert stock.levels(s, "MOTOR-200W")["on_order"] == before["on_order"] + 40
    po = orders[0].number

    lines = [purchasing.ReceiptLineIn(sku="MOTOR-200W", qty=Decimal("15"))]
    states = [acts.receive_goods(po, pid, lines, "ivan", f"{pid}:receipt:1") for _ in range(2)]
    assert states[0] == states[1] and states[0].lines[0].received_qty == 15
    with db.read() as s:
        po_id = s.execute(select(PurchaseOrder.id).where(PurchaseOrder.number == po)).scalar_one()
        lv = stock.levels(s, "MOTOR-200W")
    assert _count(db, GoodsReceipt, GoodsReceipt.po_id == po_id) == 1
    assert _count(db, StockLedgerEntry, StockLedgerEntry.voucher_no == f"{po}-R1") == 1
    assert _count(db, JournalEntry, JournalEntry.voucher_type == "goods_receipt") == 1
    assert (lv["on_hand"], lv["on_order"]) == (before["on_hand"] + 15, before["on_order"] + 25)

    # A second receipt (another key) is a new receipt, and is itself idempotent.
    for _ in range(2):
        acts.receive_goods(po, pid, [purchasing.ReceiptLineIn(sku="MOTOR-200W", qty=Decimal("25"))], "ivan",
                           f"{pid}:receipt:2")
    assert _count(db, GoodsReceipt, GoodsReceipt.po_id == po_id) == 2
    assert _count(db, JournalEntry, JournalEntry.voucher_type == "goods_receipt") == 2
    with db.read() as s:
        assert s.execute(select(PurchaseOrder.status).where(PurchaseOrder.id == po_id)).scalar_one() == "received"
        lv = stock.levels(s, "MOTOR-200W")
        tb = ledger.trial_balance(s)
    assert (lv["on_hand"], lv["on_order"]) == (before["on_hand"] + 40, before["on_order"])
    assert tb["debit_total"] == tb["credit_total"]


def test_expense_activities_twice_with_the_same_key_post_once(db):
    acts = ExpenseActivities(db)
    with db.write() as s:
        number = common.next_number(s, "EC")
    lines = claim_lines("2500", 2)
    draft = ClaimDraft(number=number, requester="erin", currency="USD", total=Decimal("2500"), lines=lines)
    pid = ids.expense_claim(number)
    with db.read() as s:
        bank_before = ledger.balances(s).get("1000", Decimal(0))  # the demo's history received money already
    for _ in range(2):
        acts.record_claim(draft, pid)
    assert _count(db, ExpenseClaim, ExpenseClaim.number == number) == 1
    for _ in range(2):
        acts.set_claim_status(number, pid, "approved", "awaiting payment", f"{pid}:accrual", False)
    for _ in range(2):
        acts.set_claim_status(number, pid, "paid", "paid", f"{pid}:payment", True)
    assert _count(db, JournalEntry, JournalEntry.voucher_no == number, JournalEntry.voucher_type == "expense_claim") == 1
    assert _count(db, JournalEntry, JournalEntry.voucher_no == number,
                  JournalEntry.voucher_type == "expense_payment") == 1
    with db.read() as s:
        tb = ledger.trial_balance(s)
    accounts = {a["code"]: a for a in tb["accounts"]}
    with db.read() as s:
        assert ledger.balances(s)["1000"] - bank_before == Decimal("-2500")
    assert "2200" not in accounts or (accounts["2200"]["debit"], accounts["2200"]["credit"]) == (0, 0)
    assert tb["debit_total"] == tb["credit_total"]


@pytest.mark.skipif(not USE_PG, reason="on SQLite every writer holds the database lock from BEGIN IMMEDIATE, "
                                       "so two receipts cannot interleave")
def test_concurrent_receipts_on_one_order_both_count(db, monkeypatch):
    """Two receipts of one order in flight at once (two worker threads, two workers): the second read
    the order before the first committed. Forced here by holding the second after its read."""
    acts = PurchaseActivities(db)
    draft, pid = _requisition(db, "40")
    acts.record_requisition(draft, pid)
    po = acts.create_purchase_order(draft.number, pid, "dave", date(2026, 11, 2), f"{pid}:po").number
    with db.read() as s:
        before = stock.levels(s, "MOTOR-200W")
    second_has_read, first_committed = threading.Event(), threading.Event()
    real_apply = purchasing.apply_receipt

    def apply_receipt(order: purchasing.OrderState, receipt: list[purchasing.ReceiptLineIn]) -> purchasing.OrderState:
        out = real_apply(order, receipt)
        if threading.current_thread().name == "second-receipt":
            second_has_read.set()
            first_committed.wait(2)  # (a correct order lock keeps the first waiting: go on then)
        return out

    monkeypatch.setattr(purchasing, "apply_receipt", apply_receipt)
    errors: list[BaseException] = []

    def second() -> None:
        try:
            acts.receive_goods(po, pid, [purchasing.ReceiptLineIn(sku="MOTOR-200W", qty=Decimal("25"))], "ivan",
                               f"{pid}:receipt:2")
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=second, name="second-receipt")
    t.start()
    try:
        assert second_has_read.wait(10)
        acts.receive_goods(po, pid, [purchasing.ReceiptLineIn(sku="MOTOR-200W", qty=Decimal("15"))], "ivan",
                           f"{pid}:receipt:1")
    finally:
        first_committed.set()
        t.join(20)
    assert not errors, errors  # (a refusal here would be fine too, if the order stayed right)
    with db.read() as s:
        order = s.execute(select(PurchaseOrder).where(PurchaseOrder.number == po)).scalar_one()
        lv = stock.levels(s, "MOTOR-200W")
    assert lv["on_hand"] == before["on_hand"] + 40
    assert [ln.received_qty for ln in order.lines] == [40]
    assert order.status == "received"
