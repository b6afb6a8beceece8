"""Capable-to-promise as pure rules (domain/planning/promise.py) on the demo company's fan (5 on hand; a housing
made in 2 days from sheet, bolts and paint; a blade set bought in 6 days; a fan assembled in 3), then random
companies against what must always hold."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from domain.core.errors import Invalid
from domain.manufacturing.bom import Bom, BomLine
from domain.planning.mrp import Demand, ScheduledReceipt
from domain.planning.promise import Constraint, PromiseItem, promise

TODAY = date(2027, 1, 4)
ITEMS = {s: PromiseItem(s, k, lead) for s, k, lead in [  # type: ignore[arg-type]
    ("STEEL-SHEET", "purchased", 5), ("BOLT-M8", "purchased", 3), ("MOTOR-200W", "purchased", 10),
    ("BEARING-6204", "purchased", 7), ("PAINT-RED", "purchased", 4), ("BLADE-SET", "purchased", 6),
    ("FAN-HOUSING", "manufactured", 2), ("FAN-200", "manufactured", 3)]}
BOMS = {"FAN-HOUSING": Bom("FAN-HOUSING", (BomLine("STEEL-SHEET", D(2), D(5)), BomLine("BOLT-M8", D(4)),
                                           BomLine("PAINT-RED", D("0.25")))),
        "FAN-200": Bom("FAN-200", (BomLine("MOTOR-200W", D(1)), BomLine("FAN-HOUSING", D(1)),
                                   BomLine("BLADE-SET", D(1)), BomLine("BEARING-6204", D(2)),
                                   BomLine("BOLT-M8", D(8), D(2))))}
STOCK = {"STEEL-SHEET": D(120), "BOLT-M8": D(2000), "MOTOR-200W": D(30), "BEARING-6204": D(80), "PAINT-RED": D(40),
         "BLADE-SET": D(4), "FAN-HOUSING": D(2), "FAN-200": D(5)}


def day(n: int) -> date:
    return TODAY + timedelta(days=n)


def ask(*lines: tuple[str, str], stock: dict[str, D] | None = None, reserved: dict[str, D] | None = None,
        receipts: list[ScheduledReceipt] | None = None, demand: list[Demand] | None = None,
        requested: date | None = None, **kw: object) -> list[tuple[date, str, str]]:
    found = promise([(s, D(q)) for s, q in lines], items=ITEMS, boms=BOMS, on_hand=STOCK if stock is None else stock,
                    reserved=reserved or {}, receipts=receipts or [], demand=demand or [], as_of=TODAY,
                    requested=requested, **kw)  # type: ignore[arg-type]
    return [(p.promise_date, p.basis, p.constrained_by) for p in found]


def test_ten_fans_wait_for_the_blade_set_bought_in_six_days_then_three_days_of_assembly() -> None:
    assert ask(("FAN-200", "10")) == [(day(9), "build", "BLADE-SET: supplier lead time (6 days)")]


def test_what_free_stock_covers_ships_today() -> None:
    assert ask(("FAN-200", "5"), ("BLADE-SET", "4")) == [
        (TODAY, "stock", "FAN-200: in stock"), (TODAY, "stock", "BLADE-SET: in stock")]


def test_reserved_stock_is_not_free() -> None:
    assert ask(("FAN-200", "5"), reserved={"FAN-200": D(1)}) == [
        (day(3), "build", "FAN-200: production lead time (3 days)")]


def test_lines_share_the_stock_and_what_their_components_took() -> None:
    # line 1 takes 4 fans; line 2 the last fan, 3 housings (2 in stock, 1 made) and 3 of the 4 blade sets
    assert ask(("FAN-200", "4"), ("FAN-200", "4"), ("BLADE-SET", "2")) == [
        (TODAY, "stock", "FAN-200: in stock"), (day(5), "build", "FAN-HOUSING: production lead time (2 days)"),
        (day(6), "purchase", "BLADE-SET: supplier lead time (6 days)")]


def test_open_supply_due_before_the_lead_time_is_waited_for_and_named() -> None:
    po = ScheduledReceipt("BLADE-SET", D(20), day(3), "PO-00007")
    assert ask(("BLADE-SET", "10"), receipts=[po]) == [(day(3), "supply", "BLADE-SET: PO-00007 due 2027-01-07")]
    # a fan waits for the same receipt (after the housing, made in 2 days), then is assembled
    assert ask(("FAN-200", "10"), receipts=[po]) == [(day(6), "build", "BLADE-SET: PO-00007 due 2027-01-07")]


def test_supply_due_after_the_lead_time_is_not_waited_for() -> None:
    late = ScheduledReceipt("BLADE-SET", D(20), day(30), "PO-00008")
    assert ask(("BLADE-SET", "10"), receipts=[late]) == [(day(6), "purchase", "BLADE-SET: supplier lead time (6 days)")]


def test_a_production_order_of_the_item_itself_is_open_supply() -> None:
    mo = ScheduledReceipt("FAN-200", D(10), day(1), "MO-00003")
    assert ask(("FAN-200", "12"), receipts=[mo]) == [(day(1), "supply", "FAN-200: MO-00003 due 2027-01-05")]


def test_an_open_order_due_later_keeps_the_stock_it_counts_on() -> None:
    order = Demand("BLADE-SET", D(3), day(30), "SO-00001")
    # 4 on hand, 3 promised to SO-00001 in 30 days: only 1 is free today, whatever the date of that order
    assert ask(("BLADE-SET", "1"), demand=[order]) == [(TODAY, "stock", "BLADE-SET: in stock")]
    assert ask(("BLADE-SET", "2"), demand=[order]) == [(day(6), "purchase", "BLADE-SET: supplier lead time (6 days)")]
    # a receipt before the order is due refills what is taken now: all 4 are free (every later balance stays ≥ 0)
    po = ScheduledReceipt("BLADE-SET", D(3), day(2), "PO-00009")
    assert ask(("BLADE-SET", "4"), demand=[order], receipts=[po]) == [(TODAY, "stock", "BLADE-SET: in stock")]
    assert ask(("BLADE-SET", "5"), demand=[order], receipts=[po]) == [
        (day(6), "purchase", "BLADE-SET: supplier lead time (6 days)")]
    # and a receipt larger than the order frees more from its own day on
    big = ScheduledReceipt("BLADE-SET", D(10), day(2), "PO-00012")
    assert ask(("BLADE-SET", "8"), demand=[order], receipts=[big]) == [
        (day(2), "supply", "BLADE-SET: PO-00012 due 2027-01-06")]


def test_demand_past_due_counts_today_and_supply_past_due_as_supply() -> None:
    overdue = Demand("FAN-200", D(4), day(-10), "SO-00002")
    assert ask(("FAN-200", "1"), demand=[overdue]) == [(TODAY, "stock", "FAN-200: in stock")]
    assert ask(("FAN-200", "2"), demand=[overdue])[0][1] == "build"
    late_po = ScheduledReceipt("BLADE-SET", D(10), day(-3), "PO-00010")
    assert ask(("BLADE-SET", "6"), receipts=[late_po]) == [(TODAY, "supply", "BLADE-SET: PO-00010 due 2027-01-04")]


def test_a_sub_assembly_on_open_supply_does_not_also_draw_its_components() -> None:
    mo = ScheduledReceipt("FAN-HOUSING", D(50), day(1), "MO-00011")
    # 40 fans: 5 in stock, 35 to make; 2 housings in stock and 33 from MO-00011 (a day, sooner than making them)
    found = ask(("FAN-200", "40"), ("STEEL-SHEET", "120"), stock={**STOCK, "BLADE-SET": D(40), "MOTOR-200W": D(40)},
                receipts=[mo])
    assert found[0] == (day(4), "build", "FAN-HOUSING: MO-00011 due 2027-01-05")
    assert found[1] == (TODAY, "stock", "STEEL-SHEET: in stock")  # no housing was made: the sheet is all free


def test_requested_date_marks_late_lines() -> None:
    found = promise([("FAN-200", D(5)), ("FAN-200", D(5))], items=ITEMS, boms=BOMS, on_hand=STOCK, reserved={},
                    receipts=[], demand=[], as_of=TODAY, requested=day(3))
    assert [(p.promise_date, p.late) for p in found] == [(TODAY, False), (day(9), True)]
    assert found[1].constraint == Constraint("purchase", "BLADE-SET", days=6)


class FullWeek:
    """A work centre booked until a day: capacity holds the fan's assembly up."""

    def has_routing(self, sku: str) -> bool:
        return sku == "FAN-200"

    def finish(self, sku: str, qty: D, start: date) -> tuple[date, str | None]:
        return (max(start, day(12)), "ASSEMBLY") if start < day(12) else (start + timedelta(days=1), None)


def test_capacity_of_a_routed_item_holds_the_promise_up_and_names_the_work_centre() -> None:
    assert ask(("FAN-200", "10"), capacity=FullWeek()) == [
        (day(12), "build", "FAN-200: work centre ASSEMBLY is fully loaded")]
    assert ask(("FAN-200", "5"), capacity=FullWeek()) == [(TODAY, "stock", "FAN-200: in stock")]


def test_a_manufactured_item_without_a_bom_is_promised_on_its_own_lead_time() -> None:
    items = {**ITEMS, "FAN-300": PromiseItem("FAN-300", "manufactured", 8)}
    found = promise([("FAN-300", D(1))], items=items, boms=BOMS, on_hand={}, reserved={}, receipts=[], demand=[],
                    as_of=TODAY)
    assert (found[0].promise_date, found[0].basis, found[0].constrained_by) == (
        day(8), "build", "FAN-300: no BOM, its own lead time only (8 days)")


@pytest.mark.parametrize(("lines", "says"), [
    ([("FAN-999", "1")], "line 1: there is no item FAN-999"),
    ([("FAN-200", "1"), ("FAN-200", "0")], "line 2: the quantity of FAN-200 must be above zero"),
    ([("FAN-200", "-1")], "line 1: the quantity of FAN-200 must be above zero"),
    ([("FAN-200", "0.00001")], "more than four decimal places"),
])
def test_bad_lines_are_refused_by_name(lines: list[tuple[str, str]], says: str) -> None:
    with pytest.raises(Invalid, match=says):
        ask(*lines)


# --- random companies ----------------------------------------------------------------------------------------

def company(rng: random.Random) -> tuple[dict[str, PromiseItem], dict[str, Bom]]:
    levels = [[f"L{k}-{i}" for i in range(rng.randint(2, 5))] for k in range(4)]
    items: dict[str, PromiseItem] = {}
    boms: dict[str, Bom] = {}
    for k, skus in enumerate(levels):
        for sku in skus:
            made = k < 3
            items[sku] = PromiseItem(sku, "manufactured" if made else "purchased", rng.randint(0, 9))
            if made:
                below = [s for lv in levels[k + 1:] for s in lv]
                comps = rng.sample(below, min(len(below), rng.randint(1, 3)))
                boms[sku] = Bom(sku, tuple(BomLine(c, D(rng.choice(("1", "2", "0.5"))), D(rng.choice((0, 0, 5))))
                                           for c in comps))
    return items, boms


def cumulative(items: dict[str, PromiseItem], boms: dict[str, Bom], sku: str) -> int:
    bom = boms.get(sku)
    below = max((cumulative(items, boms, ln.component) for ln in bom.lines), default=0) if bom else 0
    return items[sku].lead_time_days + below


@pytest.mark.parametrize("seed", range(40))
def test_random_companies_promise_between_today_and_the_cumulative_lead_time_and_more_never_sooner(seed: int
                                                                                                   ) -> None:
    rng = random.Random(seed)
    items, boms = company(rng)
    stock = {s: D(rng.choice((0, 0, 3, 10, 40))) for s in items}
    receipts = [ScheduledReceipt(s, D(rng.randint(1, 30)), day(rng.randint(-2, 20)), f"PO-{i}")
                for i, s in enumerate(rng.sample(sorted(items), 4))]
    demand = [Demand(s, D(rng.randint(1, 20)), day(rng.randint(-5, 30)), f"SO-{i}")
              for i, s in enumerate(rng.sample(sorted(items), 4))]
    kw = {"items": items, "boms": boms, "on_hand": stock, "reserved": {}, "receipts": receipts, "demand": demand,
          "as_of": TODAY}
    for sku in sorted(items):
        dates = []
        for qty in (1, 5, 20, 80):
            [p] = promise([(sku, D(qty))], **kw)  # type: ignore[arg-type]
            assert TODAY <= p.promise_date <= day(cumulative(items, boms, sku)), (sku, qty, p)
            assert (p.basis == "stock") == (p.promise_date == TODAY and p.constraint.why == "stock"), p
            dates.append(p.promise_date)
        assert dates == sorted(dates), (sku, dates)  # more is never promised sooner
    # a request's lines share: the second of two equal lines is never promised sooner than the first alone
    sku = rng.choice(sorted(items))
    first, second = promise([(sku, D(7)), (sku, D(7))], **kw)  # type: ignore[arg-type]
    assert second.promise_date >= first.promise_date
