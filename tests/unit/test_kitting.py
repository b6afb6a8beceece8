"""Kitting analysis (domain/planning/kitting.py): allocation across orders and BOM levels, shortages,
max buildable."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from domain.core.errors import Invalid
from domain.manufacturing.bom import Bom, BomLine, low_level_codes, need
from domain.planning.kitting import KitLine, KitOrder, OrderLine, StockLevel, kit_order, kitting

D = Decimal

# F (finished good) = 2 A + 1 B; A (sub-assembly) = 3 X; B and X are purchased.
KINDS = {"F": "manufactured", "A": "manufactured", "B": "purchased", "X": "purchased"}
BOMS = {"F": Bom("F", (BomLine("A", D(2)), BomLine("B", D(1)))), "A": Bom("A", (BomLine("X", D(3)),))}


def order(oid: str, *lines: tuple[str, str], key: tuple[object, ...] = ()) -> KitOrder:
    return KitOrder(oid, tuple(OrderLine(s, D(q)) for s, q in lines), key)


def stock(**qty: str) -> dict[str, StockLevel]:
    return {s: StockLevel(D(q)) for s, q in qty.items()}


def lines(kit: object) -> dict[str, tuple[Decimal, ...]]:
    """sku → (required, available, allocated, shortage, to_build)"""
    return {ln.sku: tuple(ln[1:]) for ln in kit.lines}  # type: ignore[attr-defined]


def test_two_levels_short_on_one_leaf() -> None:
    kit = kit_order(order("SO-1", ("F", "10")), KINDS, BOMS, stock(X="45", B="20"))
    assert not kit.complete
    # F needs 20 A (none in stock: built) → 60 X, of which 45 are there; 10 B of 20. F and A are listed too:
    # everything is to build.
    assert lines(kit) == {"F": (10, 0, 0, 0, 10), "A": (20, 0, 0, 0, 20), "B": (10, 20, 10, 0, 0),
                          "X": (60, 45, 45, 15, 0)}
    assert kit.max_buildable == 7  # 7 F: 14 A, 42 X; 8 F would need 48 X
    assert kit.products[0].qty == 10 and kit.products[0].max_buildable == 7


def test_sub_assembly_stock_is_used_before_it_is_exploded() -> None:
    kit = kit_order(order("SO-1", ("F", "10")), KINDS, BOMS, stock(A="6", X="45", B="10"))
    assert kit.complete and kit.max_buildable == 10
    # 20 A: 6 from stock, 14 built from 42 X.
    assert lines(kit) == {"F": (10, 0, 0, 0, 10), "A": (20, 6, 6, 0, 14), "B": (10, 10, 10, 0, 0),
                          "X": (42, 45, 42, 0, 0)}


def test_max_buildable_takes_sub_assembly_stock_first_then_builds() -> None:
    # q F needs 2q A: 6 from stock, 2q − 6 built from 3 X each; with 30 X: 2q − 6 ≤ 10 → q ≤ 8.
    kit = kit_order(order("SO-1", ("F", "10")), KINDS, BOMS, stock(A="6", X="30", B="10"))
    assert not kit.complete
    assert lines(kit)["X"] == (42, 30, 30, 12, 0)
    assert kit.max_buildable == 8


def test_scrap_is_required_and_rounded_up_as_bom_need() -> None:
    boms = {"F": Bom("F", (BomLine("X", D(1), D(10)), BomLine("B", D("0.3333"), D(1))))}
    kit = kit_order(order("SO-1", ("F", "3")), KINDS, boms, stock(X="3.3", B="100"))
    assert lines(kit)["X"] == (D("3.3"), D("3.3"), D("3.3"), 0, 0)
    assert lines(kit)["B"][0] == need(D(3), BomLine("B", D("0.3333"), D(1))) == D("1.0099")
    assert kit.complete
    short = kit_order(order("SO-1", ("F", "3")), KINDS, boms, stock(X="3.2999", B="100"))
    assert lines(short)["X"][3] == D("0.0001") and short.max_buildable == 2


def test_orders_compete_in_priority_order() -> None:
    # SO-2 is requested earlier, so it is served first although it was listed (and numbered) second.
    orders = [order("SO-1", ("F", "5"), key=(2, 1)), order("SO-2", ("F", "4"), key=(1, 1)),
              order("SO-3", ("F", "1"), key=(2, 1))]
    kits = kitting(orders, KINDS, BOMS, stock(X="30", B="100"))
    assert [k.order_id for k in kits] == ["SO-2", "SO-1", "SO-3"]  # ties broken by order id
    so2, so1, so3 = kits
    assert so2.complete and lines(so2)["X"] == (24, 30, 24, 0, 0)
    assert not so1.complete and lines(so1)["X"] == (30, 6, 6, 24, 0) and so1.max_buildable == 1
    assert lines(so3)["X"] == (6, 0, 0, 6, 0) and so3.max_buildable == 0
    assert lines(so3)["B"] == (1, 91, 1, 0, 0)  # B is plentiful: each order sees what is left
    # Asking for one order: the orders before it take their stock first.
    assert kitting(orders, KINDS, BOMS, stock(X="30", B="100"), only="SO-1") == [so1]


def test_a_purchased_item_ordered_directly_is_taken_from_stock() -> None:
    kit = kit_order(order("SO-1", ("B", "5")), KINDS, BOMS, stock(B="3"))
    assert lines(kit) == {"B": (5, 3, 3, 2, 0)} and kit.max_buildable == 3 and not kit.complete


def test_finished_goods_in_stock_are_taken_first() -> None:
    kit = kit_order(order("SO-1", ("F", "10")), KINDS, BOMS, stock(F="4", X="36", B="6"))
    assert kit.complete
    assert lines(kit) == {"F": (10, 4, 4, 0, 6), "A": (12, 0, 0, 0, 12), "B": (6, 6, 6, 0, 0),
                          "X": (36, 36, 36, 0, 0)}


def test_a_sub_assembly_with_no_stock_is_listed_to_build() -> None:
    # The case: 10 FG whose sub-assembly has no stock. The lines list FG, the sub-assembly (all of it to
    # build) and the raw materials; before, the sub-assembly was left out.
    kinds = {"FG": "manufactured", "SUB": "manufactured", "RAW": "purchased", "PACK": "purchased"}
    boms = {"FG": Bom("FG", (BomLine("SUB", D(1)), BomLine("PACK", D(1)))), "SUB": Bom("SUB", (BomLine("RAW", D(4)),))}
    kit = kit_order(order("SO-1", ("FG", "10")), kinds, boms, stock(RAW="100", PACK="10"))
    assert [ln.sku for ln in kit.lines] == ["FG", "PACK", "RAW", "SUB"]
    assert lines(kit)["SUB"] == (10, 0, 0, 0, 10)
    assert lines(kit)["RAW"] == (40, 100, 40, 0, 0)
    assert kit.complete and kit.max_buildable == 10
    # Part of it in stock: the rest is built; and with none of the raw material the sub-assembly is still listed.
    part = kit_order(order("SO-1", ("FG", "10")), kinds, boms, stock(SUB="3", PACK="10"))
    assert lines(part)["SUB"] == (10, 3, 3, 0, 7) and lines(part)["RAW"] == (28, 0, 0, 28, 0)
    assert not part.complete and part.max_buildable == 3
    # A second order after the first took the sub-assemblies: it sees none available, and builds all of its own.
    two = kitting([order("SO-1", ("FG", "2")), order("SO-2", ("FG", "4"))], kinds, boms,
                  stock(SUB="3", RAW="100", PACK="10"))
    assert lines(two[0])["SUB"] == (2, 3, 2, 0, 0)
    assert lines(two[1])["SUB"] == (4, 1, 1, 0, 3) and lines(two[1])["RAW"] == (12, 100, 12, 0, 0)


@pytest.mark.parametrize(("step", "expected"), [(D(1), D(7)), (D("0.5"), D("7.5")), (D("0.1"), D("7.5"))])
def test_max_buildable_at_a_boundary_in_steps(step: Decimal, expected: Decimal) -> None:
    boms = {"F": Bom("F", (BomLine("X", D(1)),))}
    kit = kit_order(order("SO-1", ("F", "10")), KINDS, boms, stock(X="7.5"), step=step)
    assert kit.max_buildable == expected
    exact = kit_order(order("SO-1", ("F", "10")), KINDS, boms, stock(X="7"), step=step)
    assert exact.max_buildable == 7


def test_nothing_short_is_complete_with_no_shortage_anywhere() -> None:
    kit = kit_order(order("SO-1", ("F", "2"), ("B", "1")), KINDS, BOMS, stock(X="100", B="100", A="1"))
    assert kit.complete
    assert all(ln.shortage == 0 for ln in kit.lines)
    assert [(p.sku, p.max_buildable) for p in kit.products] == [("F", 2), ("B", 1)]
    assert kit.max_buildable is None  # several items ordered: see products
    # B: 2 for F's BOM and 1 ordered directly; available is what was free when the order's turn came.
    assert lines(kit)["B"] == (3, 100, 3, 0, 0)
    assert lines(kit)["A"] == (4, 1, 1, 0, 3) and lines(kit)["X"] == (9, 100, 9, 0, 0)


def test_empty_stock() -> None:
    kit = kit_order(order("SO-1", ("F", "3")), KINDS, BOMS, {})
    assert not kit.complete and kit.max_buildable == 0
    assert lines(kit) == {"F": (3, 0, 0, 0, 3), "A": (6, 0, 0, 0, 6), "B": (3, 0, 0, 3, 0), "X": (18, 0, 0, 18, 0)}


def test_reserved_stock_is_not_available() -> None:
    kit = kit_order(order("SO-1", ("B", "5")), KINDS, BOMS, {"B": StockLevel(D(8), D(5))})
    assert lines(kit) == {"B": (5, 3, 3, 2, 0)}
    over = kit_order(order("SO-1", ("B", "5")), KINDS, BOMS, {"B": StockLevel(D(2), D(5))})
    assert lines(over) == {"B": (5, 0, 0, 5, 0)}


def test_a_shared_component_is_summed_over_its_parents_before_stock() -> None:
    # F = A + C; A = 2 D; C = D + 3 X; D = X. D sits under A and C: its demand is summed (3 per F).
    kinds = {"F": "manufactured", "A": "manufactured", "C": "manufactured", "D": "manufactured", "X": "purchased"}
    boms = {"F": Bom("F", (BomLine("A", D(1)), BomLine("C", D(1)))), "A": Bom("A", (BomLine("D", D(2)),)),
            "C": Bom("C", (BomLine("D", D(1)), BomLine("X", D(3)))), "D": Bom("D", (BomLine("X", D(1)),))}
    kit = kit_order(order("SO-1", ("F", "2")), kinds, boms, stock(D="4", X="100"))
    assert lines(kit) == {"F": (2, 0, 0, 0, 2), "A": (2, 0, 0, 0, 2), "C": (2, 0, 0, 0, 2), "D": (6, 4, 4, 0, 2),
                          "X": (8, 100, 8, 0, 0)}


def test_bad_input_is_refused_naming_it() -> None:
    with pytest.raises(Invalid, match="BOM of F: there is no item Z"):
        kit_order(order("SO-1", ("F", "1")), {**KINDS}, {"F": Bom("F", (BomLine("Z", D(1)),))}, {})
    with pytest.raises(Invalid, match="A is manufactured but has no BOM"):
        kit_order(order("SO-1", ("F", "1")), KINDS, {"F": BOMS["F"]}, {})
    with pytest.raises(Invalid, match="there is no item Q"):
        kit_order(order("SO-1", ("Q", "1")), KINDS, BOMS, {})
    with pytest.raises(Invalid, match="quantity of F must be above zero"):
        kit_order(order("SO-1", ("F", "0")), KINDS, BOMS, {})
    with pytest.raises(Invalid, match="more than four decimal places"):
        kit_order(order("SO-1", ("F", "0.00001")), KINDS, BOMS, {})
    cyclic = {**BOMS, "A": Bom("A", (BomLine("X", D(3)), BomLine("F", D(1))))}
    with pytest.raises(Invalid, match="BOM cycle: F → A → F"):
        kit_order(order("SO-1", ("F", "1")), KINDS, cyclic, {})
    with pytest.raises(Invalid, match="no open order SO-9"):
        kitting([order("SO-1", ("F", "1"))], KINDS, BOMS, {}, only="SO-9")


# --- against a plain reference: Decimal and bom.need, level by level ------------------------------------

def reference(orders: list[KitOrder], kinds: dict[str, str], boms: dict[str, Bom],
              on_hand: dict[str, Decimal]) -> dict[str, dict[str, tuple[Decimal, Decimal]]]:
    codes = low_level_codes(boms, kinds)
    free = dict(on_hand)
    out: dict[str, dict[str, tuple[Decimal, Decimal]]] = {}
    for o in sorted(orders, key=lambda o: (o.key, o.order_id)):
        got: dict[str, tuple[Decimal, Decimal]] = {}
        wanted: dict[str, Decimal] = {}
        for ol in o.lines:  # lines for the same item are added together first
            wanted[ol.sku] = wanted.get(ol.sku, D(0)) + ol.qty
        for top, qty in wanted.items():
            demand = {top: qty}
            for sku in sorted(kinds, key=lambda s: codes[s]):
                d = demand.get(sku, D(0))
                if not d:
                    continue
                t = min(d, free.get(sku, D(0)))
                free[sku] = free.get(sku, D(0)) - t
                r, a = got.get(sku, (D(0), D(0)))
                got[sku] = (r + d, a + t)
                if kinds[sku] == "manufactured" and d > t:
                    for bl in boms[sku].lines:
                        demand[bl.component] = demand.get(bl.component, D(0)) + need(d - t, bl)
        out[o.order_id] = got  # every item the order reaches, sub-assemblies to build included
    return out


@pytest.mark.parametrize("seed", range(20))
def test_agrees_with_a_plain_decimal_reference(seed: int) -> None:
    rng = random.Random(seed)
    skus = [f"I{i}" for i in range(14)]
    kinds = {s: ("purchased" if i >= 8 else "manufactured") for i, s in enumerate(skus)}
    boms = {}
    for i in range(8):
        comps = rng.sample(skus[i + 1:], min(rng.randint(1, 4), 13 - i))
        boms[skus[i]] = Bom(skus[i], tuple(BomLine(c, D(rng.choice(["1", "2", "0.5", "0.3333", "1.25"])),
                                                    D(rng.choice(["0", "0", "3", "2.5"]))) for c in comps))
    on_hand = {s: D(rng.randint(0, 40)) / rng.choice([1, 4]) for s in skus if rng.random() < 0.7}
    orders = [order(f"SO-{n}", *[(rng.choice(skus[:4]), str(rng.randint(1, 9))) for _ in range(rng.randint(1, 2))],
                    key=(rng.randint(1, 3),)) for n in range(6)]
    kits = kitting(orders, kinds, boms, {s: StockLevel(q) for s, q in on_hand.items()})
    expected = reference(orders, kinds, boms, on_hand)
    for kit in kits:
        assert {ln.sku: (ln.required, ln.allocated) for ln in kit.lines} == expected[kit.order_id]
        assert kit.complete == all(ln.shortage == 0 for ln in kit.lines)
        for ln in kit.lines:
            assert ln.shortage + ln.to_build == ln.required - ln.allocated
    # Deterministic: the same answer whatever order the orders and the stock come in.
    again = kitting(list(reversed(orders)), kinds, boms,
                    {s: StockLevel(on_hand[s]) for s in sorted(on_hand, reverse=True)})
    assert again == kits


def test_kit_lines_are_plain_values() -> None:
    kit = kit_order(order("SO-1", ("B", "1")), KINDS, BOMS, stock(B="1"))
    assert kit.lines == (KitLine("B", D(1), D(1), D(1), D(0), D(0)),)


# --- every field against a full reference: available, shortage, to build, complete, max buildable --------

def full_reference(orders: list[KitOrder], kinds: dict[str, str], boms: dict[str, Bom],
                   levels: dict[str, StockLevel], step: Decimal) -> dict[str, tuple[object, ...]]:
    """The module's rules written out plainly in Decimal: order → (complete, max buildable, products, lines);
    max buildable by trying every multiple of `step` from the top down."""
    codes = low_level_codes(boms, kinds)
    by_level = sorted(kinds, key=lambda s: codes[s])
    free = {s: max(lv.on_hand - lv.reserved, D(0)) for s, lv in levels.items()}

    def explode(top: str, qty: Decimal, stock: dict[str, Decimal]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        """What reached each item and what was taken of it, drawing from `stock` (changed)."""
        demand, req, took = {top: qty}, {}, {}
        for sku in by_level:
            d = demand.get(sku, D(0))
            if not d:
                continue
            t = min(d, stock.get(sku, D(0)))
            stock[sku] = stock.get(sku, D(0)) - t
            req[sku], took[sku] = d, t
            if kinds[sku] == "manufactured" and d > t:
                for bl in boms[sku].lines:
                    demand[bl.component] = demand.get(bl.component, D(0)) + need(d - t, bl)
        return req, took

    out: dict[str, tuple[object, ...]] = {}
    for o in sorted(orders, key=lambda o: (o.key, o.order_id)):
        at_turn = dict(free)
        wanted: dict[str, Decimal] = {}
        for ol in o.lines:
            wanted[ol.sku] = wanted.get(ol.sku, D(0)) + ol.qty
        req: dict[str, Decimal] = {}
        took: dict[str, Decimal] = {}
        products = []
        for top, qty in wanted.items():
            r, t = explode(top, qty, free)
            for s in r:
                req[s], took[s] = req.get(s, D(0)) + r[s], took.get(s, D(0)) + t[s]
            if all(r[s] == t[s] for s in r if kinds[s] == "purchased"):
                mb = qty
            else:
                k = int(qty / step)
                while k and any(b > t.get(s, D(0)) for s, b in explode(top, k * step, dict(t))[0].items()
                                if kinds[s] == "purchased"):
                    k -= 1
                mb = k * step
            products.append((top, qty, mb))
        lines = []
        for s in sorted(req):
            r, t, a = req[s], took[s], at_turn.get(s, D(0))
            if kinds[s] == "purchased":
                lines.append((s, r, a, t, r - t, D(0)))
            else:  # every manufactured item reached: taken from stock, built, or both
                lines.append((s, r, a, t, D(0), r - t))
        complete = all(ln[4] == 0 for ln in lines)
        out[o.order_id] = (complete, products[0][2] if len(products) == 1 else None, products, lines)
    return out


def random_company(rng: random.Random) -> tuple[dict[str, str], dict[str, Bom], dict[str, StockLevel], list[KitOrder]]:
    """Four levels, components shared between parents, some a level further down, scrap, sub-assemblies
    and finished goods in stock, reservations, orders for several items (an item twice, a component of
    another line's item, a purchased item)."""
    levels = [[f"L{k}-{i}" for i in range(n)] for k, n in enumerate((4, 5, 6, 8))]
    kinds = {s: ("purchased" if k == 3 else "manufactured") for k, lv in enumerate(levels) for s in lv}
    boms = {}
    for k in range(3):
        for s in levels[k]:
            below = [c for lv in levels[k + 1:] for c in lv]
            comps = [rng.choice(levels[k + 1]), *rng.sample(below, rng.randint(0, 3))]
            boms[s] = Bom(s, tuple(BomLine(c, D(rng.choice(["1", "2", "3", "0.5", "0.25", "0.3333", "1.5"])),
                                           D(rng.choice(["0", "0", "0", "1", "2.5", "5"])))
                                   for c in dict.fromkeys(comps)))
    levels_stock = {}
    for s, kind in kinds.items():
        if kind == "purchased" or rng.random() < 0.35:
            on_hand = D(rng.randint(0, 120)) / rng.choice([1, 2, 4])
            levels_stock[s] = StockLevel(on_hand, D(rng.randint(0, 10)) if rng.random() < 0.2 else D(0))
    pool = levels[0] * 3 + levels[1] + levels[3][:2]
    orders = [order(f"SO-{n:02d}", *[(rng.choice(pool), str(D(rng.randint(1, 16)) / rng.choice([1, 1, 2])))
                                     for _ in range(rng.choice((1, 1, 2, 3)))],
                    key=(rng.randint(1, 4), rng.randint(1, 3))) for n in range(12)]
    return kinds, boms, levels_stock, orders


@pytest.mark.parametrize("seed", range(40))
def test_every_field_agrees_with_a_full_reference(seed: int) -> None:
    rng = random.Random(1000 + seed)
    kinds, boms, levels, orders = random_company(rng)
    step = D(rng.choice(["1", "1", "0.5", "0.25", "2"]))
    kits = kitting(orders, kinds, boms, levels, step=step)
    expected = full_reference(orders, kinds, boms, levels, step)
    assert [k.order_id for k in kits] == list(expected)
    for kit in kits:
        complete, mb, products, lines = expected[kit.order_id]
        assert kit.lines == tuple(KitLine(*ln) for ln in lines), kit.order_id
        assert [(p.sku, p.qty, p.max_buildable) for p in kit.products] == products, kit.order_id
        assert (kit.complete, kit.max_buildable) == (complete, mb), kit.order_id
    # Asking for one order gives what the run over all of them says about it.
    for kit in kits:
        assert kitting(orders, kinds, boms, levels, step=step, only=kit.order_id) == [kit]


def test_the_garbage_collector_is_left_as_it_was() -> None:
    import gc

    assert gc.isenabled()
    kitting([order("SO-1", ("F", "2"))], KINDS, BOMS, stock(X="100", B="100"))
    assert gc.isenabled()
    gc.disable()
    try:
        kitting([order("SO-1", ("F", "2"))], KINDS, BOMS, stock(X="100", B="100"))
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(Invalid):
        kitting([order("SO-1", ("Q", "2"))], KINDS, BOMS, {})
    assert gc.isenabled()


def test_a_scrap_outside_0_to_100_percent_is_refused() -> None:
    # bom.check_lines refuses such a BOM when it is stored; kitting, given one anyway, refuses it too (its
    # search for max buildable relies on requirements growing with the quantity).
    kinds = {"A": "manufactured", "X": "purchased"}
    for scrap in ("-150", "-1", "100"):
        boms = {"A": Bom("A", (BomLine("X", D(1), D(scrap)),))}
        with pytest.raises(Invalid, match="BOM of A: the scrap of X must be from 0 to under 100 %"):
            kit_order(order("SO-1", ("A", "2")), kinds, boms, stock(X="5"))


def test_quantities_too_big_for_64_bits_come_out_exact() -> None:
    # 10^12 units of F, each needing 2 A at 10^6 X apiece: 2 × 10^18 X = 2 × 10^22 in 1/10,000ths, past
    # 64-bit integers: the run switches to Python integers and the numbers stay exact.
    kinds = {"F": "manufactured", "A": "manufactured", "X": "purchased"}
    boms = {"F": Bom("F", (BomLine("A", D(2)),)), "A": Bom("A", (BomLine("X", D(10) ** 6, D("2.5")),))}
    qty = D(10) ** 12
    kit = kit_order(order("SO-1", ("F", str(qty))), kinds, boms, stock(A="1", X="1000"))
    x_needed = need(2 * qty - 1, BomLine("X", D(10) ** 6, D("2.5")))
    assert lines(kit) == {"F": (qty, 0, 0, 0, qty), "A": (2 * qty, 1, 1, 0, 2 * qty - 1),
                          "X": (x_needed, 1000, 1000, x_needed - 1000, 0)}
    assert not kit.complete and kit.max_buildable == 0
    small = kit_order(order("SO-1", ("F", "3")), kinds, boms, stock(A="1", X="1000"))
    assert lines(small)["X"] == (need(D(5), BomLine("X", D(10) ** 6, D("2.5"))), 1000, 1000, D(5125000) - 1000, 0)
