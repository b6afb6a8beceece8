"""The capacity pages over HTTP, without a browser (issue 20): a work centre's calendar and an item's routing are
edited in their forms (a routing on a work centre without a calendar, or a bad number, shows the reason with the
typed rows and stores nothing); the planning page and the load page show an overloaded week with its orders; carol
moves the order from the load page (or its own page) and the week is no longer overloaded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from api.starters import production_order
from domain.manufacturing.capacity_tables import RoutingOperation
from domain.org.people import Actor
from domain.production.tables import ProductionOrder
from tests.e2e.conftest import Stack
from tests.e2e.test_sales_pages import Browser, count, text

pytestmark = pytest.mark.e2e


async def test_calendar_routing_and_load_pages(stack: Stack) -> None:
    carol = await Browser(stack, "carol").start()
    r = await carol.get("/work-centres/ASSEMBLY/calendar")
    assert r.status_code == 200 and "40 h a week" in text(r), text(r)[:500]
    assert (await stack.as_("carol", "POST", "/api/work-centres",
                            json={"code": "E-PAGE", "name": "Cell", "hourly_cost": 30})).status_code == 201

    # A routing on E-PAGE (no calendar yet): refused with the reason, the rows as typed, nothing stored.
    ops_before = count(stack, RoutingOperation)
    form = {"seq_1": "10", "work_centre_1": "E-PAGE", "description_1": "Weld", "setup_hours_1": "1",
            "hours_per_unit_1": "0.5", "seq_2": "20", "work_centre_2": "", "description_2": "",
            "setup_hours_2": "", "hours_per_unit_2": ""}
    r = await carol.post("/routings/FAN-HOUSING", form)
    assert r.status_code == 422 and "work centre E-PAGE has no calendar" in text(r), text(r)[:800]
    assert 'value="Weld"' in r.text and count(stack, RoutingOperation) == ops_before
    r = await carol.post("/routings/FAN-HOUSING", {**form, "work_centre_1": "ASSEMBLY", "hours_per_unit_1": "abc"})
    assert r.status_code == 422 and "The hours per unit of operation 10" in text(r), text(r)[:800]

    # The calendar in its form: a bad number, then 4 h Monday to Friday.
    r = await carol.post("/work-centres/E-PAGE/calendar", {"mon": "25"})
    assert r.status_code == 422 and "nothing was changed" in text(r)
    r = await carol.post("/work-centres/E-PAGE/calendar", {"mon": "4", "tue": "4", "wed": "4", "thu": "4", "fri": "4"})
    assert r.status_code == 303, r.text
    assert "20 h a week" in text(await carol.get("/work-centres/E-PAGE/calendar"))
    week5 = {"mon": "4", "tue": "4", "wed": "4", "thu": "4", "fri": "4"}
    r = await carol.post("/work-centres/E-PAGE/calendar", {**week5, "day_1": "someday", "dhours_1": "0"})
    assert r.status_code == 422 and "The day of row 1 must be a date" in text(r), text(r)[:800]
    far = (datetime.now(UTC) + timedelta(weeks=20)).date()
    r = await carol.post("/work-centres/E-PAGE/calendar", {**week5, "day_1": str(far), "dhours_1": "0",
                                                           "reason_1": "stocktaking", "day_2": "", "dhours_2": ""})
    assert r.status_code == 303, text(r)[:800]
    page = await carol.get("/work-centres/E-PAGE/calendar")
    assert f'value="{far}"' in page.text and 'value="stocktaking"' in page.text
    r = await carol.post("/routings/FAN-HOUSING", form)
    assert r.status_code == 303, text(r)[:800]
    page = text(await carol.get("/routings/FAN-HOUSING"))
    assert "The routing of FAN-HOUSING is saved" in page

    # 30 housings in one week: 16 h of 20 (1 + 15). 60 more: overloaded.
    week = (datetime.now(UTC) - timedelta(days=datetime.now(UTC).weekday()) + timedelta(weeks=3)).date()
    made = await production_order.for_stock(stack.platform, Actor(username="carol", roles=["planner"]),
                                            "FAN-HOUSING", Decimal(70), week + timedelta(days=4))
    number = made["production_order_id"]
    planning = text(await carol.get("/planning"))
    assert "Overloaded: E-PAGE in" in planning and "36 / 20" in planning, planning[:2000]
    r = await carol.get("/planning/capacity?run=none")
    load = text(r)
    assert r.status_code == 200 and number in load and "overloaded by 16 h" in load, load[:2000]

    # An MRP run carries the overload among its exceptions.
    r = await carol.post("/planning/mrp-runs", {"form_token": ""})
    assert r.status_code == 303, text(r)[:800]
    run_page = text(await carol.get(r.headers["location"]))
    assert "capacity overload" in run_page and "E-PAGE is overloaded in week" in run_page, run_page[:3000]

    # Moves from the load page: a bad one shows why; a good one spreads its 36 h over three weeks.
    with stack.db.read() as s:
        release = s.execute(select(ProductionOrder.release_date).where(ProductionOrder.number == number)).scalar_one()
    r = await carol.post("/planning/capacity/move", {"number": number, "release_date": str(release),
                                                     "due_date": str(release - timedelta(days=1)), "run": "none"})
    assert r.status_code == 422 and "is after the due date" in text(r), text(r)[:800]
    r = await carol.post("/planning/capacity/move", {"number": number, "release_date": str(release),
                                                     "due_date": str(week + timedelta(days=19)), "run": "none"})
    assert r.status_code == 303, text(r)[:800]
    load = text(await carol.get("/planning/capacity?run=none"))
    assert f"{number} is moved" in load and "No work centre is loaded past its hours" in load, load[:2000]

    # ... and from the order's own page.
    r = await carol.post(f"/production-orders/{number}/reschedule", {"release_date": str(release),
                                                                     "due_date": str(week + timedelta(days=5))})
    assert r.status_code == 303, text(r)[:800]
    with stack.db.read() as s:
        assert s.execute(select(ProductionOrder.due_date).where(ProductionOrder.number == number)
                         ).scalar_one() == week + timedelta(days=5)
    assert "Move the order" in text(await carol.get(f"/production-orders/{number}"))

    # Who may not: alice sees no load (403), dave reads it but may not move.
    alice = await Browser(stack, "alice").start()
    assert (await alice.get("/planning/capacity")).status_code == 403
    dave = await Browser(stack, "dave").start()
    r = await dave.get("/planning/capacity")
    assert r.status_code == 200 and 'action="/planning/capacity/move"' not in r.text
    r = await dave.post("/planning/capacity/move", {"number": number, "release_date": str(release),
                                                    "due_date": str(week + timedelta(days=9))})
    assert r.status_code == 403
