"""Kitting and MRP over the database (demo company): open orders in priority order, what one order
still lacks after its reservations, a stored run that plans the demo's two-level fan."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from sqlalchemy import func, select, update

from domain.core.db import Database
from domain.inventory import stock
from domain.inventory.tables import Item
from domain.parties.tables import Customer
from domain.planning import services as planning
from domain.planning.tables import MrpRun
from domain.production.tables import ProductionOrder
from domain.purchasing.tables import PurchaseRequisition
from domain.sales import rules as sales
from domain.sales import services as sales_svc

AS_OF = date(2026, 11, 23)


def order(db: Database, number: str, qty: str, requested: date | None, reserve: bool = True) -> None:
    with db.write() as s:
        globex = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
        ref = sales.OrderRef(number=number, owner="alice", customer_id=globex, requested_date=requested,
                             lines=[sales.OrderLineIn(sku="FAN-200", qty=D(qty), unit_price=D(450))])
        row = sales_svc.record_direct_order(s, ref, f"p-{number}")
        row.status = "open"
        if reserve:
            sales_svc.reserve_order(s, number, f"p-{number}:reserve")


def test_one_order_is_kitted_for_what_its_reservation_leaves(db: Database) -> None:
    order(db, "SO-1", "10", date(2026, 12, 10))
    with db.read() as s:
        kit = planning.order_kitting(s, "SO-1")
    lines = {ln["sku"]: ln for ln in kit["lines"]}
    assert kit["complete"] is False
    assert lines["FAN-200"]["reserved"] == D(5) and lines["FAN-200"]["required"] == D(5)
    assert lines["FAN-HOUSING"]["allocated"] == D(2) and lines["FAN-HOUSING"]["to_build"] == D(3)
    assert lines["BLADE-SET"]["shortage"] == D(1)
    assert kit["max_buildable"] == D(9)


def test_an_earlier_order_takes_the_stock_first(db: Database) -> None:
    order(db, "SO-1", "10", date(2026, 12, 10))
    order(db, "SO-2", "3", date(2026, 12, 1), reserve=False)  # asked for earlier: first in line
    with db.read() as s:
        late = planning.order_kitting(s, "SO-1")
        every = planning.all_kitting(s)
    assert [k["sales_order_id"] for k in every] == ["SO-2", "SO-1"]
    assert every[0]["complete"] is True
    # SO-2's 3 fans take 3 of the 4 blade sets: SO-1 is short of 4 now, not 1.
    assert {ln["sku"]: ln["shortage"] for ln in late["lines"]}["BLADE-SET"] == D(4)
    assert {x["sku"]: x["shortage"] for x in every[1]["shortages"]}["BLADE-SET"] == D(4)


def test_mrp_for_one_order_plans_both_levels_and_is_stored(db: Database) -> None:
    order(db, "SO-1", "10", date(2026, 12, 10))
    with db.write() as s:
        run = planning.plan_for_order(s, "SO-1", as_of=AS_OF, actor="carol")
        view = planning.run_view(planning.get_run(s, run.number))
    planned = {(p["sku"], p["kind"]): p for p in view["planned_orders"]}
    assert set(planned) == {("FAN-200", "production"), ("FAN-HOUSING", "production"), ("BLADE-SET", "purchase")}
    assert planned[("FAN-200", "production")]["qty"] == "5"
    assert planned[("FAN-200", "production")]["release_date"] == "2026-12-07"  # 3 days' lead time
    assert planned[("FAN-HOUSING", "production")]["qty"] == "3"
    assert planned[("BLADE-SET", "purchase")]["qty"] == "20"  # 1 short → minimum 20, multiple of 10
    assert all(p["pegged_to"] == ["SO-1"] for p in view["planned_orders"])
    with db.read() as s:
        # A run plans; it creates no orders.
        assert s.execute(select(func.count()).select_from(ProductionOrder)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(PurchaseRequisition)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(MrpRun)).scalar_one() == 1


def test_a_what_if_run_takes_explicit_demand_and_receipts(db: Database) -> None:
    with db.write() as s:
        demand, receipts = planning.check_what_if(
            [{"sku": "BLADE-SET", "qty": D(30), "due_date": date(2026, 12, 20)}],
            [{"sku": "BLADE-SET", "qty": D(20), "due_date": date(2026, 12, 15)}], AS_OF)
        result = planning.mrp(s, as_of=AS_OF, demand=demand, receipts=receipts)
    # 4 on hand + 20 coming = 24 of 30: 6 short → the minimum of 20.
    assert [(p.sku, p.qty) for p in result.planned_orders] == [("BLADE-SET", D(20))]


def test_items_counted_in_whole_units_are_planned_in_whole_units(db: Database) -> None:
    """Bolts (ea) needed with 2 % scrap are planned as whole bolts; steel sheet (m²) keeps its fraction."""
    with db.write() as s:
        s.execute(update(Item).where(Item.sku == "BOLT-M8").values(min_order_qty=D(0), order_multiple=D(0),
                                                                   safety_stock=D(0)))
        s.execute(update(Item).where(Item.sku == "STEEL-SHEET").values(min_order_qty=D(0), order_multiple=D(0),
                                                                       safety_stock=D(0)))
        on_hand = {sku: stock.levels(s, sku)["on_hand"] for sku in ("BOLT-M8", "STEEL-SHEET")}
        demand, receipts = planning.check_what_if(
            [{"sku": "BOLT-M8", "qty": on_hand["BOLT-M8"] + D("40.8"), "due_date": date(2026, 12, 20)},
             {"sku": "STEEL-SHEET", "qty": on_hand["STEEL-SHEET"] + D("6.3"), "due_date": date(2026, 12, 20)}],
            [], AS_OF)
        result = planning.mrp(s, as_of=AS_OF, demand=demand, receipts=receipts)
    planned = {p.sku: p.qty for p in result.planned_orders}
    assert planned == {"BOLT-M8": D(41), "STEEL-SHEET": D("6.3")}
