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
  (manufactured: covered by its components, whose lines show any shortage). The report lists every
  item the order reaches: the ordered items, the sub-assemblies taken from stock or to build (for 10 F
  whose sub-assembly A has no stock, A's line says 20 to build) and the purchased items. The order is
  complete when no shortage is left anywhere.
- Max buildable of an ordered item: the largest quantity q, a multiple of `step` and at most the
  ordered quantity, such that building q by the same rules (stock first, the rest built) needs no
  more of any item than this order line was allocated; the full quantity when the line is complete.
  Requirements grow with q, so the answer is found by searching q.

A manufactured item without a BOM, an unknown item, a BOM cycle, a quantity that is not above zero or a
scrap outside 0–100 % is refused (`Invalid`) naming it. Quantities are kept to four places (`bom.Q4`);
internally they are integers of 1/10,000, with the same rounding as `need`.

How it is computed (bench/kitting.py: 10,000 items, 50,000 BOM lines, 6 levels, 1,000 open orders →
567,073 result lines, the sub-assemblies to build included). The only thing orders share is each item's free
stock, and an item's stock goes to the order lines that reach it in priority order. So instead of exploding
one order line after another, the run goes item by item, from the highest items (the longest path down to a
purchased item) to the lowest, and at each item serves every order line that reached it, in priority order:
the same numbers, because every parent of an item is higher than it, so each line's demand for the item is
complete when its turn comes. All the items of one height are served at once, on numpy arrays of (item, order
line, quantity): sorted by item then line, demand from several parents added up, free stock handed out by a
running total within each item, and what is left of a manufactured item passed down its BOM lines (a BOM
line is a ratio num/den in lowest terms: ⌈r × num / den⌉). The integers are 64-bit when an upper bound of
every requirement (worked out first, in floats with a wide margin) says they cannot overflow, else Python's
own integers in object arrays (the same code, slower). Python loops are left for building the report's lines
(a Decimal made only for a value the line does not hold already) and for max buildable, which is searched only
for the short lines (can_build: a walk of that line's items, stopping at the first purchased item whose
requirement passes what the line took). A plain Decimal version of the rules is in tests/unit/test_kitting.py,
and random companies must come out the same from both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from math import gcd
from typing import Any, NamedTuple

import numpy as np

from domain.core import collector
from domain.core.errors import Invalid
from domain.manufacturing.bom import Q4, Bom, units

SCALE = 10_000  # one unit in 1/10,000ths (four places, as bom.Q4)
_PCT = 100 * SCALE  # 100 % in scrap units of 1/10,000 %
_DEN = SCALE * _PCT  # need = ceil(parent × qty × (100 % + scrap %) / _DEN), all three in scaled integers
ZERO = Decimal(0)
_SAFE = float(1 << 60)  # 64-bit arithmetic while every product stays below this (a factor of 8 to spare)
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


_TICK = Decimal(1).scaleb(-4)  # 0.0001


def _dec(n: int) -> Decimal:
    return _TICK * n if n else ZERO  # Decimal × int: the int is converted exactly, twice as fast as Decimal(n)


# An item's components, for the explosion: building r of it needs r × num of each (component, num) in the
# first tuple (whole quantities, no scrap: most lines) and ⌈r × num / den⌉ of each (component, num, den) in
# the second. num / den is qty × (100 % + scrap %) in lowest terms: the same rounding as `bom.need`.


# An item's components with what building r of it needs of each: r × num of each (component, num) in the
# first tuple (whole quantities, no scrap: most lines) and ⌈r × num / den⌉ of each (component, num, den) in
# the second. num / den is qty × (100 % + scrap %) in lowest terms: the same rounding as `bom.need`.
_Kids = tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int, int], ...]]
_UNSEEN: list[int] = []  # marks an item whose components are not looked up yet
_NO_CAP = 1 << 128  # above any requirement
_Records = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # item, line, required, took, free


class _Run:
    """One kitting run's state. Items are numbered in sku order (so sorting numbers sorts skus); `free` is
    every item's free stock; `height` the longest path down to a purchased item (parents are higher)."""

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
            f = units(lvl.on_hand, f"stock of {sku}") - units(lvl.reserved, f"reservation of {sku}")
            if g is not None and f > 0:
                self.free[g] = f
        self.demand = [0] * n  # can_build's scratch (zero again after it)
        self.table: list[list[int] | None] = [_UNSEEN] * n  # components (None: purchased)
        self.kids: list[_Kids | None] = [None] * n  # the same with their quantities, once looked up
        self.cap = [_NO_CAP] * n  # can_build's limits (what the line took of a purchased item)
        self.height = [-1] * n  # -1: not measured yet
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
            key = (ln.qty, ln.scrap_pct)
            r = ratios.get(key)
            if r is None:  # (a quantity and scrap met before were checked then)
                if not ln.qty > 0:
                    raise Invalid(f"BOM of {sku}: the quantity of {ln.component} must be above zero")
                if not 0 <= ln.scrap_pct < 100:
                    raise Invalid(f"BOM of {sku}: the scrap of {ln.component} must be from 0 to under 100 %")
                m = (units(ln.qty, f"BOM of {sku}, {ln.component}")
                     * (_PCT + units(ln.scrap_pct, f"BOM of {sku}, scrap of {ln.component}")))
                k = gcd(m, _DEN)
                r = ratios[key] = (m // k, _DEN // k)
            got.append(c)
            if r[1] == 1:
                ones.append((c, r[0]))
            else:
                fracs.append((c, r[0], r[1]))
        self.kids[g] = (tuple(ones), tuple(fracs))
        self.table[g] = got
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

    def sweep(self, tops: list[int], qtys: list[int]) -> _Records:
        """Serves order lines `tops[k]`, `qtys[k]` (k: the line's place in priority order) item by item, the
        highest items first, every line that reached an item in priority order. Returns one record per item
        and line that reached it: (item, line, required, took, free when the line's turn came), the items of
        one height together, from the highest height down."""
        nl = len(tops)
        height = np.array(self.height, dtype=np.int64)
        made = np.array(self.made, dtype=bool)
        start, count, child, num, den = self.bom_lines()
        dtype = object if self.too_big(tops, qtys, start, count, child, num, den) else np.int64
        if dtype is not object:
            num, den = num.astype(np.int64), den.astype(np.int64)
        free = np.array(self.free, dtype=dtype)
        # Per height, the (item, line, quantity) arrays that reached it, from the lines and from parents.
        waiting: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}

        def pass_down(g: np.ndarray, k: np.ndarray, q: np.ndarray) -> None:
            h = height[g]
            for lv, many in enumerate(np.bincount(h).tolist()):
                if many:
                    at = h == lv
                    waiting.setdefault(lv, []).append((g[at], k[at], q[at]))

        top = np.array(tops, dtype=np.int64)
        pass_down(top, np.arange(nl, dtype=np.int64), np.array(qtys, dtype=dtype))
        out: list[tuple[np.ndarray, ...]] = []
        for lv in range(max(waiting), -1, -1):
            parts = waiting.pop(lv, None)
            if not parts:
                continue
            key = np.concatenate([p[0] for p in parts]) * nl + np.concatenate([p[1] for p in parts])
            d = np.concatenate([p[2] for p in parts])
            by = np.argsort(key)  # by item, then line: each item's lines in priority order
            key, d = key[by], d[by]
            heads = _heads(key)
            if len(heads) < len(key):  # a line that reached an item from several parents: added up first
                d, key = np.add.reduceat(d, heads), key[heads]
            g = key // nl
            k = key - g * nl
            # each item's free stock to its lines in turn: a running total of demand within the item
            firsts = _heads(g)
            cum = np.cumsum(d)
            before = cum - d
            base = before[firsts]
            before -= np.repeat(base, np.diff(np.append(firsts, len(g))))
            f = free[g]
            avail = np.maximum(f - before, 0)  # free when the line's turn came
            took = np.minimum(avail, d)
            items = g[firsts]
            free[items] = np.maximum(free[items] - (cum[np.append(firsts[1:], len(g)) - 1] - base), 0)
            out.append((g, k, d, took, avail))
            # what stock did not cover of a manufactured item is built: its components' share, ⌈r × num / den⌉
            rest = d - took
            build = made[g] & (rest > 0)
            if not build.any():
                continue
            g, k, rest = g[build], k[build], rest[build]
            per = count[g]
            total = int(per.sum())
            if not total:
                continue
            e = np.arange(total) + np.repeat(start[g] - (np.cumsum(per) - per), per)  # their BOM lines
            pass_down(child[e], np.repeat(k, per), -((-np.repeat(rest, per) * num[e]) // den[e]))
        cols = list(zip(*out, strict=True))
        return (np.concatenate(cols[0]), np.concatenate(cols[1]), np.concatenate(cols[2]),
                np.concatenate(cols[3]), np.concatenate(cols[4]))

    def bom_lines(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The BOM lines of the items looked up, as arrays: item g's are at start[g] … start[g] + count[g]
        of child, num and den."""
        n = len(self.skus)
        start, count = [0] * n, [0] * n
        child: list[int] = []
        num: list[int] = []
        den: list[int] = []
        for g, ks in enumerate(self.kids):
            if ks is None:
                continue
            ones, fracs = ks
            start[g], count[g] = len(child), len(ones) + len(fracs)
            for c, m in ones:
                child.append(c)
                num.append(m)
                den.append(1)
            for c, m, q in fracs:
                child.append(c)
                num.append(m)
                den.append(q)
        return (np.array(start, dtype=np.int64), np.array(count, dtype=np.int64), np.array(child, dtype=np.int64),
                np.array(num, dtype=object), np.array(den, dtype=object))

    def too_big(self, tops: list[int], qtys: list[int], start: np.ndarray, count: np.ndarray, child: np.ndarray,
                num: np.ndarray, den: np.ndarray) -> bool:
        """Whether 64-bit integers could overflow: an upper bound of what reaches each item (all lines added
        up, stock ignored, each rounding up counted as a whole unit per line), in floats."""
        n, nl = len(self.skus), len(tops)
        numf, denf = num.astype(float), den.astype(float)
        if numf.size and max(numf.max(), denf.max()) >= _SAFE:
            return True
        bound = np.zeros(n)
        np.add.at(bound, np.array(tops, dtype=np.int64), np.array(qtys, dtype=float))
        parent = np.repeat(np.arange(n), count)
        ph = np.array(self.height, dtype=np.int64)[parent]
        for lv in range(max(self.height), 0, -1):
            at = ph == lv
            np.add.at(bound, child[at], bound[parent[at]] * numf[at] / denf[at] + nl)
        worst = max(bound.sum(), float(max(self.free, default=0)), float(n) * nl,
                    float((bound[parent] * numf).max()) if parent.size else 0.0)
        return bool(worst >= _SAFE)

    def can_build(self, steps: list[int], qty: int, took: list[int]) -> bool:
        """Whether `took` (one line's allocation, by position in `steps`: the items the line reached, parents
        first) covers building `qty` of steps[0] by the same rules. A purchased item's limit is in `cap`: as
        requirements only add up, the first one to pass it settles the answer."""
        kids, demand, cap = self.kids, self.demand, self.cap
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

    def max_buildable(self, steps: list[int], took: list[int], qty: int, step: int, guess: int) -> int:
        """The largest k × step ≤ qty that `took` can build, for a line that is short (so not qty itself).
        Requirements grow at least in proportion to the quantity, so `guess` (qty × the worst-covered share
        of a purchased item) is about buildable: it is tried first, and the one step above it."""
        if not any(took):
            return 0
        cap, made = self.cap, self.made
        limited = [(i, g) for i, g in enumerate(steps) if not made[g]]
        for i, g in limited:
            cap[g] = took[i]
        try:
            return self._search(steps, qty, step, took, guess)
        finally:
            for _i, g in limited:
                cap[g] = _NO_CAP

    def _search(self, steps: list[int], qty: int, step: int, took: list[int], guess: int) -> int:
        hi = qty // step + 1  # the smallest count known not to be buildable
        if (hi - 1) * step == qty:
            hi -= 1
        lo = 0  # known buildable
        g = guess // step
        for k in (g, g + 1):
            if lo < k < hi:
                if self.can_build(steps, k * step, took):
                    lo = k
                else:
                    hi = k
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.can_build(steps, mid * step, took):
                lo = mid
            else:
                hi = mid
        return lo * step


def _heads(key: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts in a sorted array."""
    new = np.empty(len(key), dtype=bool)
    new[:1] = True
    np.not_equal(key[1:], key[:-1], out=new[1:])
    return np.flatnonzero(new)


def kitting(orders: Iterable[KitOrder], kinds: Mapping[str, str], boms: Mapping[str, Bom],
            stock: Mapping[str, StockLevel], *, step: Decimal = Decimal(1), only: str | None = None) -> list[OrderKit]:
    """Kitting of `orders` in priority order (see the module's rules), one `OrderKit` each, in that order.
    `kinds`: sku → "purchased" | "manufactured" for every item; `boms`: sku → BOM of the manufactured items;
    `stock`: sku → on hand and reserved (missing: none). Max buildable is counted in multiples of `step`.
    With `only`, the orders before it in priority take their stock first and the answer is for that order
    alone."""
    # A run over all open orders makes hundreds of thousands of result lines that all live until it ends:
    # the cyclic garbage collector would walk them again and again and could free none (as in mrp.py).
    with collector.paused():
        return _kitting(orders, kinds, boms, stock, step, only)


def _kitting(orders: Iterable[KitOrder], kinds: Mapping[str, str], boms: Mapping[str, Bom],
             stock: Mapping[str, StockLevel], step: Decimal, only: str | None) -> list[OrderKit]:
    if not step > 0:
        raise Invalid("the step of max buildable must be above zero")
    step_u = units(step, "step")
    queue = sorted(orders, key=lambda o: (o.key, o.order_id))
    if only is not None:
        at = next((i for i, o in enumerate(queue) if o.order_id == only), None)
        if at is None:
            raise Invalid(f"there is no open order {only}")
        del queue[at + 1:]  # the orders after it cannot take its stock
    run = _Run(kinds, boms, stock)
    tops: list[int] = []  # the order lines, in priority order: item, quantity, order (its place in the queue)
    qtys: list[int] = []
    owner: list[int] = []
    for o, order in enumerate(queue):
        wanted: dict[int, int] = {}
        for ol in order.lines:
            if not ol.qty > 0:
                raise Invalid(f"order {order.order_id}: the quantity of {ol.sku} must be above zero")
            g = run.id(ol.sku)
            wanted[g] = wanted.get(g, 0) + units(ol.qty, f"order {order.order_id}, {ol.sku}")
        if not wanted:
            raise Invalid(f"order {order.order_id} has no lines")
        for g, qty in wanted.items():
            if run.height[g] < 0:
                run.measure(g)
            tops.append(g)
            qtys.append(qty)
            owner.append(o)
    if not tops:
        return []
    records = run.sweep(tops, qtys)
    first = len(queue) - 1 if only is not None else 0  # the first order to answer for
    return _report(run, queue[first:], first, tops, qtys, owner, records, step_u)


def _report(run: _Run, queue: list[KitOrder], first: int, tops: list[int], qtys: list[int], owner: list[int],
            records: _Records, step: int) -> list[OrderKit]:
    """Each order's answer (queue[i] is order first + i) from the sweep's records."""
    n = len(run.skus)
    made = np.array(run.made, dtype=bool)
    g, k, d, took, avail = records
    line_owner = np.array(owner, dtype=np.int64)
    if first:
        mine = line_owner[k] >= first
        g, k, d, took, avail = g[mine], k[mine], d[mine], took[mine], avail[mine]
    # the lines that are short of a purchased item, and what share of it they got (max buildable's guess)
    short = ~made[g] & (took < d)
    short_line = np.zeros(len(tops), dtype=bool)
    short_line[k[short]] = True
    share = np.ones(len(tops))
    np.minimum.at(share, k[short], took[short].astype(float) / d[short].astype(float))
    # each order's lines, by sku: its order lines' records for the same item added up; free when the first
    # of them came (the most: a later line's turn comes after the stock the earlier one took)
    o = line_owner[k] - first
    key = o * n + g
    by = np.argsort(key)
    key, dd, tt, aa = key[by], d[by], took[by], avail[by]
    heads = _heads(key)
    if len(heads) < len(key):
        dd, tt, aa = np.add.reduceat(dd, heads), np.add.reduceat(tt, heads), np.maximum.reduceat(aa, heads)
        key = key[heads]
    o = key // n
    gg = key - o * n
    short_orders = np.zeros(len(queue), dtype=bool)
    short_orders[o[~made[gg] & (tt < dd)]] = True
    incomplete = short_orders.tolist()
    bounds = np.searchsorted(o, np.arange(len(queue) + 1)).tolist()
    lines = _kit_lines(run, gg.tolist(), dd.tolist(), tt.tolist(), aa.tolist())
    # the short lines' records, by line, the highest items first (the records come height by height)
    sk = short_line[k]
    by = np.argsort(k[sk], kind="stable")
    sg, sl, st = g[sk][by].tolist(), k[sk][by], took[sk][by].tolist()
    line_bounds = np.searchsorted(sl, np.arange(len(tops) + 1)).tolist()
    out: list[OrderKit] = []
    short_lines, shares = short_line.tolist(), share.tolist()
    line = owner.index(first)
    for i, order in enumerate(queue):
        products: list[ProductKit] = []
        while line < len(tops) and owner[line] == first + i:
            qty = qtys[line]
            if short_lines[line]:
                a, b = line_bounds[line], line_bounds[line + 1]
                mb = run.max_buildable(sg[a:b], st[a:b], qty, step, int(qty * shares[line]))
            else:
                mb = qty
            products.append(ProductKit(run.skus[tops[line]], _dec(qty), _dec(mb)))
            line += 1
        out.append(OrderKit(order.order_id, not incomplete[i], products[0].max_buildable if len(products) == 1 else None,
                            tuple(products), tuple(lines[bounds[i]:bounds[i + 1]])))
    return out


def _kit_lines(run: _Run, items: list[int], req: list[int], took: list[int], free: list[int]) -> list[KitLine]:
    """The report's lines: (item, required, took, free when the order's turn came) in units of 1/10,000; what is
    not taken is short of a purchased item, to build of a manufactured one. One Decimal per value the line does
    not hold already: most lines take all they need (allocated = required) or nothing (the rest = required)."""
    skus, made, tick, zero = run.skus, run.made, _TICK, ZERO
    new = tuple.__new__  # KitLine's own __new__ is Python code: twice as slow for the same tuple
    lines: list[KitLine] = []
    add = lines.append
    for g, d, t, a in zip(items, req, took, free, strict=True):
        dd = tick * d
        if t == d:
            add(new(KitLine, (skus[g], dd, tick * a, dd, zero, zero)))
        elif not t:
            if made[g]:  # a sub-assembly (or the ordered item) with no free stock left: all of it to build
                add(new(KitLine, (skus[g], dd, tick * a if a else zero, zero, zero, dd)))
            else:
                add(new(KitLine, (skus[g], dd, tick * a if a else zero, zero, dd, zero)))
        elif made[g]:
            add(new(KitLine, (skus[g], dd, tick * a, tick * t, zero, tick * (d - t))))
        else:
            add(new(KitLine, (skus[g], dd, tick * a, tick * t, tick * (d - t), zero)))
    return lines


def kit_order(order: KitOrder, kinds: Mapping[str, str], boms: Mapping[str, Bom],
              stock: Mapping[str, StockLevel], *, step: Decimal = Decimal(1)) -> OrderKit:
    """One order on its own against the free stock (as if it were first in line)."""
    return kitting([order], kinds, boms, stock, step=step)[0]


__all__ = ["Q4", "KitLine", "KitOrder", "OrderKit", "OrderLine", "ProductKit", "StockLevel", "kit_order", "kitting"]
