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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
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
    return Decimal(n) * _TICK if n else ZERO


_UNSEEN: list[tuple[int, int]] = []  # marks an item whose components are not looked up yet


class _Run:
    """One kitting run's state. Items are numbered; per item arrays hold free stock and, while an order is
    served, what reached it, what it took and what was free when the order's turn came (-1: untouched)."""

    def __init__(self, kinds: Mapping[str, str], boms: Mapping[str, Bom], stock: Mapping[str, StockLevel]):
        self.boms = boms
        self.skus = list(kinds)
        self.ids = {sku: g for g, sku in enumerate(self.skus)}
        for sku, kind in kinds.items():
            if kind not in ("purchased", "manufactured"):
                raise Invalid(f"{sku}: unknown item kind {kind!r}")
        self.made = [kind == "manufactured" for kind in kinds.values()]
        n = len(self.skus)
        self.free = [0] * n
        for sku, lvl in stock.items():
            g = self.ids.get(sku)
            f = _units(lvl.on_hand, f"stock of {sku}") - _units(lvl.reserved, f"reservation of {sku}")
            if g is not None and f > 0:
                self.free[g] = f
        self.demand = [0] * n  # scratch of one explosion; zero again after it
        self.req = [0] * n  # what reached the item in this order
        self.took = [0] * n  # what this order took of it
        self.avail = [-1] * n  # its free stock when the order's turn came; -1: not touched by the order
        self.table: list[list[tuple[int, int]] | None] = [_UNSEEN] * n
        self.plans: dict[int, tuple[list[int], list[int]]] = {}

    def id(self, sku: str) -> int:
        g = self.ids.get(sku)
        if g is None:
            raise Invalid(f"there is no item {sku}")
        return g

    def components(self, g: int) -> list[tuple[int, int]] | None:
        """None for a purchased item, else [(component, qty × (100 % + scrap %) in scaled integers)]."""
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
        for ln in bom.lines:
            c = self.ids.get(ln.component)
            if c is None:
                raise Invalid(f"BOM of {sku}: there is no item {ln.component}")
            if not ln.qty > 0:
                raise Invalid(f"BOM of {sku}: the quantity of {ln.component} must be above zero")
            got.append((c, _units(ln.qty, f"BOM of {sku}, {ln.component}")
                        * (_PCT + _units(ln.scrap_pct, f"BOM of {sku}, scrap of {ln.component}"))))
        self.table[g] = got
        return got

    def plan(self, top: int) -> tuple[list[int], list[int]]:
        """Every item the explosion of `top` can reach, parents before components (reversed depth-first
        post-order), and the same items by sku (the report's order)."""
        got = self.plans.get(top)
        if got is not None:
            return got
        post: list[int] = []
        table, components = self.table, self.components
        state = {top: 1}  # 1: on the path, 2: done
        comps = table[top]
        stack = [(top, iter((components(top) if comps is _UNSEEN else comps) or ()))]
        while stack:
            g, it = stack[-1]
            for c, _m in it:
                mark = state.get(c)
                if mark is None:
                    state[c] = 1
                    comps = table[c]
                    stack.append((c, iter((components(c) if comps is _UNSEEN else comps) or ())))
                    break
                if mark == 1:
                    path = [p for p, _i in stack]
                    cycle = [self.skus[p] for p in path[path.index(c):]] + [self.skus[c]]
                    raise Invalid(f"BOM cycle: {' → '.join(cycle)}")
            else:
                stack.pop()
                state[g] = 2
                post.append(g)
        post.reverse()
        got = (post, sorted(post, key=self.skus.__getitem__))
        self.plans[top] = got
        return got

    def explode(self, steps: list[int], qty: int) -> tuple[dict[int, int], int]:
        """Serve `qty` of the plan's item: take from free stock, add to the order's req/took/avail. Returns
        what this line took (item → qty) and a guess at max buildable (qty × the worst-covered share of a
        purchased item; qty when nothing is short)."""
        demand, free, table, req, took, avail = self.demand, self.free, self.table, self.req, self.took, self.avail
        den = _DEN
        demand[steps[0]] = qty
        taken: dict[int, int] = {}
        guess = qty
        for g in steps:
            d = demand[g]
            if not d:
                continue
            demand[g] = 0
            req[g] += d
            f = free[g]
            if avail[g] < 0:
                avail[g] = f
            comps = table[g]
            if f:
                t = d if d < f else f
                free[g] = f - t
                took[g] += t
                taken[g] = t
                if comps is None:
                    if t < d and t * qty // d < guess:
                        guess = t * qty // d
                    continue
                d -= t
                if not d:
                    continue
            elif comps is None:
                guess = 0
                continue
            for c, m in comps:  # type: ignore[union-attr]
                demand[c] -= -d * m // den
        return taken, guess

    def can_build(self, steps: list[int], qty: int, stock: dict[int, int]) -> bool:
        """Whether `stock` (one line's allocation) covers building `qty` of the plan's item by the same rules."""
        table, demand, den = self.table, self.demand, _DEN
        demand[steps[0]] = qty
        for i, g in enumerate(steps):
            d = demand[g]
            if not d:
                continue
            demand[g] = 0
            d -= stock.get(g, 0)
            if d > 0:
                comps = table[g]
                if comps is None:
                    for rest in steps[i + 1:]:  # leave the scratch all zero
                        demand[rest] = 0
                    return False
                for c, m in comps:
                    demand[c] -= -d * m // den
        return True

    def max_buildable(self, steps: list[int], qty: int, step: int, taken: dict[int, int], guess: int) -> int:
        """The largest k × step ≤ qty that `taken` can build, for a line that is short (so not qty itself).
        Requirements grow at least in proportion to the quantity, so `guess` is (up to rounding) buildable:
        it is tried first, and the one step above it."""
        if not taken:
            return 0
        hi = qty // step + 1  # the smallest count known not to be buildable
        if (hi - 1) * step == qty:
            hi -= 1
        lo = 0  # known buildable
        g = guess // step
        for k in (g, g + 1):
            if lo < k < hi:
                if self.can_build(steps, k * step, taken):
                    lo = k
                else:
                    hi = k
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.can_build(steps, mid * step, taken):
                lo = mid
            else:
                hi = mid
        return lo * step

    def report(self, order_id: str, ids: list[int], products: list[ProductKit]) -> OrderKit:
        """The order's lines from req/took/avail (items in `ids`, by sku), which are reset for the next order."""
        skus, made, req, took, avail = self.skus, self.made, self.req, self.took, self.avail
        tick = _TICK
        lines: list[KitLine] = []
        add = lines.append
        complete = True
        for g in ids:
            d = req[g]
            if not d:
                continue
            t, a = took[g], avail[g]
            req[g] = took[g] = 0
            avail[g] = -1
            dd = Decimal(d) * tick
            da = Decimal(a) * tick if a else ZERO
            if made[g]:
                if t:
                    add(KitLine(skus[g], dd, da, dd if t == d else Decimal(t) * tick, ZERO,
                                ZERO if t == d else Decimal(d - t) * tick))
            elif t == d:
                add(KitLine(skus[g], dd, da, dd, ZERO))
            else:
                complete = False
                add(KitLine(skus[g], dd, da, Decimal(t) * tick, Decimal(d - t) * tick) if t
                    else KitLine(skus[g], dd, da, ZERO, dd))
        return OrderKit(order_id, complete, products[0].max_buildable if len(products) == 1 else None,
                        tuple(products), tuple(lines))

    def forget(self, ids: list[int]) -> None:
        for g in ids:
            self.req[g] = self.took[g] = 0
            self.avail[g] = -1


def kitting(orders: Iterable[KitOrder], kinds: Mapping[str, str], boms: Mapping[str, Bom],
            stock: Mapping[str, StockLevel], *, step: Decimal = Decimal(1), only: str | None = None) -> list[OrderKit]:
    """Kitting of `orders` in priority order (see the module's rules), one `OrderKit` each, in that order.
    `kinds`: sku → "purchased" | "manufactured" for every item; `boms`: sku → BOM of the manufactured items;
    `stock`: sku → on hand and reserved (missing: none). Max buildable is counted in multiples of `step`.
    With `only`, the orders before it in priority take their stock first and the answer is for that order
    alone."""
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
        report = only is None or order.order_id == only
        products: list[ProductKit] = []
        touched: list[int] = []
        for top, qty in wanted.items():
            steps, by_sku = run.plan(top)
            taken, guess = run.explode(steps, qty)
            touched = by_sku if len(wanted) == 1 else touched + by_sku
            if report:
                mb = qty if guess == qty else run.max_buildable(steps, qty, step_u, taken, guess)
                products.append(ProductKit(run.skus[top], _dec(qty), _dec(mb)))
        if len(wanted) > 1:
            touched = sorted(set(touched), key=run.skus.__getitem__)
        if not report:
            run.forget(touched)
            continue
        out.append(run.report(order.order_id, touched, products))
        if only is not None:
            break
    return out


def kit_order(order: KitOrder, kinds: Mapping[str, str], boms: Mapping[str, Bom],
              stock: Mapping[str, StockLevel], *, step: Decimal = Decimal(1)) -> OrderKit:
    """One order on its own against the free stock (as if it were first in line)."""
    return kitting([order], kinds, boms, stock, step=step)[0]


__all__ = ["Q4", "KitLine", "KitOrder", "OrderKit", "OrderLine", "ProductKit", "StockLevel", "kit_order", "kitting"]
