"""The inspection's recording activity retried (Temporal retries after a worker crash, also one that struck after
the transaction committed: the reply was lost) leaves one effect: the accepted goods on hand once, one
nonconformance record, one debit note against the bill, one return of the rejected goods."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pytest_asyncio
from sqlalchemy import func, select
from temporalio import activity
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import all_activities
from activities.quality import QualityActivities
from api.platform import Platform
from api.starters import inspection
from domain.cash import services as cash
from domain.cash.tables import Invoice
from domain.core.db import Database
from domain.inventory import stock
from domain.inventory.quarantine_tables import QuarantineLot
from domain.inventory.tables import StockLedgerEntry
from domain.processes import ids
from domain.quality import rules
from domain.quality.tables import Nonconformance
from tests.helpers import actor
from tests.unit.test_bills import bill_in, received_order
from tests.unit.test_bills import record as record_bill
from tests.workflows.test_activity_retry import _name, _terminate_running
from worker import WORKFLOWS
from workflows.inspection import Inspection

CRASHES = 2
D = Decimal


class FlakyRecord:
    """`record_inspection` that crashes on its first two attempts (after committing, when `after_effect`)."""

    def __init__(self, db: Database, after_effect: bool):
        self.real = QualityActivities(db)
        self.after_effect = after_effect
        self.attempts: list[int] = []

    def activity(self) -> object:
        @activity.defn(name="record_inspection")
        def record_inspection(lot_number: str, cmd: rules.InspectionCommand, process_id: str,
                              today: date) -> rules.InspectionOutcome:
            attempt = activity.info().attempt
            self.attempts.append(attempt)
            if attempt <= CRASHES:
                if self.after_effect:
                    self.real.record_inspection(lot_number, cmd, process_id, today)
                raise RuntimeError(f"simulated crash on attempt {attempt}")
            return self.real.record_inspection(lot_number, cmd, process_id, today)

        return record_inspection


@pytest_asyncio.fixture(params=[False, True], ids=["crash-before-commit", "crash-after-commit"])
async def flaky_worker(request, time_env: WorkflowEnvironment, db: Database, task_queue: str
                       ) -> AsyncIterator[tuple[Client, FlakyRecord]]:
    flaky = FlakyRecord(db, after_effect=request.param)
    acts = [a for a in all_activities(db) if _name(a) != "record_inspection"] + [flaky.activity()]
    with ThreadPoolExecutor(max_workers=8) as pool:
        async with Worker(time_env.client, task_queue=task_queue, workflows=WORKFLOWS, activities=acts,
                          activity_executor=pool, max_concurrent_activities=8):
            yield time_env.client, flaky
            await _terminate_running(time_env.client, db)


def _count(db: Database, model: type, *where: object) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


async def test_a_crashed_recording_retried_moves_stock_and_returns_goods_once(flaky_worker, db, task_queue):
    client, flaky = flaky_worker
    p = Platform(client, db, task_queue, id_prefix=f"{task_queue}/")
    sup, po = received_order(db, qty="10", price="18", received="10", sku="BLADE-SET")
    record_bill(db, bill_in(sup, po, "NW-CRASH", "10", "18", sku="BLADE-SET"), "BILL-C1")  # billed: a debit note
    with db.read() as s:
        lot = s.execute(select(QuarantineLot.number).where(QuarantineLot.order_number == po)).scalar_one()
        on_hand = stock.levels(s, "BLADE-SET")["on_hand"]
    handle = await client.start_workflow(Inspection.run, args=[lot, ""], id=ids.inspection(lot, p.id_prefix),
                                         task_queue=task_queue)
    for _ in range(200):
        with db.read() as s:
            if s.execute(select(QuarantineLot.process_id).where(QuarantineLot.number == lot)).scalar_one():
                break
        await asyncio.sleep(0.05)
    out = await inspection.record(p, actor(db, "ivan"), lot, rules.InspectionIn(
        accepted_qty=D(8), rejected_qty=D(2), reason="damaged"))
    assert flaky.attempts == [1, 2, 3]
    assert out.debit_note is not None and out.debited_qty == 2
    assert (await handle.result()).ncr == out.ncr
    with db.read() as s:
        levels = stock.levels(s, "BLADE-SET")
        assert levels["on_hand"] == on_hand + 8 and levels["quarantine"] == 0
        rec = cash.reconcile(s)
    assert rec.balanced, rec.rows
    assert _count(db, Nonconformance) == 1
    assert _count(db, Invoice, Invoice.credit_note.is_(True), Invoice.against_number == "BILL-C1") == 1
    assert _count(db, StockLedgerEntry, StockLedgerEntry.voucher_type == "purchase_return") == 1
