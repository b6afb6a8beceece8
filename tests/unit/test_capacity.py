"""Capacity (domain/planning/capacity.py): how load is spread over a calendar, overloads, and the finish date
capable-to-promise asks for."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from domain.planning.capacity import Calendar, CapacityModel, LoadOrder, Operation, spread, week_label, window

MON = date(2027, 1, 4)  # a Monday (ISO week 2027-W01)
FIVE_DAYS = Calendar("ASSEMBLY", (D(8), D(8), D(8), D(8), D(8), D(0), D(0)))
PAINT = Calendar("PAINT", (D(4), D(4), D(4), D(4), D(4), D(0), D(0)))
ROUTES = {"FAN-200": [Operation(10, "ASSEMBLY", D(2), D("0.5"))],
          "HOUSING": [Operation(10, "PAINT", D(0), D(1)), Operation(20, "ASSEMBLY", D(1), D("0.25"))]}


def model(*orders: LoadOrder, as_of: date = MON) -> CapacityModel:
    return CapacityModel({"ASSEMBLY": FIVE_DAYS, "PAINT": PAINT}, ROUTES, orders, as_of)


def test_hours_spread_over_the_working_days_of_the_window_and_add_up_exactly() -> None:
    got = spread(D(10), MON, MON + timedelta(days=6), FIVE_DAYS)
    assert got == {MON + timedelta(days=i): D(2) for i in range(5)}  # the weekend takes nothing
    odd = spread(D(1), MON, MON + timedelta(days=2), FIVE_DAYS)
    assert sum(odd.values()) == D(1) and odd[MON] == D("0.3333") and odd[MON + timedelta(days=2)] == D("0.3334")


def test_a_window_without_a_working_hour_takes_everything_on_its_first_day() -> None:
    sat = MON + timedelta(days=5)
    assert spread(D(7), sat, sat + timedelta(days=1), FIVE_DAYS) == {sat: D(7)}


@pytest.mark.parametrize(("release", "due", "expect"), [
    (MON, MON + timedelta(days=5), (MON, MON + timedelta(days=4))),  # up to the day before due
    (MON, MON, (MON, MON)),  # released and due the same day: that day
    (MON - timedelta(days=10), MON + timedelta(days=2), (MON, MON + timedelta(days=1))),  # no work in the past
    (MON - timedelta(days=10), MON - timedelta(days=1), (MON, MON)),  # past due: to be done now
])
def test_the_window_of_an_order(release: date, due: date, expect: tuple[date, date]) -> None:
    assert window(LoadOrder("MO-1", "FAN-200", D(1), release, due), MON) == expect


def test_load_per_week_setup_once_and_overload() -> None:
    # 100 FAN-200: 2 h setup + 50 h, over one week (Mon..Fri) → 52 h on a 40 h week.
    m = model(LoadOrder("MO-1", "FAN-200", D(100), MON, MON + timedelta(days=5)))
    cell = m.cell("ASSEMBLY", MON)
    assert (cell.load, cell.capacity, cell.overloaded, cell.over, cell.utilisation) == (D(52), D(40), True, D(12),
                                                                                         D(130))
    assert [c.week for c in m.overloads()] == ["2027-W01"] and cell.orders == (("MO-1", D(52)),)
    # The same order over two weeks: 26 h each, no overload.
    two = model(LoadOrder("MO-1", "FAN-200", D(100), MON, MON + timedelta(days=12)))
    assert [two.cell("ASSEMBLY", MON + timedelta(weeks=w)).load for w in (0, 1)] == [D(26), D(26)]
    assert two.overloads() == []


def test_an_order_that_made_something_has_its_setup_behind_it_and_items_without_routing_load_nothing() -> None:
    m = model(LoadOrder("MO-1", "FAN-200", D(10), MON, MON + timedelta(days=1), setup_done=True),
              LoadOrder("MO-2", "BOLT", D(1000), MON, MON + timedelta(days=1)))
    assert m.cell("ASSEMBLY", MON).load == D(5) and not m.has_routing("BOLT") and m.has_routing("FAN-200")


def test_two_operations_load_two_work_centres_and_planned_orders_count_like_open_ones() -> None:
    m = model(LoadOrder("MO-1", "HOUSING", D(20), MON, MON + timedelta(days=5)),
              LoadOrder("MRP-00001-2", "FAN-200", D(40), MON, MON + timedelta(days=5), planned=True))
    assert m.cell("PAINT", MON).load == D(20) and m.cell("PAINT", MON).overloaded is False
    assert m.cell("ASSEMBLY", MON).load == D(6) + D(22)
    assert [r for r, _ in m.cell("ASSEMBLY", MON).orders] == ["MRP-00001-2", "MO-1"]  # most hours first


def test_weeks_and_table_cover_as_of_to_the_last_loaded_week() -> None:
    m = model(LoadOrder("MO-1", "FAN-200", D(10), MON + timedelta(weeks=3), MON + timedelta(weeks=3, days=3)))
    assert [week_label(w) for w in m.weeks()] == ["2027-W01", "2027-W02", "2027-W03", "2027-W04"]
    assert len(m.weeks(8)) == 8 and [row[0].work_centre for row in m.table()] == ["ASSEMBLY", "PAINT"]


def test_finish_on_an_empty_calendar_is_not_held_up() -> None:
    # 2 h setup + 10 × 0.5 = 7 h: done on Monday.
    assert model().finish("FAN-200", D(10), MON) == (MON, None)
    # 2 + 30 = 32 h at 8 h a day: Monday..Thursday.
    assert model().finish("FAN-200", D(60), MON) == (MON + timedelta(days=3), None)
    # Started on a Saturday: it waits for Monday, the weekend is not a hold-up of the load.
    assert model().finish("FAN-200", D(10), MON + timedelta(days=5)) == (MON + timedelta(days=7), None)
    assert model().finish("BOLT", D(10), MON + timedelta(days=2)) == (MON + timedelta(days=2), None)


def test_finish_waits_for_the_hours_the_load_leaves_and_names_the_work_centre() -> None:
    busy = model(LoadOrder("MO-1", "FAN-200", D(76), MON, MON + timedelta(days=5)))  # 40 h: the whole week full
    assert busy.finish("FAN-200", D(10), MON) == (MON + timedelta(days=7), "ASSEMBLY")
    # A start before as_of starts at as_of.
    assert busy.finish("FAN-200", D(10), MON - timedelta(days=30)) == (MON + timedelta(days=7), "ASSEMBLY")


def test_finish_runs_the_operations_in_sequence_and_blames_the_one_that_adds_the_delay() -> None:
    # PAINT full all week; ASSEMBLY free: HOUSING's paint waits a week, its assembly follows it.
    busy = model(LoadOrder("MO-9", "HOUSING", D(20), MON, MON + timedelta(days=5)))
    day, by = busy.finish("HOUSING", D(4), MON)
    assert by == "PAINT" and day == MON + timedelta(days=7)  # 4 h of paint on Monday next, then 2 h assembly
    assert model().finish("HOUSING", D(8), MON) == (MON + timedelta(days=1), None)  # 8 h paint: Mon+Tue


def test_finish_does_not_book_anything() -> None:
    m = model()
    m.finish("FAN-200", D(60), MON)
    assert m.cell("ASSEMBLY", MON).load == 0 and m.finish("FAN-200", D(60), MON)[0] == MON + timedelta(days=3)


def test_a_holiday_takes_its_hours_out_of_the_week_and_out_of_the_spread() -> None:
    wed = MON + timedelta(days=2)
    cal = Calendar("ASSEMBLY", FIVE_DAYS.hours, {wed: D(0), MON + timedelta(days=5): D(4)})  # Wednesday off, Sat 4 h
    assert cal.week_of(MON) == D(36) and cal.week == D(40) and cal.week_of(MON + timedelta(weeks=1)) == D(40)
    assert wed not in spread(D(10), MON, MON + timedelta(days=4), cal)
    m = CapacityModel({"ASSEMBLY": cal}, ROUTES, [LoadOrder("MO-1", "FAN-200", D(72), MON, MON + timedelta(days=7))],
                      MON)
    assert m.cell("ASSEMBLY", MON).capacity == D(36) and m.cell("ASSEMBLY", MON).load == D(38)
    assert [c.week for c in m.overloads()] == ["2027-W01"]
    # finish() skips the holiday: 2 + 10 = 12 h from Tuesday: Tuesday 8, Wednesday off, Thursday 4.
    free = CapacityModel({"ASSEMBLY": cal}, ROUTES, [], MON)
    assert free.finish("FAN-200", D(20), MON + timedelta(days=1)) == (MON + timedelta(days=3), None)
