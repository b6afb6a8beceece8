"""A generated manufacturing company for the planning benchmarks (kitting, MRP): items on six BOM levels,
multi-level BOMs, stock, open purchase supply and open sales orders. Deterministic for a seed and a size.

At scale 1: 10,000 items (500 finished goods at level 0 … 3,000 purchased items at level 5), 50,000 BOM
lines over the 7,000 manufactured items (7 or 8 lines each), 1,000 open orders of 1-3 lines. Scale n
multiplies every count by n and keeps the shape, so a linear algorithm takes n times as long.

Shape, as product families are: a parent's first component is on the next level (so every finished
good is six levels deep); four in five of the others too, the rest one to three levels further down
(so an item can sit on several levels and the low-level code matters). Components are drawn near the
parent's relative position in the lower level (a window of ±WINDOW items), so finished goods share
sub-assemblies and parts with their neighbours and one finished good's explosion stays a few hundred
items whatever the company's size. Quantities per parent: 1-4, some 0.5 or 0.25; one line in five has
1-5 % scrap. Stock: about a third of the sub-assemblies and every purchased item have some, sized
against what the open orders need in all (so some orders are complete and later ones run short); a
few have some of it reserved. One purchased item in ten has an open purchase order due within 60
days (scheduled receipts, for MRP).

    from bench.planning_data import generate
    company = generate(scale=1, seed=7)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from domain.manufacturing.bom import Bom, BomLine, low_level_codes, need

LEVELS = 6
LEVEL_SHARE = (0.05, 0.10, 0.15, 0.20, 0.20, 0.30)  # of the items, level 0 (finished goods) … 5 (purchased)
ITEMS, BOM_LINES, ORDERS = 10_000, 50_000, 1_000  # at scale 1
WINDOW = 12  # components are drawn within ± this many items of the parent's relative position
TODAY = date(2025, 1, 6)
QTYS = [Decimal(q) for q in ("1", "1", "1", "2", "2", "3", "4", "0.5", "0.25")]
SCRAPS = [Decimal(s) for s in ("1", "2", "2.5", "5")]


@dataclass(frozen=True, slots=True)
class GenItem:
    sku: str
    kind: str  # purchased | manufactured
    level: int  # the level it was generated on (its low-level code may be deeper)
    lead_time_days: int
    safety_stock: Decimal
    min_order_qty: Decimal
    order_multiple: Decimal
    standard_cost: Decimal


@dataclass(frozen=True, slots=True)
class GenStock:
    on_hand: Decimal
    reserved: Decimal


@dataclass(frozen=True, slots=True)
class GenOrderLine:
    sku: str
    qty: Decimal


@dataclass(frozen=True, slots=True)
class GenOrder:
    number: str
    requested_date: date
    priority: int  # 1 most urgent
    created_at: datetime
    lines: tuple[GenOrderLine, ...]


@dataclass(frozen=True, slots=True)
class GenReceipt:
    sku: str
    qty: Decimal
    due_date: date


@dataclass(frozen=True, slots=True)
class Company:
    items: dict[str, GenItem]
    boms: dict[str, Bom]
    stock: dict[str, GenStock]
    orders: tuple[GenOrder, ...]
    receipts: tuple[GenReceipt, ...]

    @property
    def bom_lines(self) -> int:
        return sum(len(b.lines) for b in self.boms.values())

    def describe(self) -> str:
        return (f"{len(self.items):,} items, {self.bom_lines:,} BOM lines, {LEVELS} levels, "
                f"{len(self.orders):,} open orders ({sum(len(o.lines) for o in self.orders):,} lines)")


def _level_sizes(n_items: int) -> list[int]:
    sizes = [round(n_items * s) for s in LEVEL_SHARE]
    sizes[-1] += n_items - sum(sizes)
    return sizes


def generate(scale: int = 1, seed: int = 7) -> Company:
    rng = random.Random(seed)
    sizes = _level_sizes(ITEMS * scale)
    levels: list[list[str]] = [[f"L{k}-{i:06d}" for i in range(n)] for k, n in enumerate(sizes)]
    items: dict[str, GenItem] = {}
    for k, skus in enumerate(levels):
        purchased = k == LEVELS - 1
        for sku in skus:
            items[sku] = GenItem(
                sku=sku, kind="purchased" if purchased else "manufactured", level=k,
                lead_time_days=rng.randint(3, 30) if purchased else rng.randint(1, 5),
                safety_stock=Decimal(rng.choice((0, 0, 0, 10, 20, 50))) if purchased else Decimal(0),
                min_order_qty=Decimal(rng.choice((0, 10, 50, 100))) if purchased else Decimal(0),
                order_multiple=Decimal(rng.choice((0, 0, 5, 10, 25))) if purchased else Decimal(0),
                standard_cost=Decimal(rng.randint(50, 5000)) / 100)

    parents = [(k, sku) for k in range(LEVELS - 1) for sku in levels[k]]
    base, extra = divmod(BOM_LINES * scale, len(parents))
    boms: dict[str, Bom] = {}
    for n, (k, sku) in enumerate(parents):
        pos = (int(sku[3:]) + 0.5) / len(levels[k])  # relative position on its level
        count = base + (1 if n < extra else 0)
        chosen: dict[str, BomLine] = {}
        while len(chosen) < count:
            j = k + 1 if not chosen or rng.random() < 0.8 else rng.randint(k + 1, LEVELS - 1)
            lower = levels[j]
            centre = int(pos * len(lower))
            comp = lower[min(max(centre + rng.randint(-WINDOW, WINDOW), 0), len(lower) - 1)]
            if comp in chosen:
                continue
            scrap = rng.choice(SCRAPS) if rng.random() < 0.2 else Decimal(0)
            chosen[comp] = BomLine(comp, rng.choice(QTYS), scrap)
        boms[sku] = Bom(item=sku, lines=tuple(chosen.values()))

    orders: list[GenOrder] = []
    for i in range(ORDERS * scale):
        n_lines = rng.choice((1, 1, 1, 2, 3))
        skus = rng.sample(levels[0], n_lines)
        created = datetime(2024, 12, 1, 8) + timedelta(minutes=rng.randint(0, 50_000))
        orders.append(GenOrder(
            number=f"SO-{i + 1:06d}", requested_date=TODAY + timedelta(days=rng.randint(1, 90)),
            priority=rng.choice((1, 2, 2, 3, 3, 3)), created_at=created,
            lines=tuple(GenOrderLine(s, Decimal(rng.randint(1, 50))) for s in skus)))

    # Stock sized against the gross requirement of all open orders (exploded without any stock).
    gross = _gross(boms, items, orders)
    stock: dict[str, GenStock] = {}
    for sku, item in items.items():
        g = gross.get(sku, Decimal(0))
        if item.kind == "manufactured":
            if item.level == 0 or rng.random() > 0.33:
                continue
            on_hand = (g * Decimal(rng.randint(1, 30)) / 100).to_integral_value()
        else:
            on_hand = (g * Decimal(rng.randint(40, 160)) / 100).to_integral_value() + rng.randint(0, 20)
        reserved = (on_hand * Decimal(rng.randint(5, 20)) / 100).to_integral_value() if rng.random() < 0.1 else 0
        stock[sku] = GenStock(on_hand=Decimal(on_hand), reserved=Decimal(reserved))

    receipts = tuple(GenReceipt(sku, Decimal(rng.randint(10, 500)), TODAY + timedelta(days=rng.randint(1, 60)))
                     for sku in levels[-1] if rng.random() < 0.1)
    return Company(items=items, boms=boms, stock=stock, orders=tuple(orders), receipts=receipts)


def _gross(boms: dict[str, Bom], items: dict[str, GenItem], orders: list[GenOrder]) -> dict[str, Decimal]:
    """What all the orders need of every item if nothing were in stock, level by level."""
    codes = low_level_codes(boms, items)
    demand: dict[str, Decimal] = {}
    for o in orders:
        for ln in o.lines:
            demand[ln.sku] = demand.get(ln.sku, Decimal(0)) + ln.qty
    for sku in sorted(items, key=lambda s: (codes[s], s)):
        d = demand.get(sku)
        bom = boms.get(sku)
        if d and bom:
            for bl in bom.lines:
                demand[bl.component] = demand.get(bl.component, Decimal(0)) + need(d, bl)
    return demand
