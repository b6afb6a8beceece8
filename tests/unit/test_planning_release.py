"""Batch release of a stored MRP run, below the process: planned order ids, what a release may take (refusals
that store nothing), the claim (once per planned order, ever) and each step made once however often it runs."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select, update

from domain.core.db import Database
from domain.core.errors import Conflict, Invalid, NotFound
from domain.inventory.tables import Item
from domain.parties.tables import Customer
from domain.planning import release
from domain.planning import services as planning
from domain.planning.release_rules import MAX_RELEASE, check_releasable, positions, totals
from domain.planning.release_tables import PlannedOrderRelease
from domain.processes.tables import Process
from domain.production import making
from domain.production.tables import ProductionOrder
from domain.sales import rules as sales
from domain.sales import services as sales_svc

AS_OF = date(2026, 11, 23)


def open_orders(db: Database, n: int = 4, qty: str = "10", start: date = date(2026, 12, 10)) -> list[str]:
    """`n` open sales orders of FAN-200 a week apart, recorded without their processes: demand MRP plans for."""
    numbers = []
    with db.write() as s:
        globex = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
        for i in range(n):
            number = f"SO-9{i:03d}"
            ref = sales.OrderRef(number=number, owner="alice", customer_id=globex,
                                 requested_date=start + timedelta(weeks=i),
                                 lines=[sales.OrderLineIn(sku="FAN-200", qty=D(qty), unit_price=D(450))])
            sales_svc.record_direct_order(s, ref, f"p-{number}").status = "open"
            numbers.append(number)
    return numbers


def stored_run(db: Database, what_if: bool = False) -> str:
    with db.write() as s:
        if what_if:
            return planning.run_what_if(s, as_of=AS_OF, demand=[{"sku": "FAN-200", "qty": D(3), "due_date": date(
                2026, 12, 20)}], receipts=None, actor="carol").number
        return planning.run_open_orders(s, as_of=AS_OF, actor="carol").number


def count(db: Database, model: type) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


# --- pure rules -------------------------------------------------------------------------------------------

def test_planned_order_ids_name_their_run_and_position() -> None:
    assert positions("MRP-00003", ["MRP-00003-2", " MRP-00003-10 "], 12) == [2, 10]
    with pytest.raises(Invalid, match="MRP-00002-1 is of run MRP-00002, not of run MRP-00003"):
        positions("MRP-00003", ["MRP-00002-1"], 12)
    with pytest.raises(NotFound, match="has no planned order MRP-00003-13: its planned orders are MRP-00003-1 to"):
        positions("MRP-00003", ["MRP-00003-13"], 12)
    for bad in ("7", "MRP-00003-0", "MRP-00003-x", "", "MRP-00003-01"):
        with pytest.raises(Invalid, match="is not a planned order id"):
            positions("MRP-00003", [bad], 12)
    with pytest.raises(Invalid, match="named twice"):
        positions("MRP-00003", ["MRP-00003-1", "MRP-00003-1"], 12)


def test_what_a_release_may_take() -> None:
    assert check_releasable("R", what_if=False, count=3, asked=None, released={2: "MO-1"}) == [1, 3]
    assert check_releasable("R", what_if=False, count=3, asked=[3, 1], released={}) == [3, 1]
    with pytest.raises(Conflict, match="what-if run"):
        check_releasable("R", what_if=True, count=3, asked=None, released={})
    with pytest.raises(Conflict, match="planned nothing"):
        check_releasable("R", what_if=False, count=0, asked=None, released={})
    with pytest.raises(Conflict, match=r"already released, nothing more is created: R-2 \(as MO-1\), R-3 \(being made\)"):
        check_releasable("R", what_if=False, count=3, asked=[1, 2, 3], released={2: "MO-1", 3: None})
    with pytest.raises(Conflict, match="every planned order of run R is already released"):
        check_releasable("R", what_if=False, count=1, asked=None, released={1: "PR-1"})
    with pytest.raises(Invalid, match="at least one"):
        check_releasable("R", what_if=False, count=1, asked=[], released={})
    with pytest.raises(Invalid, match=f"at most {MAX_RELEASE}"):
        check_releasable("R", what_if=False, count=MAX_RELEASE + 1, asked=None, released={})


def test_totals_per_kind() -> None:
    t = totals([{"kind": "production", "qty": "5", "value": D("1600.00")},
                {"kind": "production", "qty": "2.5", "value": D(800)}, {"kind": "purchase", "qty": "20"}])
    assert t == {"production": {"count": 2, "qty": D("7.5"), "value": D("2400.00")},
                 "purchase": {"count": 1, "qty": D(20), "value": D(0)}}


# --- over the database ------------------------------------------------------------------------------------

def test_a_stored_run_names_each_planned_order(db: Database) -> None:
    open_orders(db)
    run = stored_run(db)
    with db.read() as s:
        view = release.run_view(s, run)
    planned = view["planned_orders"]
    assert len(planned) >= 12  # four orders a week apart: fans, housings and their purchases
    assert [p["id"] for p in planned] == [f"{run}-{n}" for n in range(1, len(planned) + 1)]
    assert all(p["released_as"] is None for p in planned)
    with db.read() as s:  # stored with the run, not made up when shown
        stored = planning.get_run(s, run).result["planned_orders"]
    assert [p["id"] for p in stored] == [p["id"] for p in planned]


def _release(db: Database, run: str, ids: list[str] | None, pid: str = "tq/mrp-release-REL-00001"
             ) -> release.ReleasePlan:
    with db.write() as s:
        req = release.allocate(s, run, ids, "carol")
    with db.write() as s:
        plan = release.claim(s, req, pid)
    for n in plan.production:
        with db.write() as s:
            release.make_production(s, req, n, pid, "tq/")
    for seq, group in enumerate(plan.purchases, 1):
        with db.write() as s:
            release.make_requisition(s, req, group, pid, "tq/", seq)
    with db.write() as s:
        release.finish(s, req, pid)
    return plan


def test_a_release_makes_each_planned_order_once_and_says_what_it_became(db: Database) -> None:
    open_orders(db)
    run = stored_run(db)
    with db.read() as s:
        planned = release.run_view(s, run)["planned_orders"]
    making_ = [p for p in planned if p["kind"] == "production"]
    plan = _release(db, run, None)
    assert plan.total == len(planned) and len(plan.production) == len(making_)
    assert count(db, ProductionOrder) == len(making_)
    with db.read() as s:
        view = release.run_view(s, run)
        orders = {o.number: o for o in s.execute(select(ProductionOrder)).scalars()}
        proc = s.get(Process, "tq/mrp-release-REL-00001")
    for p in view["planned_orders"]:
        assert p["released_as"] and p["released_as"].startswith("MO-" if p["kind"] == "production" else "PR-")
        if p["kind"] == "production":
            mo = orders[p["released_as"]]
            assert (mo.sku, mo.qty, mo.due_date.isoformat()) == (p["sku"], D(p["qty"]), p["due_date"])
            assert mo.process_id == f"tq/production-order-{mo.number}"
    # one requisition per default supplier, the purchases of a supplier sharing it
    by_supplier = {}
    with db.read() as s:
        suppliers = {r.sku: r.default_supplier_id for r in s.execute(select(Item.sku, Item.default_supplier_id))}
    for p in view["planned_orders"]:
        if p["kind"] == "purchase":
            by_supplier.setdefault(suppliers[p["sku"]], set()).add(p["released_as"])
    assert all(len(prs) == 1 for prs in by_supplier.values())
    assert len({pr for prs in by_supplier.values() for pr in prs}) == len(plan.purchases)
    assert proc is not None and proc.status == "completed" and proc.steps[-1].detail.startswith(
        f"{len(planned)} of {len(planned)} created")

    # A second release of any of them creates nothing.
    with db.write() as s, pytest.raises(Conflict, match=f"already released.*{run}-1 \\(as "):
        release.allocate(s, run, [f"{run}-1"], "carol")
    with db.write() as s, pytest.raises(Conflict, match="every planned order"):
        release.allocate(s, run, None, "carol")
    assert count(db, ProductionOrder) == len(making_)


def test_every_step_run_again_finds_what_it_made(db: Database) -> None:
    """A retried activity (its first reply lost after the commit) makes nothing twice."""
    open_orders(db, 2)
    run = stored_run(db)
    pid = "tq/mrp-release-REL-00001"
    with db.write() as s:
        req = release.allocate(s, run, None, "carol")
    plans = []
    for _ in range(2):
        with db.write() as s:
            plans.append(release.claim(s, req, pid))
    assert plans[0] == plans[1]
    refs = []
    for _ in range(2):
        with db.write() as s:
            refs.append(release.make_production(s, req, plans[0].production[0], pid, "tq/"))
    assert refs[0] == refs[1]
    drafts = []
    for _ in range(2):
        with db.write() as s:
            drafts.append(release.make_requisition(s, req, plans[0].purchases[0], pid, "tq/", 1))
    assert drafts[0] == drafts[1]
    assert count(db, ProductionOrder) == 1
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(PlannedOrderRelease)).scalar_one() == plans[0].total


def test_refusals_store_nothing(db: Database) -> None:
    open_orders(db)
    run = stored_run(db)
    what_if = stored_run(db, what_if=True)
    with db.read() as s:
        planned = release.run_view(s, run)["planned_orders"]
    buy = next(p for p in planned if p["kind"] == "purchase")
    cases = [(run, [f"{what_if}-1"], Invalid, f"is of run {what_if}"), ("MRP-99999", None, NotFound, "no MRP run"),
             (run, [f"{run}-999"], NotFound, "has no planned order"), (what_if, None, Conflict, "what-if run"),
             (run, [], Invalid, "at least one")]
    for number, ids, kind, words in cases:
        with db.write() as s, pytest.raises(kind, match=words):
            release.allocate(s, number, ids, "carol")
    with db.write() as s:
        s.execute(update(Item).where(Item.sku == buy["sku"]).values(default_supplier_id=None))
    with db.write() as s, pytest.raises(Invalid, match=f"{buy['sku']} has no default supplier"):
        release.allocate(s, run, [buy["id"]], "carol")
    assert count(db, PlannedOrderRelease) == 0 and count(db, ProductionOrder) == 0


def test_a_run_made_for_one_sales_order_is_not_released(db: Database) -> None:
    """Its order's process creates what it needs (create_supply): a release would order it twice."""
    [so, *_] = open_orders(db, 1)
    with db.write() as s:
        run = planning.plan_for_order(s, so, as_of=AS_OF, actor="system").number
    with db.write() as s, pytest.raises(Conflict, match=f"made for sales order {so} by its process"):
        release.allocate(s, run, None, "carol")
    assert count(db, PlannedOrderRelease) == 0


def test_a_release_racing_another_is_refused_at_its_claim(db: Database) -> None:
    open_orders(db, 1)
    run = stored_run(db)
    with db.write() as s:
        first = release.allocate(s, run, [f"{run}-1"], "carol")
    with db.write() as s:
        second = release.allocate(s, run, [f"{run}-1", f"{run}-2"], "carol")  # checked before the first claims
    with db.write() as s:
        release.claim(s, first, "tq/mrp-release-1")
    with db.write() as s, pytest.raises(Conflict, match=f"{run}-1 \\(being made\\)"):
        release.claim(s, second, "tq/mrp-release-2")
    assert count(db, PlannedOrderRelease) == 1  # the second claimed nothing, not even its other planned order


def test_an_order_for_stock_is_checked_before_it_is_numbered(db: Database) -> None:
    today = date(2026, 11, 23)
    with db.write() as s:
        ref = making.plan_for_stock(s, sku="FAN-200", qty=D(5), due_date=date(2026, 12, 20), today=today,
                                    planner="carol")
    assert ref.to_stock and ref.release_date == date(2026, 12, 17) and ref.issue_method == "kitted"
    with db.write() as s:
        making.record_for_stock(s, ref, f"tq/production-order-{ref.number}")
        making.record_for_stock(s, ref, f"tq/production-order-{ref.number}")  # retried: once
    with db.read() as s:
        [mo] = s.execute(select(ProductionOrder)).scalars()
    assert (mo.number, mo.sales_order_number, mo.pegged_to, len(mo.materials)) == (ref.number, None, "stock", 5)
    for sku, qty, due, words in [("BLADE-SET", "5", date(2026, 12, 20), "bought, not made"),
                                 ("NOPE", "5", date(2026, 12, 20), "unknown SKU"),
                                 ("FAN-200", "2.5", date(2026, 12, 20), "whole"),
                                 ("FAN-200", "5", date(2026, 11, 1), "in the past")]:
        with db.write() as s, pytest.raises((Invalid, NotFound), match=words):
            making.plan_for_stock(s, sku=sku, qty=D(qty), due_date=due, today=today, planner="carol")
    assert count(db, ProductionOrder) == 1
