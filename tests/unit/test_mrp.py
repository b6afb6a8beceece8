"""MRP (domain/planning/mrp.py): a textbook MRP record computed by hand, then the rules one by one."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.core.errors import Invalid
from domain.manufacturing.bom import Bom, BomLine, low_level_codes, need, need_ratio
from domain.planning.mrp import (
    SCALE,
    Demand,
    ItemPlan,
    MrpException,
    MrpResult,
    PlannedOrder,
    ScheduledReceipt,
    lot_size,
    run_mrp,
)

D = Decimal
AS_OF = date(2025, 3, 3)  # a Monday: week 1


def week(n: int) -> date:
    return AS_OF + timedelta(weeks=n - 1)


def day(n: int) -> date:
    return AS_OF + timedelta(days=n)


def bom(item: str, *lines: tuple[str, str] | tuple[str, str, str]) -> Bom:
    return Bom(item=item, lines=tuple(BomLine(c, D(q), D(s[0]) if s else D(0)) for c, q, *s in lines))


def purchased(sku: str, lead: int = 0, ss: str = "0", moq: str = "0", multiple: str = "0") -> ItemPlan:
    return ItemPlan(sku, "purchased", lead, D(ss), D(moq), D(multiple))


def made(sku: str, lead: int = 0, ss: str = "0", moq: str = "0", multiple: str = "0") -> ItemPlan:
    return ItemPlan(sku, "manufactured", lead, D(ss), D(moq), D(multiple))


def mrp(items: Sequence[ItemPlan], boms: Sequence[Bom] = (), on_hand: dict[str, str] | None = None,
        reserved: dict[str, str] | None = None, receipts: Sequence[ScheduledReceipt] = (),
        demand: Sequence[Demand] = (), as_of: date = AS_OF) -> MrpResult:
    return run_mrp(items={i.sku: i for i in items}, boms={b.item: b for b in boms},
                   on_hand={k: D(v) for k, v in (on_hand or {}).items()},
                   reserved={k: D(v) for k, v in (reserved or {}).items()},
                   receipts=list(receipts), demand=list(demand), as_of=as_of)


def po(sku: str, qty: str, due: date, pegs: tuple[str, ...], lead: int = 0) -> PlannedOrder:
    return PlannedOrder(sku, "purchase", D(qty), due - timedelta(days=lead), due, pegs)


# --- the textbook record --------------------------------------------------------------------------------
#
# Weekly periods (W1 = as_of = Mon 2025-03-03); lead times in whole weeks, so every date is a Monday.
#
#   A  finished good, made:  lead 1 week, on hand 20, lot for lot.         BOM: 2 B, 3 C
#   B  sub-assembly, made:   lead 1 week, on hand 10, safety stock 5, L4L. BOM: 1 C, 2 D with 10 % scrap
#   C  part, bought: lead 2 weeks, on hand 30 of which 10 reserved, safety stock 20, MOQ 100, multiple 25,
#      open PO-1 for 30 due W2.  C is used at level 1 (under A) and level 2 (under B): low-level code 2,
#      so it is netted after B — netted at level 1 it would miss B's requirements of W2 and W4.
#   D  part, bought: lead 1 week, on hand 0, lot for lot.
#   Demand: SO-1 30 A due W4, SO-2 40 A due W6.
#
#   POH = projected on hand; net = what is needed to keep POH ≥ safety stock; planned receipt after lot
#   sizing; planned release = receipt − lead time. Gross of a component = parent's planned release
#   × quantity per (scrap included), in the parent's release week, pegged to the parent's demand.
#
#   A (LLC 0)   W1   W2   W3   W4   W5   W6
#   gross                      30        40      W4 SO-1, W6 SO-2
#   sched. rec.
#   POH     20  20   20   20    0    0    0
#   net                        10        40
#   planned rec.               10        40
#   planned rel.          10        40           → A: 10 due W4 (rel W3) [SO-1]; 40 due W6 (rel W5) [SO-2]
#
#   B (LLC 1)   W1   W2   W3   W4   W5   W6      safety stock 5
#   gross                 20        80           2 × A's releases: W3 2×10 (SO-1), W5 2×40 (SO-2)
#   POH     10  10   10    5    5    5    5      W3: 10 − 20 = −10 → net 5 − (−10) = 15
#   net                   15        80           W5: 5 − 80 = −75 → net 80
#   planned rec.          15        80
#   planned rel.     15        80                → B: 15 due W3 (rel W2) [SO-1]; 80 due W5 (rel W4) [SO-2]
#
#   C (LLC 2)   W1   W2   W3   W4   W5   W6      safety stock 20, MOQ 100, multiple 25, lead 2 weeks
#   gross            15   30   80  120           W2 1×15 (B, SO-1), W3 3×10 (A, SO-1),
#                                                W4 1×80 (B, SO-2), W5 3×40 (A, SO-2)
#   sched. rec.      30                          PO-1
#   POH     20  20   35  105   25   30   30      start 30 − 10 reserved = 20
#                                                W2: 20 + 30 − 15 = 35
#                                                W3: 35 − 30 = 5 < 20 → net 15 → MOQ → 100; POH 105
#                                                W4: 105 − 80 = 25 (the 100's excess covers SO-2's 80)
#                                                W5: 25 − 120 = −95 → net 20 + 95 = 115 → multiple of
#                                                    25 → 125; POH 30
#   net                   15        115
#   planned rec.         100        125
#   planned rel.  100        125                 → C: 100 due W3 (rel W1) [SO-1, SO-2];
#                                                     125 due W5 (rel W3) [SO-2]
#
#   D (LLC 2)   W1   W2   W3   W4   W5   W6      lot for lot, lead 1 week
#   gross            33        176               need(15, 2 D + 10 %) = 33 (SO-1); need(80, …) = 176 (SO-2)
#   POH      0   0    0    0    0    0    0
#   net              33        176
#   planned rec.     33        176
#   planned rel. 33       176                    → D: 33 due W2 (rel W1) [SO-1]; 176 due W4 (rel W3) [SO-2]
#
#   No release falls before W1 and the open PO-1 comes before it is needed: no exceptions.

TEXTBOOK_ITEMS = [made("A", 7), made("B", 7, ss="5"), purchased("C", 14, ss="20", moq="100", multiple="25"),
                  purchased("D", 7)]
TEXTBOOK_BOMS = [bom("A", ("B", "2"), ("C", "3")), bom("B", ("C", "1"), ("D", "2", "10"))]
TEXTBOOK_DEMAND = [Demand("A", D(30), week(4), "SO-1"), Demand("A", D(40), week(6), "SO-2")]


def textbook() -> MrpResult:
    return mrp(TEXTBOOK_ITEMS, TEXTBOOK_BOMS, on_hand={"A": "20", "B": "10", "C": "30"}, reserved={"C": "10"},
               receipts=[ScheduledReceipt("C", D(30), week(2), "PO-1")], demand=TEXTBOOK_DEMAND)


def test_the_textbook_record_computed_by_hand() -> None:
    res = textbook()
    assert res.planned_orders == (
        PlannedOrder("A", "production", D(10), week(3), week(4), ("SO-1",)),
        PlannedOrder("A", "production", D(40), week(5), week(6), ("SO-2",)),
        PlannedOrder("B", "production", D(15), week(2), week(3), ("SO-1",)),
        PlannedOrder("B", "production", D(80), week(4), week(5), ("SO-2",)),
        PlannedOrder("C", "purchase", D(100), week(1), week(3), ("SO-1", "SO-2")),
        PlannedOrder("C", "purchase", D(125), week(3), week(5), ("SO-2",)),
        PlannedOrder("D", "purchase", D(33), week(1), week(2), ("SO-1",)),
        PlannedOrder("D", "purchase", D(176), week(3), week(4), ("SO-2",)),
    )
    assert res.exceptions == ()


# --- the rules one by one -------------------------------------------------------------------------------

def test_lot_size_raises_to_the_minimum_then_rounds_up_to_the_multiple() -> None:
    assert lot_size(D(7), D(0), D(0)) == D(7)
    assert lot_size(D(7), D(10), D(0)) == D(10)
    assert lot_size(D(7), D(10), D(4)) == D(12)  # MOQ first, then the multiple
    assert lot_size(D(13), D(10), D(5)) == D(15)
    assert lot_size(D(15), D(10), D(5)) == D(15)
    assert lot_size(D("0.3"), D(0), D("0.25")) == D("0.5")


def test_safety_stock_is_kept() -> None:
    # 100 on hand, safety stock 20, 90 wanted: 10 left would be under 20, so 10 more are planned.
    res = mrp([purchased("X", 2, ss="20")], on_hand={"X": "100"}, demand=[Demand("X", D(90), day(10), "SO-1")])
    assert res.planned_orders == (po("X", "10", day(10), ("SO-1",), lead=2),)
    assert res.exceptions == ()
    # Already below safety stock with no demand at all: restored on as_of, pegged to no demand.
    res = mrp([purchased("X", 0, ss="20")], on_hand={"X": "15"})
    assert res.planned_orders == (po("X", "5", AS_OF, ()),)


def test_reserved_stock_is_not_available() -> None:
    res = mrp([purchased("X", 1)], on_hand={"X": "100"}, reserved={"X": "30"},
              demand=[Demand("X", D(80), day(5), "SO-1")])
    assert res.planned_orders == (po("X", "10", day(5), ("SO-1",), lead=1),)


def test_supply_due_on_the_day_of_the_demand_counts_first() -> None:
    res = mrp([purchased("X", 3)], receipts=[ScheduledReceipt("X", D(50), day(5), "PO-1")],
              demand=[Demand("X", D(50), day(5), "SO-1")])
    assert res == MrpResult((), ())
    # One day late is not the same day: the receipt is late for the demand.
    res = mrp([purchased("X", 3)], receipts=[ScheduledReceipt("X", D(50), day(6), "PO-1")],
              demand=[Demand("X", D(50), day(5), "SO-1")])
    assert res.planned_orders == ()
    assert [(e.kind, e.reference, e.date) for e in res.exceptions] == [("supply late for demand", "PO-1", day(5))]


def test_a_release_before_as_of_is_an_exception() -> None:
    res = mrp([purchased("X", 10)], demand=[Demand("X", D(5), day(3), "SO-7")])
    assert res.planned_orders == (po("X", "5", day(3), ("SO-7",), lead=10),)
    assert res.exceptions == (MrpException("release in the past", "X", day(-7), D(5), day(3), 7, ("SO-7",)),)
    assert res.exceptions[0].message == "X: the planned order of 5 due 2025-03-06 must be released 2025-02-24, 7 day(s) ago"


def test_a_receipt_due_after_the_demand_it_must_cover_is_late() -> None:
    # 40 wanted on day 5, PO-9 brings 30 on day 10: PO-9 is counted for the demand and reported late (expedite
    # it), only the 10 it cannot cover are planned; its remainder is not touched.
    res = mrp([purchased("X", 2)], receipts=[ScheduledReceipt("X", D(30), day(10), "PO-9")],
              demand=[Demand("X", D(40), day(5), "SO-1")])
    assert res.planned_orders == (po("X", "10", day(5), ("SO-1",), lead=2),)
    assert len(res.exceptions) == 1
    e = res.exceptions[0]
    assert (e.kind, e.sku, e.date, e.reference, e.pegged_to) == ("supply late for demand", "X", day(5), "PO-9",
                                                                  ("SO-1",))
    assert (e.qty, e.due_date, e.days) == (D(30), day(10), 5)
    assert e.message == "X: PO-9 is due 2025-03-13, 5 day(s) after 30 of it is needed on 2025-03-08 (SO-1): expedite it"
    # A receipt bigger than the early need: only that part is pulled in; the rest still arrives on day 10.
    res = mrp([purchased("X", 2)], receipts=[ScheduledReceipt("X", D(100), day(10), "PO-9")],
              demand=[Demand("X", D(40), day(5), "SO-1"), Demand("X", D(50), day(8), "SO-2"),
                      Demand("X", D(10), day(12), "SO-3")])
    assert res.planned_orders == ()
    assert [(e.date, e.pegged_to) for e in res.exceptions] == [(day(5), ("SO-1",)), (day(8), ("SO-2",))]


def test_a_lot_covering_several_demands_is_pegged_to_all_of_them_in_due_order() -> None:
    res = mrp([purchased("X", 0, moq="100")], demand=[Demand("X", D(30), day(9), "SO-2"),
                                                      Demand("X", D(20), day(2), "SO-1"),
                                                      Demand("X", D(60), day(20), "SO-3")])
    # 20 → 100 on day 2 covers SO-1, SO-2 and 50 of SO-3's 60; the other 10 → 100 on day 20.
    assert res.planned_orders == (po("X", "100", day(2), ("SO-1", "SO-2", "SO-3")),
                                  po("X", "100", day(20), ("SO-3",)))


def test_a_manufactured_item_without_a_bom_is_refused_by_name() -> None:
    with pytest.raises(Invalid, match="no BOM for the manufactured item B:"):
        mrp([made("A"), made("B"), purchased("C")], [bom("A", ("B", "1"), ("C", "1"))],
            demand=[Demand("A", D(1), day(1), "SO-1")])


def test_a_bom_cycle_is_refused_with_its_path() -> None:
    with pytest.raises(Invalid, match="BOM cycle: A → B → C → A"):
        mrp([made("A"), made("B"), made("C")], [bom("A", ("B", "1")), bom("B", ("C", "1")), bom("C", ("A", "1"))],
            demand=[Demand("A", D(1), day(1), "SO-1")])


def test_bad_input_is_refused() -> None:
    with pytest.raises(Invalid, match="there is no item Z"):
        mrp([purchased("X")], demand=[Demand("Z", D(1), day(1), "SO-1")])
    with pytest.raises(Invalid, match="above zero"):
        mrp([purchased("X")], demand=[Demand("X", D(0), day(1), "SO-1")])
    with pytest.raises(Invalid, match="above zero"):
        mrp([purchased("X")], receipts=[ScheduledReceipt("X", D(-1), day(1), "PO-1")])
    with pytest.raises(Invalid, match="negative"):
        mrp([purchased("X", ss="-1")])


def test_zero_demand_plans_nothing() -> None:
    res = mrp(TEXTBOOK_ITEMS, TEXTBOOK_BOMS, on_hand={"A": "20", "B": "10", "C": "30"},
              receipts=[ScheduledReceipt("C", D(30), week(2), "PO-1")])
    assert res == MrpResult((), ())


def test_the_result_does_not_depend_on_the_order_of_the_input() -> None:
    first = textbook()
    assert textbook() == first
    rng = random.Random(5)
    for _ in range(5):
        items, boms, dem = list(TEXTBOOK_ITEMS), list(TEXTBOOK_BOMS), list(TEXTBOOK_DEMAND)
        rng.shuffle(items)
        rng.shuffle(boms)
        rng.shuffle(dem)
        res = mrp(items, boms, on_hand={"C": "30", "B": "10", "A": "20"}, reserved={"C": "10"},
                  receipts=[ScheduledReceipt("C", D(30), week(2), "PO-1")], demand=dem)
        assert res == first


def test_the_integer_explosion_is_exactly_need() -> None:
    # The run computes in units of 0.0001 with each line as a ratio; it must agree with bom.need to the unit.
    rng = random.Random(11)
    for _ in range(2000):
        line = BomLine("X", D(rng.randint(1, 40000)) / 10000 * rng.choice((1, 10, 100)),
                       rng.choice((D(0), D(1), D("2.5"), D("33.3333"), D(rng.randint(0, 9999)) / 100)))
        q_units = rng.randint(1, 10**9)
        n, d = need_ratio(line.qty, line.scrap_pct)
        assert D(-((-q_units * n) // d)) / SCALE == need(D(q_units) / SCALE, line)


# --- against a plain reference ----------------------------------------------------------------------------

def reference_mrp(items: dict[str, ItemPlan], boms: dict[str, Bom], on_hand: dict[str, Decimal],
                  reserved: dict[str, Decimal], receipts: list[ScheduledReceipt], demand: list[Demand],
                  as_of: date) -> tuple[list[PlannedOrder], list[tuple[str, date, str | None, tuple[str, ...]]]]:
    """The rules of the module's docstring, written plainly: Decimals, one requirement at a time."""
    codes = low_level_codes(boms, items)
    reqs: dict[str, list[tuple[date, Decimal, tuple[str, ...]]]] = {sku: [] for sku in items}
    for dm in sorted(demand, key=lambda d: (d.due_date, d.pegged_to, d.sku, d.qty)):
        reqs[dm.sku].append((dm.due_date, dm.qty, (dm.pegged_to,)))
    orders: list[PlannedOrder] = []
    late: list[tuple[str, date, str | None, tuple[str, ...]]] = []
    for sku in sorted(items, key=lambda s: (codes[s], s)):
        it = items[sku]
        free = on_hand.get(sku, D(0)) - reserved.get(sku, D(0)) - it.safety_stock
        rs = sorted(reqs[sku], key=lambda r: r[0])
        if free < 0:
            at = next((i for i, r in enumerate(rs) if r[0] >= as_of), len(rs))
            rs.insert(at, (as_of, -free, ()))
            free = D(0)
        sched: list[list[Any]] = [[r.due_date, r.qty, r.reference]
                 for r in sorted(receipts, key=lambda r: (r.due_date, r.reference, r.sku, r.qty)) if r.sku == sku]
        planned: list[tuple[date, Decimal, list[str]]] = []
        open_pegs: list[str] = []
        open_left = D(0)
        for day in sorted({r[0] for r in rs}):
            for sr in sched:
                if sr[0] <= day:
                    free += sr[1]
                    sr[1] = D(0)
            short, short_pegs = D(0), list[str]()
            for _, q, pegs in (r for r in rs if r[0] == day):
                take = min(q, open_left)
                if take:
                    open_left -= take
                    q -= take
                    open_pegs += pegs
                take = min(q, free)
                free -= take
                q -= take
                for sr in sched:
                    if q and sr[1] and sr[0] > day:
                        take = min(q, sr[1])
                        sr[1] -= take
                        q -= take
                        late.append((sku, day, sr[2], pegs))
                if q:
                    short += q
                    short_pegs += pegs
            if short:
                qty = lot_size(short, it.min_order_qty, it.order_multiple)
                open_pegs, open_left = short_pegs, qty - short
                planned.append((day, qty, short_pegs))
        for due, qty, refs in planned:
            release = due - timedelta(days=it.lead_time_days)
            pegged = tuple(dict.fromkeys(refs))
            made_here = it.kind == "manufactured"
            orders.append(PlannedOrder(sku, "production" if made_here else "purchase", qty, release, due, pegged))
            if made_here:
                for line in boms[sku].lines:
                    reqs[line.component].append((release, need(qty, line), pegged))
    return orders, late


def random_company(rng: random.Random, most: int = 14, orders: int = 8, big: int = 1) -> dict[str, Any]:
    """A small random company; `most` items at most, up to `orders` demands, quantities × `big`."""
    n = rng.randint(3, most)
    skus = [f"I{i:02d}" for i in range(n)]
    boms: dict[str, Bom] = {}
    for i, sku in enumerate(skus[:-2]):
        if rng.random() < 0.7:  # components only further down the list: no cycles
            comps = rng.sample(skus[i + 1:], rng.randint(1, min(4, n - i - 1)))
            boms[sku] = Bom(sku, tuple(BomLine(c, D(rng.choice(("1", "2", "3", "0.5", "0.25", "1.3333"))),
                                               D(rng.choice(("0", "0", "5", "2.5", "12.75")))) for c in comps))
    qty = ("0", "0", "0", "5", "10", "25", "7.5")
    items = {s: ItemPlan(s, "manufactured" if s in boms else "purchased", rng.randint(0, 12),
                         D(rng.choice(qty)), D(rng.choice((*qty, "40", "100"))), D(rng.choice(qty)))
             for s in skus}
    on_hand = {s: D(rng.randint(0, 60) * big) for s in skus if rng.random() < 0.6}
    reserved = {s: D(rng.randint(0, 30) * big) for s in skus if rng.random() < 0.2}
    receipts = [ScheduledReceipt(rng.choice(skus), D(rng.randint(1, 80) * big), day(rng.randint(-3, 30)), f"PO-{k}")
                for k in range(rng.randint(0, 6))]
    demand = [Demand(rng.choice(skus[:3]), D(rng.randint(1, 50) * big), day(rng.randint(-2, 40)), f"SO-{k}")
              for k in range(rng.randint(0, orders))]
    return {"items": items, "boms": boms, "on_hand": on_hand, "reserved": reserved, "receipts": receipts,
            "demand": demand, "as_of": AS_OF}


def test_random_companies_agree_with_the_plain_reference() -> None:
    rng = random.Random(2025)
    for _ in range(300):
        company = random_company(rng)
        res = run_mrp(**company)
        orders, late = reference_mrp(**company)
        assert list(res.planned_orders) == orders
        assert [(e.sku, e.date, e.reference, e.pegged_to) for e in res.exceptions if e.kind == "supply late for demand"] \
            == late
        assert [(e.sku, e.date) for e in res.exceptions if e.kind == "release in the past"] == \
            [(p.sku, p.release_date) for p in orders if p.release_date < AS_OF]


def agrees_with_the_reference(company: dict[str, Any]) -> None:
    res = run_mrp(**company)
    orders, late = reference_mrp(**company)
    assert list(res.planned_orders) == orders
    assert [(e.sku, e.date, e.reference, e.pegged_to) for e in res.exceptions if e.kind == "supply late for demand"] \
        == late


def test_larger_random_companies_agree_with_the_plain_reference() -> None:
    # Up to 40 items on many levels and 30 demands: several items per low-level code, each netted from
    # requirements of several parents on the same days.
    rng = random.Random(7)
    for _ in range(60):
        agrees_with_the_reference(random_company(rng, most=40, orders=30))


def test_quantities_beyond_64_bits_are_exact() -> None:
    # 10¹⁵ of an item is 10¹⁹ units of 0.0001, past a 64-bit integer: a vectorised run must stay exact there.
    rng = random.Random(3)
    for _ in range(40):
        agrees_with_the_reference(random_company(rng, big=10**15))
