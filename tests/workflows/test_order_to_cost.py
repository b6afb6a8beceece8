"""Order to production to cost on the time-skipping server, activities real against the database: a short
order → kitting → MRP → one batch of two production orders (one kitted, one backflush) and a purchase →
approval and receipt → progress → finished goods → delivery with cost and margin equal to the ledger."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from api.platform import Platform
from api.starters import order_fulfilment, production_order, purchase
from domain.accounting import ledger
from domain.accounting.tables import JournalEntry, JournalLine
from domain.approvals.tables import Task
from domain.cash.tables import Invoice
from domain.core.errors import Conflict, Forbidden, Invalid
from domain.inventory import stock
from domain.inventory.tables import Item, StockLedgerEntry
from domain.parties.tables import Customer
from domain.planning import services as planning
from domain.processes import ids
from domain.processes.tables import Process
from domain.production import rules as production
from domain.production import services as production_svc
from domain.production.tables import ProductionOrder
from domain.purchasing import services as purchasing_svc
from domain.purchasing.rules import ReceiptLineIn
from domain.purchasing.tables import PurchaseOrder
from domain.sales import services as sales_svc
from domain.sales.rules import OrderLineIn
from tests.helpers import actor, approve_chain, eventually
from tests.quality_steps import accept_all
from workflows.order_fulfilment import OrderFulfilment

FAN, HOUSING = "FAN-200", "FAN-HOUSING"


async def order_fans(p: Platform, db: Any, qty: str = "10", requested: date | None = None) -> str:
    with db.read() as s:
        globex = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
    out = await order_fulfilment.create(p, "alice", globex, [OrderLineIn(sku=FAN, qty=Decimal(qty),
                                                                   unit_price=Decimal("450"))], requested)
    return str(out["sales_order_id"])


def supply_of(number: str) -> Any:
    def check(s: Any) -> Any:
        found = production_svc.for_sales_order(s, number)
        return found if found["production_orders"] and found["purchase_orders"] else None
    return check


def mo_for(s: Any, so: str, sku: str) -> ProductionOrder:
    return s.execute(select(ProductionOrder).where(ProductionOrder.sales_order_number == so,
                                                   ProductionOrder.sku == sku)).scalar_one()


def status_of(so: str, sku: str, status: str) -> Any:
    return lambda s: mo_for(s, so, sku).status == status


def ledger_by_voucher(s: Any, voucher_no: str, account: str) -> Decimal:
    debit, credit = s.execute(
        select(func.coalesce(func.sum(JournalLine.debit), 0), func.coalesce(func.sum(JournalLine.credit), 0))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalEntry.voucher_no == voucher_no, JournalLine.account_code == account)).one()
    return Decimal(debit) - Decimal(credit)


async def test_a_short_order_is_planned_made_delivered_and_costed(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    so = await order_fans(p, db)
    with db.read() as s:
        kit = planning.order_kitting(s, so)
    # 5 fans reserved from stock; the other 5 lack 3 housings (built) and 1 blade set (bought).
    # 9: 5 reserved + 4 (the blade sets on hand; housings can be built from stock)
    assert kit["complete"] is False and kit["max_buildable"] == Decimal(9)
    by_sku = {ln["sku"]: ln for ln in kit["lines"]}
    assert by_sku["BLADE-SET"]["shortage"] == Decimal(1) and by_sku[HOUSING]["to_build"] == Decimal(3)

    supply = await eventually(db, supply_of(so))
    mos = {m["sku"]: m for m in supply["production_orders"]}
    assert set(mos) == {FAN, HOUSING} and mos[FAN]["qty"] == Decimal(5) and mos[HOUSING]["qty"] == Decimal(3)
    assert mos[FAN]["issue_method"] == "kitted" and mos[HOUSING]["issue_method"] == "backflush"
    [req] = supply["purchase_orders"]
    # The housing's kit is on hand: released at once; the fan waits for housings and a blade set.
    await eventually(db, status_of(so, HOUSING, "released"))
    fan = await eventually(db, lambda s: mo_for(s, so, FAN) if mo_for(s, so, FAN).wait_reason.startswith(
        "waiting for material") else None)
    assert "BLADE-SET short 1" in fan.wait_reason and "FAN-HOUSING short 3" in fan.wait_reason

    carol = actor(db, "carol")
    housing_no = mos[HOUSING]["id"]
    # Bad progress changes nothing: beyond the quantity, nothing at all, a fan not released yet, a stranger.
    with pytest.raises(Conflict, match="only 3 left"):
        await production_order.progress(p, carol, housing_no, production.ProgressIn(completed_qty=Decimal(4)))
    with pytest.raises(Conflict, match="not released"):
        await production_order.progress(p, carol, mos[FAN]["id"], production.ProgressIn(completed_qty=Decimal(1)))
    with pytest.raises(Forbidden):
        await production_order.progress(p, actor(db, "alice"), housing_no, production.ProgressIn(completed_qty=Decimal(1)))
    with pytest.raises(ValueError):
        production.ProgressIn(completed_qty=Decimal(0))

    # Backflush: each report consumes what the units made (good + scrap) need.
    with db.read() as s:
        sheet_before = stock.levels(s, "STEEL-SHEET")["on_hand"]
    # A report's good and scrapped units are at most what is left to make (3): 1 good + 1 scrapped, then 2 good.
    with pytest.raises(Invalid, match="4 units worked, but only 3 are left"):
        await production_order.progress(p, carol, housing_no, production.ProgressIn(completed_qty=Decimal(3),
                                                                         scrap_qty=Decimal(1)))
    st = await production_order.progress(p, carol, housing_no, production.ProgressIn(completed_qty=Decimal(1),
                                                                          labour_hours=Decimal("0.5"),
                                                                          scrap_qty=Decimal(1)))
    assert st.completed_qty == Decimal(1) and st.status == "released"
    with db.read() as s:
        assert stock.levels(s, "STEEL-SHEET")["on_hand"] == sheet_before - Decimal("4.2")  # 2 made × 2 × 1.05
        assert stock.levels(s, HOUSING)["on_hand"] == Decimal(3)  # 2 + 1 received
    st = await production_order.progress(p, carol, housing_no, production.ProgressIn(completed_qty=Decimal(2),
                                                                          labour_hours=Decimal("0.8")))
    assert st.status == "completed"
    with db.read() as s:
        h = mo_for(s, so, HOUSING)
        # 4 made in all (3 good + 1 scrapped): sheet need(4) = 8.4; wip emptied into 3 housings.
        assert stock.levels(s, "STEEL-SHEET")["on_hand"] == sheet_before - Decimal("8.4")
        assert h.wip_value == 0 and h.received_value == h.material_cost + h.labour_cost + h.overhead_cost
        assert h.labour_cost == Decimal("45.5000") and h.overhead_cost == Decimal("6.5000")  # 1.3 h × 35, × 5

    # The blade sets: the requisition's approval (frank, the planner's manager), then the goods.
    await approve_chain(p, db, req["requisition_id"], ["frank"])
    po = await eventually(db, lambda s: purchasing_svc.requisition(s, req["requisition_id"]).purchase_order_id)
    with db.read() as s:
        po_no = s.get(PurchaseOrder, po).number
    await purchase.receive(p, actor(db, "ivan"), po_no, [ReceiptLineIn(sku="BLADE-SET", qty=Decimal(20))])
    await accept_all(p, db, po_no)  # blade sets are inspected when they come in (issue 20)
    await eventually(db, status_of(so, FAN, "released"))
    fan_no = mos[FAN]["id"]
    with db.read() as s:
        f = mo_for(s, so, FAN)
        assert all(m.issued_qty == m.required_qty for m in f.materials)  # kitted: the whole kit at release
        assert f.material_cost > 0 and f.wip_value == f.material_cost

    with pytest.raises(Conflict, match="ready to deliver"):
        await order_fulfilment.deliver(p, actor(db, "ivan"), so)
    await production_order.progress(p, carol, fan_no, production.ProgressIn(completed_qty=Decimal(2), labour_hours=Decimal(2)))
    await production_order.progress(p, carol, fan_no, production.ProgressIn(completed_qty=Decimal(3), labour_hours=Decimal(3)))
    await eventually(db, lambda s: sales_svc.order(s, so).lines[0].reserved_qty == Decimal(10))
    state = await _wait_ready(p, db, so)
    assert state == "ready to deliver"
    assert await order_fulfilment.deliver(p, actor(db, "ivan"), so) == "completed"

    with db.read() as s:
        order = sales_svc.order(s, so)
        view = sales_svc.order_view(s, order)
        assert view["status"] == "completed"
        cost = view["cost"]
        assert cost["total"] == cost["material"] + cost["labour"] + cost["overhead"]
        # Equal to the ledger: revenue and cost of goods sold posted for this order.
        # Revenue is posted by the delivery's invoice (voucher: the invoice's number), cost of goods sold by the order.
        [inv] = s.execute(select(Invoice).where(Invoice.sales_order_number == so)).scalars().all()
        assert -ledger_by_voucher(s, inv.number, "4000") == view["revenue"] == Decimal(4500) == inv.total
        assert ledger_by_voucher(s, inv.number, "1100") == inv.total and ledger_by_voucher(s, so, "4000") == 0
        assert ledger_by_voucher(s, so, "5000") == cost["total"]
        assert view["margin"] == view["revenue"] - cost["total"]
        assert cost["labour"] == Decimal("45.5") + Decimal(200)  # housings 1.3 h × 35 + fans 5 h × 40
        tb = ledger.trial_balance(s)
        assert tb["debit_total"] == tb["credit_total"]
        wip = ledger_by_voucher(s, housing_no, "1300") + ledger_by_voucher(s, fan_no, "1300")
        assert wip == 0  # every cost that went into production came out as finished goods
        assert s.execute(select(func.min(StockLedgerEntry.on_hand_after))).scalar_one() >= 0
        customer = sales_svc.customer_summary(s, s.get(Customer, order.customer_id))
        assert customer["lifetime_margin"] == view["margin"]


async def _wait_ready(p: Platform, db: Any, so: str) -> str:
    def ready(s: Any) -> Any:
        return sales_svc.order(s, so).lines[0].reserved_qty == sales_svc.order(s, so).lines[0].qty
    await eventually(db, ready)
    handle = p.client.get_workflow_handle(ids.sales_order(so, p.id_prefix))
    for _ in range(100):
        status: str = await handle.query(OrderFulfilment.current_status)
        if status == "ready to deliver":
            return status
        await asyncio.sleep(0.05)
    return status


async def test_an_order_in_stock_is_delivered_at_once_and_a_cancel_after_supply_is_refused(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    so = await order_fans(p, db, "2")
    assert await _wait_ready(p, db, so) == "ready to deliver"
    with pytest.raises(Forbidden):
        await order_fulfilment.deliver(p, actor(db, "bob"), so)  # neither warehouse nor the salesperson
    assert await order_fulfilment.deliver(p, actor(db, "alice"), so) == "completed"
    with pytest.raises(Conflict):
        await order_fulfilment.deliver(p, actor(db, "alice"), so)
    short = await order_fans(p, db, "10")
    await eventually(db, supply_of(short))
    handle = p.client.get_workflow_handle(ids.sales_order(short, p.id_prefix))
    with pytest.raises(Conflict, match="under way"):
        await p.update(handle, OrderFulfilment.cancel, actor(db, "alice"))


async def test_late_production_alerts_the_planner_and_tells_the_salesperson(worker, db, task_queue, time_env):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    requested = datetime.now(UTC).date() + timedelta(days=10)
    so = await order_fans(p, db, "10", requested)
    await eventually(db, supply_of(so))
    housing = await eventually(db, lambda s: mo_for(s, so, HOUSING) if mo_for(s, so, HOUSING).status == "released"
                               else None)
    await time_env.sleep(timedelta(days=12))
    tasks = await eventually(db, lambda s: s.execute(select(Task).where(Task.business_key == housing.number,
                                                                        Task.status == "open")).scalars().all())
    kinds = {(t.kind, t.candidate_role or t.candidate_user) for t in tasks}
    assert ("alert", "planner") in kinds and ("notice", "alice") in kinds
    with db.read() as s:
        assert "is late" in sales_svc.order(s, so).notice
    await production_order.progress(p, actor(db, "carol"), housing.number, production.ProgressIn(completed_qty=Decimal(3)))
    await eventually(db, lambda s: not s.execute(select(Task).where(Task.business_key == housing.number,
                                                                    Task.status == "open")).first())


async def test_a_change_request_applies_only_once_approved(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    so = await order_fans(p, db)
    await eventually(db, supply_of(so))
    fan = await eventually(db, lambda s: mo_for(s, so, FAN))
    carol = actor(db, "carol")
    with pytest.raises(Forbidden):
        await production_order.request_change(p, actor(db, "alice"), fan.number,
                                          production.ChangeIn(qty=Decimal(6), reason="more"))
    with pytest.raises(ValueError, match="a new quantity or a new due date"):
        production.ChangeIn(reason="nothing to change")
    with pytest.raises(Invalid, match="no manager"):  # admin may ask, but nobody could approve it: refused ...
        await production_order.request_change(p, actor(db, "admin"), fan.number,
                                              production.ChangeIn(qty=Decimal(7), reason="round up"))
    # ... and it leaves no change open behind it: carol's is taken (it was refused as a second change)
    assert await production_order.request_change(p, carol, fan.number, production.ChangeIn(
        qty=Decimal(6), reason="customer may add one")) == "pending_approval"
    with pytest.raises(Conflict, match="already has a change"):
        await production_order.request_change(p, carol, fan.number, production.ChangeIn(due_date=date(2027, 1, 4),
                                                                                 reason="later"))
    with db.read() as s:
        assert mo_for(s, so, FAN).qty == Decimal(5)  # not before approval
    await approve_chain(p, db, fan.number, ["frank"])
    await eventually(db, lambda s: mo_for(s, so, FAN).qty == Decimal(6))
    with db.read() as s:
        motor = next(m for m in mo_for(s, so, FAN).materials if m.sku == "MOTOR-200W")
        assert motor.required_qty == Decimal(6)



async def test_planning_that_cannot_be_done_says_why_and_the_order_can_still_be_cancelled(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    with db.write() as s:
        stock.item_by_sku(s, "BLADE-SET").default_supplier_id = None  # MRP would buy it from nobody
        s.add(Item(sku="FAN-300", name="Fan without a BOM", kind="manufactured"))
    with db.read() as s:
        globex = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
    with pytest.raises(Invalid, match="FAN-300 is manufactured but has no BOM"):
        await order_fulfilment.create(p, "alice", globex, [OrderLineIn(sku="FAN-300", qty=Decimal(1),
                                                                 unit_price=Decimal(1))], None)
    so = await order_fans(p, db)
    pid = ids.sales_order(so, p.id_prefix)
    proc = await eventually(db, lambda s: s.get(Process, pid) if s.get(Process, pid).stage == "planning failed"
                            else None)
    assert "BLADE-SET, which has no default supplier" in proc.steps[-1].detail
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(ProductionOrder)).scalar_one() == 0
    handle = p.client.get_workflow_handle(pid)
    assert await p.update(handle, OrderFulfilment.cancel, actor(db, "alice")) == "cancelled"
    with db.read() as s:
        assert stock.levels(s, FAN)["reserved"] == 0


async def test_supply_arriving_after_release_leaves_the_order_working(worker, db, task_queue):
    """The blade sets arrive while the housings are in production: their order keeps taking progress."""
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    so = await order_fans(p, db)
    supply = await eventually(db, supply_of(so))
    housing = await eventually(db, lambda s: mo_for(s, so, HOUSING) if mo_for(s, so, HOUSING).status == "released"
                               else None)
    [req] = supply["purchase_orders"]
    await approve_chain(p, db, req["requisition_id"], ["frank"])
    po = await eventually(db, lambda s: purchasing_svc.requisition(s, req["requisition_id"]).purchase_order_id)
    with db.read() as s:
        po_no = s.get(PurchaseOrder, po).number
    await purchase.receive(p, actor(db, "ivan"), po_no, [ReceiptLineIn(sku="BLADE-SET", qty=Decimal(20))])
    await accept_all(p, db, po_no)  # blade sets are inspected when they come in (issue 20)
    st = await production_order.progress(p, actor(db, "carol"), housing.number, production.ProgressIn(completed_qty=Decimal(3)))
    assert st.status == "completed"
    await eventually(db, status_of(so, FAN, "released"))


async def test_a_second_order_does_not_count_on_what_the_first_ones_production_needs(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    first = await order_fans(p, db)
    await eventually(db, supply_of(first))
    second = await order_fans(p, db, "4")
    # The 3 housings being made are for the first order's fans (and its 2 housings on hand too):
    # the second order needs its own.
    mo = await eventually(db, lambda s: s.execute(select(ProductionOrder).where(
        ProductionOrder.sales_order_number == second, ProductionOrder.sku == HOUSING)).scalar_one_or_none())
    assert mo.qty == Decimal(4)
