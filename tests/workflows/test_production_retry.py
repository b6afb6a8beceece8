"""A crash at any point of the production path never issues, receives or posts twice.

Three ways in, as in test_activity_retry: the whole order-to-cost path on the time-skipping server with the
production activities crashing on their first attempts (before they ran, or after their transaction
committed: the reply lost); each activity run twice with the same arguments; and a crash in the middle of
an activity's transaction (a kill -9 during the issue or the receipt), which must leave nothing behind."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import all_activities
from activities.production import ProductionActivities
from activities.sales import SalesActivities
from api.platform import Platform
from api.starters import order_fulfilment, production_order, purchase
from domain.accounting import ledger
from domain.accounting.tables import JournalEntry
from domain.cash.tables import Invoice
from domain.core import records as common
from domain.core.db import Database
from domain.core.tables import IdempotencyRecord
from domain.inventory import stock
from domain.inventory.tables import StockLedgerEntry
from domain.parties import master
from domain.parties.tables import Customer
from domain.planning.tables import MrpRun
from domain.processes import ids
from domain.processes.tables import Process
from domain.production import rules
from domain.production import services as production_svc
from domain.production.tables import ProductionOrder
from domain.purchasing import rules as purchasing_rules
from domain.purchasing import services as purchasing_svc
from domain.purchasing.rules import ReceiptLineIn
from domain.purchasing.tables import PurchaseRequisition
from domain.sales import services as sales_svc
from domain.sales.delivery import DeliveryLineIn
from domain.sales.rules import OrderLineIn, OrderRef
from tests.conftest import terminate_processes
from tests.helpers import actor, approve_chain, eventually
from tests.quality_steps import accept_all
from tests.workflows.test_order_to_cost import (
    FAN,
    HOUSING,
    _wait_ready,
    ledger_by_voucher,
    mo_for,
    order_fans,
    status_of,
    supply_of,
)
from worker import RUNNER, WORKFLOWS
from workflows.production_order import ProductionOrder as ProductionOrderWorkflow

CRASHES = 2
CRASHING = ("create_supply", "try_release", "report_progress", "deliver", "deliver_part")
OPENING = {"STEEL-SHEET": Decimal(120), "BOLT-M8": Decimal(2000), "PAINT-RED": Decimal(40), "MOTOR-200W": Decimal(30),
           "BEARING-6204": Decimal(80), "BLADE-SET": Decimal(4), HOUSING: Decimal(2), FAN: Decimal(5)}
# What 10 fans take: 5 made (kitted) from 5 housings (3 made, backflushed: 4 made with the scrapped one).
USED = {"STEEL-SHEET": Decimal("8.4"), "BOLT-M8": Decimal(16) + Decimal("40.8"), "PAINT-RED": Decimal(1),
        "MOTOR-200W": Decimal(5), "BEARING-6204": Decimal(10), "BLADE-SET": Decimal(5), HOUSING: Decimal(5) - 3,
        FAN: Decimal(10) - 5}


def _name(fn: object) -> str:
    return getattr(fn, "__temporal_activity_definition").name


def _count(db: Database, model: type, *where: Any) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _entries(db: Database, voucher_no: str, voucher_type: str) -> list[tuple[str, Decimal]]:
    """(sku, qty) of the stock ledger entries of one document."""
    from domain.inventory.tables import Item
    with db.read() as s:
        return [(sku, qty) for sku, qty in s.execute(
            select(Item.sku, StockLedgerEntry.qty).join(Item, Item.id == StockLedgerEntry.item_id)
            .where(StockLedgerEntry.voucher_no == voucher_no, StockLedgerEntry.voucher_type == voucher_type)
            .order_by(StockLedgerEntry.id))]


def _on_hand(db: Database) -> dict[str, Decimal]:
    with db.read() as s:
        return {sku: stock.levels(s, sku)["on_hand"] for sku in OPENING}


def _balanced(db: Database) -> None:
    with db.read() as s:
        tb = ledger.trial_balance(s)
        assert tb["debit_total"] == tb["credit_total"]
        assert s.execute(select(func.min(StockLedgerEntry.on_hand_after))).scalar_one() >= 0


# --- the whole path with crashing activities ----------------------------------------------------------------

class CrashingProduction:
    """ProductionActivities whose create_supply, try_release, report_progress and deliver crash on their first
    CRASHES attempts of every call. `after_effect`: the crash strikes after the real activity committed."""

    def __init__(self, db: Database, after_effect: bool):
        self.real = ProductionActivities(db)
        self.after_effect = after_effect
        self.crashed: Counter[str] = Counter()

    def _call(self, name: str, fn: Any, *args: Any) -> Any:
        attempt = activity.info().attempt
        if attempt <= CRASHES:
            self.crashed[name] += 1
            if self.after_effect:
                fn(*args)
            raise RuntimeError(f"simulated crash of {name} on attempt {attempt}")
        return fn(*args)

    def activities(self) -> list[Any]:
        real = self.real

        @activity.defn(name="create_supply")
        def create_supply(number: str, run_id: str, process_id: str, id_prefix: str
                          ) -> tuple[list[rules.ProductionRef], list[purchasing_rules.RequisitionDraft]]:
            return self._call("create_supply", real.create_supply, number, run_id, process_id,  # type: ignore[no-any-return]
                              id_prefix)

        @activity.defn(name="try_release")
        def try_release(number: str, key: str) -> rules.ReleaseOutcome:
            return self._call("try_release", real.try_release, number, key)  # type: ignore[no-any-return]

        @activity.defn(name="report_progress")
        def report_progress(number: str, progress: rules.ProgressIn, actor: str, key: str) -> rules.ProductionState:
            return self._call("report_progress", real.report_progress, number, progress,  # type: ignore[no-any-return]
                              actor, key)

        @activity.defn(name="deliver")
        def deliver(number: str, process_id: str, actor: str) -> rules.Delivered:
            return self._call("deliver", real.deliver, number, process_id, actor)  # type: ignore[no-any-return]

        @activity.defn(name="deliver_part")
        def deliver_part(number: str, process_id: str, actor: str, lines: list[DeliveryLineIn] | None, on: date,
                         seq: int) -> rules.Delivered:
            return self._call("deliver_part", real.deliver_part, number, process_id, actor,  # type: ignore[no-any-return]
                              lines, on, seq)

        return [create_supply, try_release, report_progress, deliver, deliver_part]


@pytest_asyncio.fixture(params=[False, True], ids=["crash-before-commit", "crash-after-commit"])
async def crashing_worker(request, time_env: WorkflowEnvironment, db: Database, task_queue: str
                          ) -> AsyncIterator[tuple[Client, CrashingProduction]]:
    crashing = CrashingProduction(db, after_effect=request.param)
    acts = [a for a in all_activities(db) if _name(a) not in CRASHING] + crashing.activities()
    assert len(acts) == len(all_activities(db))
    with ThreadPoolExecutor(max_workers=8) as pool:
        async with Worker(time_env.client, task_queue=task_queue, workflows=WORKFLOWS, workflow_runner=RUNNER,
                          activities=acts, activity_executor=pool, max_concurrent_activities=8):
            yield time_env.client, crashing
            await terminate_processes(time_env.client, db)


async def test_order_to_cost_with_crashing_activities_issues_receives_and_posts_once(crashing_worker, db,
                                                                                      task_queue):
    client, crashing = crashing_worker
    p = Platform(client, db, task_queue, id_prefix=f"{task_queue}/")
    so = await order_fans(p, db)
    supply = await eventually(db, supply_of(so), limit=20)
    mos = {m["sku"]: m["id"] for m in supply["production_orders"]}
    [req] = supply["purchase_orders"]
    # One batch, however often create_supply ran: two production orders (and processes), one requisition.
    assert _count(db, ProductionOrder, ProductionOrder.sales_order_number == so) == 2
    assert _count(db, Process, Process.type == "production_order") == 2
    await eventually(db, lambda s: _count(db, PurchaseRequisition, PurchaseRequisition.sales_order_number == so),
                     limit=20)
    await _released(p, db, so, HOUSING)

    carol = actor(db, "carol")
    housing, fan = mos[HOUSING], mos[FAN]
    # A report's good and scrapped units are at most what is left to make: the scrap comes with the first one.
    await production_order.progress(p, carol, housing, rules.ProgressIn(completed_qty=Decimal(1), labour_hours=Decimal("0.5"),
                                                             scrap_qty=Decimal(1)))
    st = await production_order.progress(p, carol, housing, rules.ProgressIn(completed_qty=Decimal(2), labour_hours=Decimal("0.8")))
    assert st.status == "completed" and st.completed_qty == 3
    await approve_chain(p, db, req["requisition_id"], ["frank"])
    po = await eventually(db, lambda s: purchasing_svc.requisition(s, req["requisition_id"]).purchase_order_id,
                          limit=20)
    from domain.purchasing.tables import PurchaseOrder
    with db.read() as s:
        po_no = s.get(PurchaseOrder, po).number
    await purchase.receive(p, actor(db, "ivan"), po_no, [ReceiptLineIn(sku="BLADE-SET", qty=Decimal(20))])
    await accept_all(p, db, po_no)  # blade sets are inspected when they come in (issue 20)
    await _released(p, db, so, FAN)
    await production_order.progress(p, carol, fan, rules.ProgressIn(completed_qty=Decimal(2), labour_hours=Decimal(2)))
    await production_order.progress(p, carol, fan, rules.ProgressIn(completed_qty=Decimal(3), labour_hours=Decimal(3)))
    assert await _wait_ready(p, db, so) == "ready to deliver"
    assert await order_fulfilment.deliver(p, actor(db, "ivan"), so) == "completed"

    # every one of them did crash (but the whole-order deliver, which only processes from before partial deliveries
    # call: this one delivers through deliver_part, the goods, the note and the invoice in one transaction)
    assert set(crashing.crashed) == set(CRASHING) - {"deliver"}, crashing.crashed
    # Nothing doubled: the fan's kit once (one entry per component), the housing's backflush once per report,
    # finished goods once per report, one delivery.
    with db.read() as s:
        f = mo_for(s, so, FAN)
        assert all(m.issued_qty == m.required_qty for m in f.materials)
        kit = {m.sku: -m.required_qty for m in f.materials}
    assert sorted(_entries(db, fan, "production_issue")) == sorted(kit.items())
    assert len(_entries(db, housing, "production_issue")) == 2 * 3  # two reports × three components
    assert _entries(db, housing, "production_receipt") == [(HOUSING, Decimal(1)), (HOUSING, Decimal(2))]
    assert _entries(db, fan, "production_receipt") == [(FAN, Decimal(2)), (FAN, Decimal(3))]
    assert _entries(db, so, "delivery") == [(FAN, Decimal(-10))]
    assert _count(db, JournalEntry, JournalEntry.voucher_no == housing) == 2 + 2  # wip per report, receipts
    assert _count(db, JournalEntry, JournalEntry.voucher_no == fan) == 1 + 2 + 2  # kit, wip per report, receipts
    # Cost of goods sold under the order; revenue by its one invoice, once.
    assert _count(db, JournalEntry, JournalEntry.voucher_no == so, JournalEntry.voucher_type == "delivery") == 1
    assert _count(db, Invoice, Invoice.sales_order_number == so) == 1
    assert _count(db, ProductionOrder) == 2 and _count(db, PurchaseRequisition) == 1
    on_hand = _on_hand(db)
    assert on_hand == {sku: OPENING[sku] - USED[sku] + (20 if sku == "BLADE-SET" else 0) for sku in OPENING}
    with db.read() as s:
        view = sales_svc.order_view(s, sales_svc.order(s, so))
        assert ledger_by_voucher(s, so, "5000") == view["cost"]["total"]
        [inv] = s.execute(select(Invoice).where(Invoice.sales_order_number == so)).scalars().all()
        assert -ledger_by_voucher(s, inv.number, "4000") == view["revenue"] == Decimal(4500)
        assert ledger_by_voucher(s, housing, "1300") + ledger_by_voucher(s, fan, "1300") == 0
        assert view["cost"]["labour"] == Decimal("45.5") + Decimal(200)
    _balanced(db)


async def _released(p: Platform, db: Database, so: str, sku: str) -> None:
    """Released in the database, and in the process: after a crash that struck once the release committed,
    the process learns of it only when the retried activity answers (until then it refuses progress)."""
    await eventually(db, status_of(so, sku, "released"), limit=20)
    with db.read() as s:
        handle = p.client.get_workflow_handle(mo_for(s, so, sku).process_id)
    for _ in range(200):
        if await handle.query(ProductionOrderWorkflow.current_status) == "released":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the {sku} process never saw its release")


# --- each activity twice with the same arguments ---------------------------------------------------------

def _direct_order(db: Database, qty: str = "10") -> tuple[str, str]:
    """A recorded, reserved direct order for `qty` fans, as OrderFulfilment leaves it before planning."""
    with db.write() as s:
        number = common.next_number(s, "SO")
        globex = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
    lines = [OrderLineIn(sku=FAN, qty=Decimal(qty), unit_price=Decimal(450))]
    ref = OrderRef(number=number, owner="alice", customer_id=globex, lines=lines, total=Decimal(qty) * 450)
    pid = ids.sales_order(number)
    sales = SalesActivities(db)
    assert sales.record_direct_order(ref, pid).steps == []
    assert sales.reserve_sales_order(number, pid) == {FAN: f"{int(qty) - 5}"}
    return number, pid


def test_production_activities_twice_with_the_same_arguments_act_once(db):
    acts, sales = ProductionActivities(db), SalesActivities(db)
    so, pid = _direct_order(db)
    plans = [acts.plan_order(so, pid, date.today()) for _ in range(2)]
    assert plans[0] == plans[1] and plans[0].planned == 3
    assert _count(db, MrpRun) == 1

    supplies = [acts.create_supply(so, plans[0].run_id, pid, "") for _ in range(2)]
    assert supplies[0] == supplies[1]
    made, buys = supplies[0]
    assert sorted((r.sku, r.qty) for r in made) == [(FAN, 5), (HOUSING, 3)]
    assert [[(ln.sku, ln.qty) for ln in b.lines] for b in buys] == [[("BLADE-SET", 20)]]
    assert _count(db, ProductionOrder) == 2 and _count(db, Process, Process.type == "production_order") == 2
    mos = {r.sku: r.number for r in made}
    housing, fan = mos[HOUSING], mos[FAN]

    # The housing (backflush) is released with nothing issued; the fan waits for housings and a blade set.
    assert [acts.try_release(housing, f"{housing}:release") for _ in range(2)] == [
        rules.ReleaseOutcome(status=rules.ProductionStatus.RELEASED, wait_reason="")] * 2
    assert _entries(db, housing, "production_issue") == []
    waiting = acts.try_release(fan, f"{fan}:release")
    assert waiting.status == "waiting_material" and "BLADE-SET short 1" in waiting.wait_reason

    # One report, run twice: one backflush, one labour posting, one receipt.
    before = _on_hand(db)
    report = rules.ProgressIn(completed_qty=Decimal(3), labour_hours=Decimal("1.3"), scrap_qty=Decimal(1))
    states = [acts.report_progress(housing, report, "carol", f"{housing}:progress:1") for _ in range(2)]
    assert states[0] == states[1] and states[0].status == "completed"
    after = _on_hand(db)
    assert before["STEEL-SHEET"] - after["STEEL-SHEET"] == Decimal("8.4")
    assert after[HOUSING] - before[HOUSING] == 3
    assert len(_entries(db, housing, "production_issue")) == 3
    assert _entries(db, housing, "production_receipt") == [(HOUSING, Decimal(3))]
    assert _count(db, JournalEntry, JournalEntry.voucher_no == housing) == 2
    # A new report (another key) on the completed order is refused, and changes nothing.
    with pytest.raises(ApplicationError, match="completed"):
        acts.report_progress(housing, rules.ProgressIn(completed_qty=Decimal(1)), "carol", f"{housing}:progress:2")
    assert _on_hand(db) == after

    # The blade set arrives (a counted adjustment here); the fan's kit is issued once, however often released.
    with db.write() as s:
        master.adjust_stock(s, "BLADE-SET", Decimal(1), None, "found one", "ivan", "adjust:blade")
    before = _on_hand(db)
    released = [acts.try_release(fan, f"{fan}:release") for _ in range(2)]
    assert released == [rules.ReleaseOutcome(status=rules.ProductionStatus.RELEASED, wait_reason="")] * 2
    assert acts.try_release(fan, f"{fan}:release-again") == released[0]  # another key: released already
    with db.read() as s:
        f = production_svc.order(s, fan)
        kit = {m.sku: m.required_qty for m in f.materials}
        assert all(m.issued_qty == m.required_qty for m in f.materials)
        wip = f.wip_value
    assert sorted(_entries(db, fan, "production_issue")) == sorted((k, -q) for k, q in kit.items())
    assert _on_hand(db) == {k: v - kit.get(k, 0) for k, v in before.items()}
    assert _count(db, JournalEntry, JournalEntry.voucher_no == fan) == 1
    assert ledger_value(db, fan, "1300") == wip

    report = rules.ProgressIn(completed_qty=Decimal(5), labour_hours=Decimal(5))
    states = [acts.report_progress(fan, report, "carol", f"{fan}:progress:1") for _ in range(2)]
    assert states[0] == states[1] and states[0].status == "completed"
    assert _entries(db, fan, "production_receipt") == [(FAN, Decimal(5))]
    assert _count(db, JournalEntry, JournalEntry.voucher_no == fan) == 3  # kit, labour, receipt
    assert ledger_value(db, fan, "1300") == 0

    assert sales.reserve_sales_order(so, pid, 1) == {}
    delivered = [acts.deliver(so, pid, "ivan") for _ in range(2)]
    assert delivered[0] == delivered[1]
    assert _entries(db, so, "delivery") == [(FAN, Decimal(-10))]
    # Cost of goods sold under the order; revenue by its one invoice, once.
    assert _count(db, JournalEntry, JournalEntry.voucher_no == so, JournalEntry.voucher_type == "delivery") == 1
    assert _count(db, Invoice, Invoice.sales_order_number == so) == 1
    with db.read() as s:
        order = sales_svc.order(s, so)
        assert order.status == "completed" and order.margin == delivered[0].margin
        assert ledger_by_voucher(s, so, "5000") == order.cost_total == delivered[0].cost
        assert stock.levels(s, FAN)["on_hand"] == 0 and stock.levels(s, FAN)["reserved"] == 0
    _balanced(db)


def ledger_value(db: Database, voucher_no: str, account: str) -> Decimal:
    with db.read() as s:
        return ledger_by_voucher(s, voucher_no, account)


# --- a crash inside the transaction: nothing half done ---------------------------------------------------

class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


def test_a_crash_during_issue_or_receipt_leaves_nothing_behind(db, monkeypatch):
    acts = ProductionActivities(db)
    so, pid = _direct_order(db)
    run = acts.plan_order(so, pid, date.today()).run_id
    made, _ = acts.create_supply(so, run, pid, "")
    mos = {r.sku: r.number for r in made}
    housing, fan = mos[HOUSING], mos[FAN]
    acts.try_release(housing, f"{housing}:release")
    real_move = stock.move
    calls: Counter[str] = Counter()

    def dying_move(session: Any, sku: str, qty: Decimal, **kw: Any) -> Any:
        """Dies at the `die_at`-th move of its kind (after the moves before it were flushed)."""
        entry = real_move(session, sku, qty, **kw)
        calls[kw["voucher_type"]] += 1
        if calls[kw["voucher_type"]] == die_at.get(kw["voucher_type"]):
            raise Killed(f"killed after {kw['voucher_type']} of {sku}")
        return entry

    def snapshot() -> tuple[Any, ...]:
        with db.read() as s:
            mo = {r.number: (r.status, r.completed_qty, r.wip_value, r.material_cost, r.labour_cost,
                             tuple((m.sku, m.issued_qty) for m in r.materials))
                  for r in s.execute(select(ProductionOrder)).scalars()}
            return (mo, _on_hand(db), _count(db, StockLedgerEntry), _count(db, JournalEntry),
                    _count(db, IdempotencyRecord))

    monkeypatch.setattr(stock, "move", dying_move)
    # Backflush: killed after two of the three components were issued, then after the finished goods went in.
    report = rules.ProgressIn(completed_qty=Decimal(3), labour_hours=Decimal("1.3"), scrap_qty=Decimal(1))
    for die_at in ({"production_issue": 2}, {"production_receipt": 1}):
        calls.clear()
        before = snapshot()
        with pytest.raises(Killed):
            acts.report_progress(housing, report, "carol", f"{housing}:progress:1")
        assert snapshot() == before, die_at
    die_at = {}
    acts.report_progress(housing, report, "carol", f"{housing}:progress:1")  # the retry, once
    assert len(_entries(db, housing, "production_issue")) == 3
    assert _entries(db, housing, "production_receipt") == [(HOUSING, Decimal(3))]

    # Kitted: killed half-way through issuing the kit; the retry issues the whole kit once.
    with db.write() as s:
        master.adjust_stock(s, "BLADE-SET", Decimal(1), None, "found one", "ivan", "adjust:blade")
    die_at = {"production_issue": 3}
    calls.clear()
    before = snapshot()
    with pytest.raises(Killed):
        acts.try_release(fan, f"{fan}:release")
    assert snapshot() == before
    die_at = {}
    assert acts.try_release(fan, f"{fan}:release").status == "released"
    with db.read() as s:
        kit = {m.sku: m.required_qty for m in production_svc.order(s, fan).materials}
    assert sorted(_entries(db, fan, "production_issue")) == sorted((k, -q) for k, q in kit.items())

    # Delivery: killed after the goods left stock, before revenue was posted.
    acts.report_progress(fan, rules.ProgressIn(completed_qty=Decimal(5), labour_hours=Decimal(5)), "carol",
                         f"{fan}:progress:1")
    SalesActivities(db).reserve_sales_order(so, pid, 1)
    die_at = {"delivery": 1}
    before = snapshot()
    with pytest.raises(Killed):
        acts.deliver(so, pid, "ivan")
    assert snapshot() == before
    with db.read() as s:
        assert sales_svc.order(s, so).status == "in_fulfilment"
    die_at = {}
    acts.deliver(so, pid, "ivan")
    assert _entries(db, so, "delivery") == [(FAN, Decimal(-10))]
    # Cost of goods sold under the order; revenue by its one invoice, once.
    assert _count(db, JournalEntry, JournalEntry.voucher_no == so, JournalEntry.voucher_type == "delivery") == 1
    assert _count(db, Invoice, Invoice.sales_order_number == so) == 1
    _balanced(db)


# --- a released order told that supply arrived -------------------------------------------------------------

async def test_a_released_order_told_supply_arrived_still_takes_progress(worker, db, task_queue):
    """Supply arriving while an order is released already (the purchase received before the housings were
    made; or a signal during a retried release) must not spin the workflow: it would never answer again."""
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    so = await order_fans(p, db)
    await eventually(db, supply_of(so))
    housing = await eventually(db, lambda s: mo_for(s, so, HOUSING) if mo_for(s, so, HOUSING).status == "released"
                               else None)
    handle = worker.get_workflow_handle(housing.process_id)
    await handle.signal("supply_arrived")
    st = await production_order.progress(p, actor(db, "carol"), housing.number, rules.ProgressIn(completed_qty=Decimal(1)))
    assert st.completed_qty == 1 and st.status == "released"
    await handle.signal("supply_arrived")
    st = await production_order.progress(p, actor(db, "carol"), housing.number, rules.ProgressIn(completed_qty=Decimal(2)))
    assert st.status == "completed"
    assert await handle.result() == "completed"
