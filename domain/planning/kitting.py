"""Kitting analysis (齐套分析): is the stock there to build what the open orders ask for? Pure.

Allocation rules:

- Orders are served one after another in priority order: ascending `KitOrder.key` (the caller builds it,
  e.g. (requested date, priority, created at)), ties by order id. Within an order its lines are served
  in their order (lines for the same item are added together first). Stock allocated to an earlier
  order or line is not available to a later one.
- Free stock of an item = on hand − reserved (never below zero).
- Every item is drawn from free stock first, the ordered item itself included. What stock does not
  cover: a purchased item is short by it; a manufactured item must be built, and building `r` of it
  requires `bom.need(r, line)` of each of its components (scrap included, rounded up to four places).
  An item's demand is summed over all its parents in the order line before it is drawn from stock
  (items are processed parents before components), so the result does not depend on BOM line order.
- Per order and item that the order touches: `required` = what reached that item (after the stock of
  its parents was used), `available` = its free stock when this order's turn came, `allocated` = what
  the order took, and what is left is `shortage` (purchased: nothing can cover it) or `to_build`
  (manufactured: covered by its components, whose lines show any shortage). The report lists the
  purchased items reached and the manufactured items taken from stock. The order is complete when
  no shortage is left anywhere.
- Max buildable of an ordered item: the largest quantity q, a multiple of `step` and at most the
  ordered quantity, such that building q by the same rules (stock first, the rest built) needs no
  more of any item than this order line was allocated; the full quantity when the line is complete.
  Requirements grow with q, so the answer is found by searching q.

A manufactured item without a BOM, an unknown item, a BOM cycle or a quantity that is not above zero
is refused (`Invalid`) naming it. Quantities are kept to four places (`bom.Q4`); internally they are
integers of 1/10,000 so a run over thousands of orders stays fast, with the same rounding as `need`.

Speed (bench/kitting.py: 10,000 items, 50,000 BOM lines, 6 levels, 1,000 open orders → 277,133 result
lines): a BOM line is a ratio num/den in lowest terms, most of them whole (den 1: a multiplication, no
division); each ordered item's explosion (the items it reaches, ordered by height, so every parent comes
before its components and the purchased items come last, in a loop of their own) is worked out once per
run; a line is served on plain lists and records what reached each item and what it took by position,
and what was free when the order's turn came is what is free after it plus what it took, so nothing is
reset per order; Decimals are made only for the report, as 0.0001 × int; items of an order for several
items are added up only where their explosions share items; max buildable stops at the first purchased
item whose requirement passes what the line took (requirements only grow while scrap is above −100 %);
the cyclic garbage collector is paused for the run (as in mrp.py). Any order of parents before
components gives the same numbers: an item's demand is complete before it is drawn from stock. A plain
Decimal version of the rules is in tests/unit/test_kitting.py, and random companies must come out the
same from both.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from math import gcd
from operator import itemgetter
from typing import Any, NamedTuple

from domain.errors import Invalid
from domain.planning.bom import Q4, Bom

SCALE = 10_000  # one unit in 1/10,000ths (four places, as bom.Q4)
_PCT = 100 * SCALE  # 100 % in scrap units of 1/10,000 %
_DEN = SCALE * _PCT  # need = ceil(parent × qty × (100 % + scrap %) / _DEN), all three in scaled integers
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    qty: Decimal


@dataclass(frozen=True, slots=True)
class KitOrder:
    order_id: str
    lines: tuple[OrderLine, ...]
    key: tuple[Any, ...] = ()  # sorts the orders: e.g. (requested date, priority, created at)


@dataclass(frozen=True, slots=True)
class StockLevel:
    on_hand: Decimal
    reserved: Decimal = ZERO


class KitLine(NamedTuple):
    """One item an order touches. A named tuple rather than a frozen dataclass: a run over all open orders
    makes hundreds of thousands of them, and a tuple is built four times faster."""

    sku: str
    required: Decimal  # what this order needs of it (after its parents' stock), scrap included
    available: Decimal  # free stock when this order's turn came
    allocated: Decimal
    shortage: Decimal  # purchased items: required − allocated; manufactured items: 0
    to_build: Decimal = ZERO  # manufactured items: required − allocated (its components are on other lines)


@dataclass(frozen=True, slots=True)
class ProductKit:
    sku: str
    qty: Decimal
    max_buildable: Decimal


@dataclass(frozen=True, slots=True)
class OrderKit:
    order_id: str
    complete: bool
    max_buildable: Decimal | None  # of the ordered item; None when the order is for several items (see products)
    products: tuple[ProductKit, ...]
    lines: tuple[KitLine, ...]  # by sku


def _units(q: Decimal, what: str) -> int:
    """A quantity as an integer of 1/10,000ths; refuses more than four places."""
    n = q * SCALE
    i = int(n)
    if i != n:
        raise Invalid(f"{what}: {q} has more than four decimal places")
    return i


_TICK = Decimal(1).scaleb(-4)  # 0.0001


def _dec(n: int) -> Decimal:
    return _TICK * n if n else ZERO  # Decimal × int: the int is converted exactly, twice as fast as Decimal(n)


# An item's components, for the explosion: building r of it needs r × num of each (component, num) in the
# first tuple (whole quantities, no scrap: most lines) and ⌈r × num / den⌉ of each (component, num, den) in
# the second. num / den is qty × (100 % + scrap %) in lowest terms: the same rounding as `bom.need`.
_Kids = tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int, int], ...]]
_UNSEEN: list[int] = []  # marks an item whose components are not looked up yet
_NO_CAP = 1 << 128  # above any requirement
_SKU = itemgetter(0)  # a KitLine's sku


class _Plan(NamedTuple):
    """The explosion of one item, worked out once per run and reused by every order line for it: the items
    it can reach, parents before components (`steps`: by height, so the purchased ones come last, from
    position `leaves` on), their positions in sku order (`by_sku`) and the purchased ones (`bought`:
    position, item)."""

    steps: list[int]
    leaves: int
    by_sku: list[int]
    bought: list[tuple[int, int]]


class _Run:
    """One kitting run's state. Items are numbered in sku order (so sorting numbers sorts skus); `free` is
    every item's free stock, `demand` the scratch of one explosion (zero again after it). An order line's
    explosion returns lists by position in its plan: what reached each item and what the line took of it;
    what was free when the order's turn came is what is free after the order plus what it took."""

    def __init__(self, kinds: Mapping[str, str], boms: Mapping[str, Bom], stock: Mapping[str, StockLevel]):
        self.boms = boms
        for sku, kind in kinds.items():
            if kind not in ("purchased", "manufactured"):
                raise Invalid(f"{sku}: unknown item kind {kind!r}")
        self.skus = sorted(kinds)
        self.ids = {sku: g for g, sku in enumerate(self.skus)}
        self.made = [kinds[sku] == "manufactured" for sku in self.skus]
        n = len(self.skus)
        self.free = [0] * n
        for sku, lvl in stock.items():
            g = self.ids.get(sku)
            f = _units(lvl.on_hand, f"stock of {sku}") - _units(lvl.reserved, f"reservation of {sku}")
            if g is not None and f > 0:
                self.free[g] = f
        self.demand = [0] * n
        self.taken = [0] * n  # scratch of an order for several items: what it took (demand: what it needed)
        self.table: list[list[int] | None] = [_UNSEEN] * n  # components (None: purchased)
        self.kids: list[_Kids | None] = [None] * n  # the same with their quantities, once looked up
        self.cap = [_NO_CAP] * n  # can_build's limits (what the line took of a purchased item)
        self.monotone = True  # whether every BOM line adds to its component (scrap above −100 %)
        self.height = [-1] * n  # longest path down to a purchased item (so parents are higher); -1: unknown
        self.plans: dict[int, _Plan] = {}
        self.ratios: dict[tuple[Decimal, Decimal], tuple[int, int]] = {}  # (qty, scrap %) → num, den

    def id(self, sku: str) -> int:
        g = self.ids.get(sku)
        if g is None:
            raise Invalid(f"there is no item {sku}")
        return g

    def components(self, g: int) -> list[int] | None:
        """None for a purchased item, else its components (and `kids[g]` their quantities)."""
        got = self.table[g]
        if got is not _UNSEEN:
            return got
        sku = self.skus[g]
        if not self.made[g]:
            self.table[g] = None
            return None
        bom = self.boms.get(sku)
        if bom is None:
            raise Invalid(f"{sku} is manufactured but has no BOM")
        got = []
        ones: list[tuple[int, int]] = []
        fracs: list[tuple[int, int, int]] = []
        ratios = self.ratios
        for ln in bom.lines:
            c = self.ids.get(ln.component)
            if c is None:
                raise Invalid(f"BOM of {sku}: there is no item {ln.component}")
            if not ln.qty > 0:
                raise Invalid(f"BOM of {sku}: the quantity of {ln.component} must be above zero")
            key = (ln.qty, ln.scrap_pct)
            r = ratios.get(key)
            if r is None:
                m = (_units(ln.qty, f"BOM of {sku}, {ln.component}")
                     * (_PCT + _units(ln.scrap_pct, f"BOM of {sku}, scrap of {ln.component}")))
                k = gcd(m, _DEN)
                r = ratios[key] = (m // k, _DEN // k)
                if m < 0:
                    self.monotone = False
            got.append(c)
            if r[1] == 1:
                ones.append((c, r[0]))
            else:
                fracs.append((c, r[0], r[1]))
        self.kids[g] = (tuple(ones), tuple(fracs))
        self.table[g] = got
        return got

    def plan(self, top: int) -> _Plan:
        """Every item the explosion of `top` can reach, parents before components (by height)."""
        got = self.plans.get(top)
        if got is not None:
            return got
        height, table = self.height, self.table
        if height[top] < 0:
            self.measure(top)
        seen = {top}
        todo: Iterable[int] = seen
        while todo:  # one more level of components at a time, in C (set.update)
            below: set[int] = set()
            for g in todo:
                comps = table[g]
                if comps:
                    below.update(comps)
            todo = below - seen
            seen |= todo
        steps = sorted(seen, key=height.__getitem__, reverse=True)
        bought = [(i, g) for i, g in enumerate(steps) if table[g] is None]
        leaves = len(steps)
        for i, _g in reversed(bought if self.monotone else ()):  # (a negative requirement takes the long way)
            if i != leaves - 1:
                break
            leaves = i
        got = self.plans[top] = _Plan(steps, leaves, sorted(range(len(steps)), key=steps.__getitem__), bought)
        return got

    def measure(self, top: int) -> None:
        """The height of `top` and of every item below it not measured yet, depth first; refuses what it
        meets on the way (a missing BOM or item, a cycle named by its path). The items measured before
        were found sound, so the first fault met is the one a walk down from `top` alone would meet."""
        height, table, components = self.height, self.table, self.components
        height[top] = -2  # -2: on the path
        comps = table[top]
        stack = [(top, iter((components(top) if comps is _UNSEEN else comps) or ()))]
        while stack:
            g, it = stack[-1]
            for c in it:
                h = height[c]
                if h == -1:
                    height[c] = -2
                    comps = table[c]
                    stack.append((c, iter((components(c) if comps is _UNSEEN else comps) or ())))
                    break
                if h == -2:
                    path = [p for p, _i in stack]
                    cycle = [self.skus[p] for p in path[path.index(c):]] + [self.skus[c]]
                    raise Invalid(f"BOM cycle: {' → '.join(cycle)}")
            else:
                stack.pop()
                comps = table[g]
                height[g] = 1 + max([height[c] for c in comps]) if comps else 0

    def explode(self, plan: _Plan, qty: int) -> tuple[list[int], list[int], int]:
        """Serve `qty` of the plan's item: take from free stock, build the rest. Returns, by position in the
        plan, what reached each item and what this line took of it, and a guess at max buildable (qty × the
        worst-covered share of a purchased item; qty when nothing is short)."""
        free, demand, kids, steps, leaves = self.free, self.demand, self.kids, plan.steps, plan.leaves
        n = len(steps)
        dem = [0] * n
        took = [0] * n
        demand[steps[0]] = qty
        guess = qty
        i = -1
        for g in steps[:leaves]:
            i += 1
            d = demand[g]
            if not d:
                continue
            demand[g] = 0
            dem[i] = d
            f = free[g]
            if f:
                if d <= f:
                    free[g] = f - d
                    took[i] = d
                    continue
                free[g] = 0
                took[i] = f
                ks = kids[g]
                if ks is None:
                    if f * qty // d < guess:
                        guess = f * qty // d
                    continue
                d -= f
            else:
                ks = kids[g]
                if ks is None:
                    guess = 0
                    continue
            ones, fracs = ks
            for c, num in ones:
                demand[c] += d * num
            for c, num, den in fracs:
                demand[c] -= -d * num // den
        for g in steps[leaves:]:  # the purchased items: only stock to take
            i += 1
            d = demand[g]
            if d:
                demand[g] = 0
                dem[i] = d
                f = free[g]
                if d <= f:
                    free[g] = f - d
                    took[i] = d
                elif f:
                    free[g] = 0
                    took[i] = f
                    if f * qty // d < guess:
                        guess = f * qty // d
                else:
                    guess = 0
        return dem, took, guess

    def can_build(self, plan: _Plan, qty: int, took: list[int]) -> bool:
        """Whether `took` (one line's allocation, by position) covers building `qty` of the plan's item by
        the same rules. A purchased item's limit is in `cap`: as requirements only add up (`monotone`), the
        first one to pass it settles the answer."""
        kids, demand, cap, steps = self.kids, self.demand, self.cap, plan.steps
        demand[steps[0]] = qty
        i = -1
        for g in steps:
            i += 1
            d = demand[g]
            if not d:
                continue
            demand[g] = 0
            d -= took[i]
            if d > 0:
                ks = kids[g]
                if ks is None:
                    break
                ones, fracs = ks
                for c, num in ones:
                    x = demand[c] + d * num
                    demand[c] = x
                    if x > cap[c]:
                        break
                else:
                    for c, num, den in fracs:
                        x = demand[c] - (-d * num // den)
                        demand[c] = x
                        if x > cap[c]:
                            break
                    else:
                        continue
                break
        else:
            return True
        for g in steps[i + 1:]:  # leave the scratch all zero
            demand[g] = 0
        return False

    def max_buildable(self, plan: _Plan, qty: int, step: int, took: list[int], guess: int) -> int:
        """The largest k × step ≤ qty that `took` can build, for a line that is short (so not qty itself).
        Requirements grow at least in proportion to the quantity, so `guess` is (up to rounding) buildable:
        it is tried first, and the one step above it."""
        if not any(took):
            return 0
        cap, limited = self.cap, plan.bought if self.monotone else []
        for i, g in limited:
            cap[g] = took[i]
        try:
            return self._search(plan, qty, step, took, guess)
        finally:
            for _i, g in limited:
                cap[g] = _NO_CAP

    def _search(self, plan: _Plan, qty: int, step: int, took: list[int], guess: int) -> int:
        hi = qty // step + 1  # the smallest count known not to be buildable
        if (hi - 1) * step == qty:
            hi -= 1
        lo = 0  # known buildable
        g = guess // step
        for k in (g, g + 1):
            if lo < k < hi:
                if self.can_build(plan, k * step, took):
                    lo = k
                else:
                    hi = k
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.can_build(plan, mid * step, took):
                lo = mid
            else:
                hi = mid
        return lo * step

    def report(self, order_id: str, parts: list[tuple[_Plan, list[int], list[int]]],
               products: list[ProductKit]) -> OrderKit:
        """The order's lines from its explosions (plan, what reached each item, what was taken), by sku."""
        lines: list[KitLine] = []
        if len(parts) == 1:
            plan, dem, took = parts[0]
            complete = self.lines(plan.steps, plan.by_sku, dem, took, lines)
        else:
            seen: set[int] = set()
            for plan, _dem, _took in parts:
                if not seen.isdisjoint(plan.steps):
                    break
                seen.update(plan.steps)
            else:  # the items share nothing (the usual case): each one's lines, merged by sku
                complete = True
                for plan, dem, took in parts:
                    complete &= self.lines(plan.steps, plan.by_sku, dem, took, lines)
                lines.sort(key=_SKU)
                return OrderKit(order_id, complete, None, tuple(products), tuple(lines))
            # they share some: add their explosions up by item (in the scratch lists, zero again after)
            req, tk = self.demand, self.taken
            touched: set[int] = set()
            for plan, dem, took in parts:
                touched.update(plan.steps)
                for g, d, t in zip(plan.steps, dem, took, strict=True):
                    req[g] += d
                    tk[g] += t
            steps = sorted(touched)
            dem = [req[g] for g in steps]
            took = [tk[g] for g in steps]
            for g in steps:
                req[g] = tk[g] = 0
            complete = self.lines(steps, range(len(steps)), dem, took, lines)
        return OrderKit(order_id, complete, products[0].max_buildable if len(products) == 1 else None,
                        tuple(products), tuple(lines))

    def lines(self, steps: list[int], order: Iterable[int], dem: list[int], took: list[int],
              lines: list[KitLine]) -> bool:
        """Adds the report's lines for `steps` (in `order`: positions by sku) to `lines`: purchased items
        reached and manufactured items taken from stock. Whether none is short."""
        skus, made, free, tick = self.skus, self.made, self.free, _TICK
        new = tuple.__new__  # KitLine's own __new__ is Python code: twice as slow for the same tuple
        add = lines.append
        complete = True
        for i in order:
            d = dem[i]
            if not d:
                continue
            t = took[i]
            g = steps[i]
            if made[g]:
                if t:
                    a = free[g] + t  # what was free when the order's turn came
                    dd = tick * d
                    add(new(KitLine, (skus[g], dd, tick * a, dd, ZERO, ZERO)) if t == d
                        else new(KitLine, (skus[g], dd, tick * a, tick * t, ZERO, tick * (d - t))))
            elif t == d:
                dd = tick * d
                add(new(KitLine, (skus[g], dd, tick * (free[g] + t), dd, ZERO, ZERO)))
            else:
                complete = False
                dd = tick * d
                a = free[g] + t
                add(new(KitLine, (skus[g], dd, tick * a, tick * t, tick * (d - t), ZERO)) if t
                    else new(KitLine, (skus[g], dd, tick * a if a else ZERO, ZERO, dd, ZERO)))
        return complete


def kitting(orders: Iterable[KitOrder], kinds: Mapping[str, str], boms: Mapping[str, Bom],
            stock: Mapping[str, StockLevel], *, step: Decimal = Decimal(1), only: str | None = None) -> list[OrderKit]:
    """Kitting of `orders` in priority order (see the module's rules), one `OrderKit` each, in that order.
    `kinds`: sku → "purchased" | "manufactured" for every item; `boms`: sku → BOM of the manufactured items;
    `stock`: sku → on hand and reserved (missing: none). Max buildable is counted in multiples of `step`.
    With `only`, the orders before it in priority take their stock first and the answer is for that order
    alone."""
    # A run over all open orders makes hundreds of thousands of result lines that all live until it ends:
    # the cyclic garbage collector would walk them again and again and could free none (as in mrp.py).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _kitting(orders, kinds, boms, stock, step, only)
    finally:
        if collecting:
            gc.enable()


def _kitting(orders: Iterable[KitOrder], kinds: Mapping[str, str], boms: Mapping[str, Bom],
             stock: Mapping[str, StockLevel], step: Decimal, only: str | None) -> list[OrderKit]:
    if not step > 0:
        raise Invalid("the step of max buildable must be above zero")
    step_u = _units(step, "step")
    queue = sorted(orders, key=lambda o: (o.key, o.order_id))
    if only is not None and all(o.order_id != only for o in queue):
        raise Invalid(f"there is no open order {only}")
    run = _Run(kinds, boms, stock)
    out: list[OrderKit] = []
    for order in queue:
        wanted: dict[int, int] = {}
        for ol in order.lines:
            if not ol.qty > 0:
                raise Invalid(f"order {order.order_id}: the quantity of {ol.sku} must be above zero")
            g = run.id(ol.sku)
            wanted[g] = wanted.get(g, 0) + _units(ol.qty, f"order {order.order_id}, {ol.sku}")
        if not wanted:
            raise Invalid(f"order {order.order_id} has no lines")
        if only is not None and order.order_id != only:  # it only takes its stock before the one asked for
            for top, qty in wanted.items():
                run.explode(run.plan(top), qty)
            continue
        products: list[ProductKit] = []
        parts: list[tuple[_Plan, list[int], list[int]]] = []
        for top, qty in wanted.items():
            plan = run.plan(top)
            dem, took, guess = run.explode(plan, qty)
            mb = qty if guess == qty else run.max_buildable(plan, qty, step_u, took, guess)
            products.append(ProductKit(run.skus[top], _dec(qty), _dec(mb)))
            parts.append((plan, dem, took))
        out.append(run.report(order.order_id, parts, products))
        if only is not None:
            break
    return out


def kit_order(order: KitOrder, kinds: Mapping[str, str], boms: Mapping[str, Bom],
              stock: Mapping[str, StockLevel], *, step: Decimal = Decimal(1)) -> OrderKit:
    """One order on its own against the free stock (as if it were first in line)."""
    return kitting([order], kinds, boms, stock, step=step)[0]


__all__ = ["Q4", "KitLine", "KitOrder", "OrderKit", "OrderLine", "ProductKit", "StockLevel", "kit_order", "kitting"]
