"""Capacity over the database (domain/manufacturing/routings.py, domain/planning/capacity_data.py,
domain/production/reschedule.py), on the demo company: calendars and routings saved whole or refused with a
sentence and nothing stored; the load of open and planned production orders; overloads as MRP exceptions; moving an
order."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from domain.audit.tables import AuditEntry
from domain.core.db import Database
from domain.core.errors import Conflict, Invalid, NotFound
from domain.inventory.tables import Item
from domain.manufacturing import boms, routings
from domain.manufacturing.capacity_tables import RoutingOperation, WorkCentreCalendar
from domain.manufacturing.rules import ItemFields, WorkCentreIn
from domain.parties import master
from domain.planning import capacity_data
from domain.planning import services as planning
from domain.planning.mrp import Demand
from domain.production import reschedule as moves
from domain.production.tables import ProductionOrder

MON = date(2027, 3, 1)  # a Monday


def routing(*ops: tuple[int, str, str, str]) -> routings.RoutingIn:
    return routings.RoutingIn(operations=[routings.OperationIn(seq=s, work_centre=wc, setup_hours=D(su),
                                                               hours_per_unit=D(hu)) for s, wc, su, hu in ops])


def test_the_demo_has_calendars_and_routings(db: Database) -> None:
    with db.read() as s:
        assert routings.calendar_view(s, "ASSEMBLY")["week_hours"] == D(40)
        ops = routings.routing_view(s, "FAN-200")["operations"]
    assert [(o["seq"], o["work_centre"], o["hours_per_unit"]) for o in ops] == [(10, "ASSEMBLY", D("0.75")),
                                                                                 (20, "ASSEMBLY", D("0.25"))]


@pytest.mark.parametrize(("ops", "words"), [
    ([(10, "PAINTSHOP", "0", "1")], "work centre PAINTSHOP has no calendar"),  # exists, no calendar
    ([(10, "NOWHERE", "0", "1")], "there is no work centre 'NOWHERE'"),
    ([(10, "ASSEMBLY", "0", "1"), (10, "ASSEMBLY", "1", "0")], "operation 10 is given twice"),
    ([(10, "ASSEMBLY", "0", "1"), (20, "PAINTSHOP", "0", "1"), (30, "NOWHERE", "0", "1")],
     "there is no work centre 'NOWHERE'; work centre PAINTSHOP has no calendar"),
])
def test_a_refused_routing_stores_nothing(db: Database, ops: list[tuple[int, str, str, str]], words: str) -> None:
    with db.write() as s:
        boms.create_work_centre(s, WorkCentreIn(code="PAINTSHOP", name="Paint", hourly_cost=D(30)))
    with db.read() as s:
        before = routings.routing_view(s, "FAN-200")["operations"]
    with pytest.raises(Invalid, match=words.replace("(", r"\(")), db.write() as s:
        routings.save_routing(s, "FAN-200", routing(*ops), actor="carol")
    with db.read() as s:
        assert routings.routing_view(s, "FAN-200")["operations"] == before


def test_routing_refusals_of_items(db: Database) -> None:
    with pytest.raises(Invalid, match="BLADE-SET is purchased"), db.write() as s:
        routings.save_routing(s, "BLADE-SET", routing((10, "ASSEMBLY", "1", "1")), actor="carol")
    with pytest.raises(NotFound, match="no item 'NOPE'"), db.write() as s:
        routings.save_routing(s, "NOPE", routing((10, "ASSEMBLY", "1", "1")), actor="carol")
    with pytest.raises(ValidationError, match="needs setup hours or hours per unit"):
        routing((10, "ASSEMBLY", "0", "0"))
    with pytest.raises(ValidationError, match="at least one weekday"):
        routings.CalendarIn()
    with pytest.raises(ValidationError):
        routings.CalendarIn(mon=D(25))


def test_a_calendar_then_a_routing_on_it_replaced_whole_and_audited(db: Database) -> None:
    with db.write() as s:
        boms.create_work_centre(s, WorkCentreIn(code="PAINTSHOP", name="Paint", hourly_cost=D(30)))
        cal = routings.save_calendar(s, "PAINTSHOP", routings.CalendarIn(mon=D(4), sat=D("2.5")), actor="carol")
    assert cal["week_hours"] == D("6.5") and cal["hours"]["sat"] == D("2.5")
    with db.write() as s:
        routings.save_routing(s, "FAN-HOUSING", routing((10, "FABRICATION", "0.5", "0.4"), (20, "PAINTSHOP", "0", "0.1")),
                              actor="carol")
    with db.write() as s:
        routings.save_routing(s, "FAN-HOUSING", routing((5, "PAINTSHOP", "1", "0")), actor="carol")
    with db.read() as s:
        assert [(o["seq"], o["work_centre"]) for o in routings.routing_view(s, "FAN-HOUSING")["operations"]] == [
            (5, "PAINTSHOP")]
        assert s.execute(select(func.count(RoutingOperation.id))).scalar_one() == 3  # FAN-200's 2 + this 1
        assert s.execute(select(func.count(WorkCentreCalendar.id))).scalar_one() == 3
        trail = [(a.entity, a.key, a.action) for a in s.execute(select(AuditEntry).where(
            AuditEntry.actor == "carol").order_by(AuditEntry.id)).scalars()]
    assert trail == [("work_centre", "PAINTSHOP", "calendar"), ("item", "FAN-HOUSING", "routing"),
                     ("item", "FAN-HOUSING", "routing")]


def test_an_mrp_run_carries_the_capacity_overload_of_next_months_fans(db: Database) -> None:
    """The demo's story: 50 FAN-200 wanted on the first of a month load ASSEMBLY 51 h in one week of 40."""
    as_of = MON - timedelta(days=20)
    with db.write() as s:
        result = planning.mrp(s, as_of=as_of, demand=[Demand("FAN-200", D(50) + D(10), MON, "FC 2027-03")])
        run = planning.store_run(s, result, as_of=as_of, scope="what-if", what_if=True, actor="carol")
        number, exceptions, count = run.number, run.result["exceptions"], run.exception_count
    over = [e for e in exceptions if e["kind"] == "capacity overload"]
    assert len(over) == 1 and count == len(exceptions)
    e = over[0]
    assert (e["reference"], e["date"], e["sku"], e["pegged_to"]) == ("ASSEMBLY", "2027-02-22", "FAN-200",
                                                                      [f"{number}-1"])
    assert "ASSEMBLY is overloaded in week 2027-W08" in e["message"] and "40 h available" in e["message"]
    with db.read() as s:
        view = capacity_data.load_view(s, as_of, number)
    cells = {(r["work_centre"], c["week"]): c for r in view["rows"] for c in r["cells"]}
    # The housings for those fans, made the days before, load FABRICATION within its 40 h.
    assert cells[("ASSEMBLY", "2027-W08")]["overloaded"] and not cells[("FABRICATION", "2027-W08")]["overloaded"]
    assert 0 < cells[("FABRICATION", "2027-W08")]["load"] < 40
    assert [o["work_centre"] for o in view["overloads"]] == ["ASSEMBLY"]
    with db.read() as s:  # open orders only: nothing planned, nothing loaded
        assert capacity_data.load_view(s, as_of, None)["overloads"] == []


def test_no_routing_no_capacity_exception(db: Database) -> None:
    with db.write() as s:
        for sku in ("FAN-200", "FAN-HOUSING"):
            routings.save_routing(s, sku, routings.RoutingIn(operations=[]), actor="carol")
        assert capacity_data.routings(s) == {}
        result = planning.mrp(s, as_of=MON, demand=[Demand("FAN-200", D(500), MON + timedelta(days=7), "x")])
        run = planning.store_run(s, result, as_of=MON, scope="what-if", what_if=True, actor="carol")
        assert not [e for e in run.result["exceptions"] if e["kind"] == "capacity overload"]


@pytest.mark.parametrize(("status", "release", "due", "err", "words"), [
    ("waiting_material", MON + timedelta(days=5), MON + timedelta(days=2), Invalid, "is after the due date"),
    ("waiting_material", MON - timedelta(days=9), MON - timedelta(days=1), Invalid, "is in the past"),
    ("completed", MON, MON + timedelta(days=2), Conflict, "only an open order can move"),
    ("released", MON + timedelta(days=1), MON + timedelta(days=3), Conflict, "only its due date can move"),
])
def test_moves_refused(status: str, release: date, due: date, err: type[Exception], words: str) -> None:
    with pytest.raises(err, match=words):
        moves.check_dates("MO-1", status, MON, moves.RescheduleIn(release_date=release, due_date=due), MON)


def test_a_released_order_moves_its_due_date_and_a_waiting_one_both() -> None:
    moves.check_dates("MO-1", "released", MON, moves.RescheduleIn(release_date=MON, due_date=MON + timedelta(days=9)),
                      MON)
    moves.check_dates("MO-1", "waiting_material", MON,
                      moves.RescheduleIn(release_date=MON + timedelta(days=7), due_date=MON + timedelta(days=9)), MON)


def test_moving_a_recorded_order_moves_its_load_once_per_key(db: Database) -> None:
    today = date.today()
    number = "MO-T0001"
    with db.write() as s:
        item = s.execute(select(Item).where(Item.sku == "FAN-200")).scalar_one()
        s.add(ProductionOrder(number=number, item_id=item.id, sku="FAN-200", qty=D(30), issue_method="kitted",
                              release_date=today, due_date=today + timedelta(days=3), planner="carol",
                              process_id="production-order-MO-T0001", idempotency_key="test:MO-T0001"))
    with db.read() as s:
        before = capacity_data.load_view(s, today, None)
    loaded = [c for r in before["rows"] if r["work_centre"] == "ASSEMBLY" for c in r["cells"]
              if any(o["reference"] == number for o in c["orders"])]
    assert sum(c["load"] for c in loaded) == D(31)  # 1 h setup + 30 × (0.75 + 0.25)
    target = today + timedelta(weeks=6)
    move = moves.RescheduleIn(release_date=target, due_date=target + timedelta(days=2), reason="level ASSEMBLY")
    with db.write() as s:
        st = moves.reschedule(s, number, move, actor="carol", today=today, key="k1")
    assert st.due_date == target + timedelta(days=2)
    with db.write() as s:  # the same key again: nothing more
        moves.reschedule(s, number, moves.RescheduleIn(release_date=target, due_date=target + timedelta(days=30)),
                         actor="carol", today=today, key="k1")
        assert s.execute(select(ProductionOrder.due_date).where(ProductionOrder.number == number)).scalar_one() == (
            target + timedelta(days=2))
        view = capacity_data.load_view(s, today, None)
        audit_rows = s.execute(select(AuditEntry).where(AuditEntry.entity == "production_order",
                                                        AuditEntry.key == number)).scalars().all()
    weeks = [c for r in view["rows"] if r["work_centre"] == "ASSEMBLY" for c in r["cells"]
             if any(o["reference"] == number for o in c["orders"])]
    assert weeks and all(c["week_start"] >= target - timedelta(days=6) for c in weeks)
    assert [a.action for a in audit_rows] == ["moved"] and audit_rows[0].after["reason"] == "level ASSEMBLY"


def test_capable_to_promise_waits_for_the_work_centre_the_open_orders_fill(db: Database) -> None:
    """A's promise asks capacity for items with a routing: with ASSEMBLY booked for four weeks by an open order, 20
    fans are promised after it, held up by ASSEMBLY; without that order, by their components' lead times."""
    from domain.planning import promising

    today = date.today()
    with db.read() as s:
        free = promising.promise(s, [("FAN-200", D(20))], as_of=today)[0]
    assert free.constraint.why != "capacity"
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=1)
    with db.write() as s:  # another item made on ASSEMBLY
        master.create_item(s, ItemFields(sku="T-PANEL", name="Panel", kind="manufactured").model_dump())
        routings.save_routing(s, "T-PANEL", routing((10, "ASSEMBLY", "1", "1")), actor="carol")
        item = s.execute(select(Item).where(Item.sku == "T-PANEL")).scalar_one()
        # 1 h setup + 199 h: every ASSEMBLY hour of this week's rest and the next four weeks, and more.
        s.add(ProductionOrder(number="MO-T0002", item_id=item.id, sku="T-PANEL", qty=D(199), issue_method="kitted",
                              release_date=today, due_date=monday + timedelta(weeks=4), planner="carol",
                              process_id="production-order-MO-T0002", idempotency_key="test:MO-T0002"))
    with db.read() as s:
        busy = promising.promise(s, [("FAN-200", D(20))], as_of=today)[0]
    assert busy.constraint.why == "capacity" and busy.constraint.reference == "ASSEMBLY", busy
    assert busy.promise_date >= monday + timedelta(weeks=4) > free.promise_date
    assert "work centre ASSEMBLY" in busy.constraint.text
