"""MRP: a regenerative run over all demand. Pure: plain frozen dataclasses in, planned orders and
exceptions out; no database, no clock (the caller gives `as_of`).

How it plans, item by item in low-level-code order (so every parent's planned orders are known before
a component is netted, whatever level the component is used at):

- Gross requirements of an item: its independent demand, plus, for every planned production order of
  a parent (qty q, released on day r), `need(q, line)` of the component due on day r (scrap included),
  pegged to the same demand references as the parent's order.
- Netting, day by day in date order: projected available = on hand − reserved + scheduled receipts
  due by that day − gross requirements, kept at or above the safety stock. Supply due on a day counts
  before demand due that day. Stock below safety stock on `as_of` is itself a requirement on `as_of`
  (pegged to no demand).
- A shortfall is covered first by open scheduled receipts due later, earliest first: they are the
  supply that must cover it, only late, so they are counted from that day and reported as "supply late
  for demand" (expedite them) instead of doubled by a new order. What is still short on a day becomes
  one planned order due that day: the net requirement raised to the minimum order quantity, then
  rounded up to a multiple of the order multiple (when set); released lead-time calendar days earlier
  ("release in the past" when that is before `as_of`). Its excess covers later requirements.
- Pegging follows supply first in, first out: a planned order lists the demand references of every
  requirement it covers a part of, in due order (a lot-sized order may serve several).

Output order: low-level code, SKU, due date. Input order never changes the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from domain.errors import Invalid
from domain.planning.bom import Bom, check_boms, low_level_codes, need

ItemKind = Literal["purchased", "manufactured"]
OrderKind = Literal["purchase", "production"]
ExceptionKind = Literal["release in the past", "supply late for demand"]
RELEASE_IN_THE_PAST: ExceptionKind = "release in the past"
SUPPLY_LATE: ExceptionKind = "supply late for demand"
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class ItemPlan:
    """An item's planning data."""

    sku: str
    kind: ItemKind
    lead_time_days: int = 0
    safety_stock: Decimal = _ZERO
    min_order_qty: Decimal = _ZERO
    order_multiple: Decimal = _ZERO  # 0: any quantity


@dataclass(frozen=True, slots=True)
class ScheduledReceipt:
    """Open supply: a purchase order or production order line not yet received."""

    sku: str
    qty: Decimal  # still to come
    due_date: date
    reference: str  # "PO-00012", "MO-00007"


@dataclass(frozen=True, slots=True)
class Demand:
    """Independent demand: what a sales order (line) needs, when."""

    sku: str
    qty: Decimal
    due_date: date
    pegged_to: str  # "SO-00001"


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    sku: str
    kind: OrderKind
    qty: Decimal
    release_date: date
    due_date: date
    pegged_to: tuple[str, ...]  # the demand it serves, in due order; () when it only restores safety stock


@dataclass(frozen=True, slots=True)
class MrpException:
    kind: ExceptionKind
    sku: str
    date: date  # release in the past: the planned order's release date; supply late: when it is needed
    message: str
    reference: str | None = None  # supply late: the scheduled receipt
    pegged_to: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MrpResult:
    planned_orders: tuple[PlannedOrder, ...]
    exceptions: tuple[MrpException, ...]


def lot_size(net: Decimal, min_order_qty: Decimal, order_multiple: Decimal) -> Decimal:
    """The net requirement raised to the minimum order quantity, then up to a multiple of the order
    multiple (when there is one)."""
    qty = net if net >= min_order_qty else min_order_qty
    if order_multiple:
        rest = qty % order_multiple
        if rest:
            qty += order_multiple - rest
    return qty


def _check(items: Mapping[str, ItemPlan], boms: Mapping[str, Bom], on_hand: Mapping[str, Decimal],
           reserved: Mapping[str, Decimal], receipts: list[ScheduledReceipt], demand: list[Demand]) -> None:
    for sku, it in items.items():
        if it.sku != sku:
            raise Invalid(f"planning data for {sku} is keyed as {it.sku}")
        if it.kind not in ("purchased", "manufactured"):
            raise Invalid(f"{sku}: the kind must be purchased or manufactured, not {it.kind!r}")
        if it.lead_time_days < 0 or it.safety_stock < 0 or it.min_order_qty < 0 or it.order_multiple < 0:
            raise Invalid(f"{sku}: lead time, safety stock, minimum order quantity and order multiple "
                          "cannot be negative")
    no_bom = sorted(s for s, it in items.items() if it.kind == "manufactured" and s not in boms)
    if no_bom:
        more = f" and {len(no_bom) - 5} more" if len(no_bom) > 5 else ""
        raise Invalid(f"no BOM for the manufactured item{'s' if len(no_bom) > 1 else ''} "
                      f"{', '.join(no_bom[:5])}{more}: MRP cannot plan what it cannot explode")
    check_boms(boms, items)  # unknown components, bad lines, cycles (named by their path)
    for what, quantities in (("on hand", on_hand), ("reserved", reserved)):
        for sku, q in quantities.items():
            if sku not in items:
                raise Invalid(f"{what}: there is no item {sku}")
            if q < 0:
                raise Invalid(f"{what} of {sku} cannot be negative")
    for r in receipts:
        if r.sku not in items:
            raise Invalid(f"scheduled receipt {r.reference}: there is no item {r.sku}")
        if not r.qty > 0:
            raise Invalid(f"scheduled receipt {r.reference}: the quantity of {r.sku} must be above zero")
    for d in demand:
        if d.sku not in items:
            raise Invalid(f"demand {d.pegged_to}: there is no item {d.sku}")
        if not d.qty > 0:
            raise Invalid(f"demand {d.pegged_to}: the quantity of {d.sku} must be above zero")


def _first(req: tuple[int, Decimal, tuple[str, ...]]) -> int:
    return req[0]


def run_mrp(*, items: Mapping[str, ItemPlan], boms: Mapping[str, Bom], on_hand: Mapping[str, Decimal],
            reserved: Mapping[str, Decimal], receipts: Iterable[ScheduledReceipt], demand: Iterable[Demand],
            as_of: date) -> MrpResult:
    """Plan every item (see the module's docstring). Refuses (Invalid) a manufactured item without a BOM,
    a BOM cycle, an unknown SKU or a quantity that is not positive."""
    receipts = sorted(receipts, key=lambda r: (r.due_date, r.reference, r.sku, r.qty))
    demand = sorted(demand, key=lambda d: (d.due_date, d.pegged_to, d.sku, d.qty))
    _check(items, boms, on_hand, reserved, receipts, demand)
    codes = low_level_codes(boms, items)

    # Requirements per item: (day ordinal, qty, pegs), appended in a deterministic order (demand sorted,
    # then parents in processing order); a stable sort by day keeps that order within a day.
    reqs: dict[str, list[tuple[int, Decimal, tuple[str, ...]]]] = {}
    for d in demand:
        reqs.setdefault(d.sku, []).append((d.due_date.toordinal(), d.qty, (d.pegged_to,)))
    supply: dict[str, list[ScheduledReceipt]] = {}
    for r in receipts:
        supply.setdefault(r.sku, []).append(r)

    today = as_of.toordinal()
    fromordinal = date.fromordinal
    orders: list[PlannedOrder] = []
    exceptions: list[MrpException] = []
    for sku in sorted(items, key=lambda s: (codes[s], s)):
        item = items[sku]
        base = on_hand.get(sku, _ZERO) - reserved.get(sku, _ZERO) - item.safety_stock
        item_reqs = reqs.pop(sku, None)
        if item_reqs is None:
            if base >= 0:
                continue
            item_reqs = []
        else:
            item_reqs.sort(key=_first)
        if base < 0:  # below safety stock already: a requirement on as_of, before that day's demand
            at = 0
            while at < len(item_reqs) and item_reqs[at][0] < today:
                at += 1
            item_reqs.insert(at, (today, -base, ()))
            base = _ZERO
        planned = _net(item, item_reqs, supply.get(sku, []), base, exceptions)
        if not planned:
            continue
        bom = boms.get(sku) if item.kind == "manufactured" else None
        kind: OrderKind = "production" if bom is not None else "purchase"
        lead = item.lead_time_days
        for due, qty, pegs in planned:
            release = due - lead
            pegged = tuple(dict.fromkeys(pegs))
            order = PlannedOrder(sku, kind, qty, fromordinal(release), fromordinal(due), pegged)
            orders.append(order)
            if release < today:
                exceptions.append(MrpException(
                    RELEASE_IN_THE_PAST, sku, order.release_date,
                    f"{sku}: a planned {kind} order of {qty} due {order.due_date} must be released "
                    f"{order.release_date}, {today - release} day(s) before {as_of}", None, pegged))
            if bom is not None:
                for line in bom.lines:
                    comp = reqs.get(line.component)
                    if comp is None:
                        reqs[line.component] = comp = []
                    comp.append((release, need(qty, line), pegged))
    return MrpResult(tuple(orders), tuple(exceptions))


def _net(item: ItemPlan, item_reqs: list[tuple[int, Decimal, tuple[str, ...]]],
         item_receipts: list[ScheduledReceipt], free: Decimal, exceptions: list[MrpException]) -> list[tuple[int, Decimal, list[str]]]:
    """Net one item's requirements (sorted by day) against its free stock (above safety stock) and its
    scheduled receipts (sorted by day); the planned orders as (due day, qty, pegs)."""
    sku = item.sku
    moq, multiple = item.min_order_qty, item.order_multiple
    r_days = [r.due_date.toordinal() for r in item_receipts]
    r_left = [r.qty for r in item_receipts]  # what of each receipt is not yet counted
    n_r = len(r_days)
    j = 0  # receipts before j are counted in `free`
    planned: list[tuple[int, Decimal, list[str]]] = []
    open_pegs: list[str] | None = None  # the latest planned order's pegs, while its excess lasts
    open_left = _ZERO  # that excess; it came before any receipt counted since, so it is used first
    i, n = 0, len(item_reqs)
    while i < n:
        day = item_reqs[i][0]
        while j < n_r and r_days[j] <= day:
            free += r_left[j]
            r_left[j] = _ZERO
            j += 1
        short = _ZERO
        short_pegs: list[str] = []
        while i < n and item_reqs[i][0] == day:
            _, q, pegs = item_reqs[i]
            i += 1
            if open_left > 0 and open_pegs is not None:
                take = q if q < open_left else open_left
                open_left -= take
                q -= take
                open_pegs.extend(pegs)
                if not q:
                    continue
            if free > 0:
                take = q if q < free else free
                free -= take
                q -= take
                if not q:
                    continue
            k = j
            while q > 0 and k < n_r:  # open supply due later must cover it: count it now, and say so
                avail = r_left[k]
                if avail:
                    take = q if q < avail else avail
                    r_left[k] = avail - take
                    q -= take
                    rec = item_receipts[k]
                    when = date.fromordinal(day)
                    whom = ", ".join(dict.fromkeys(pegs)) or "safety stock"
                    exceptions.append(MrpException(
                        SUPPLY_LATE, sku, when,
                        f"{sku}: {rec.reference} is due {rec.due_date}, {r_days[k] - day} day(s) after {take} "
                        f"of it is needed on {when} ({whom}): expedite it", rec.reference, tuple(dict.fromkeys(pegs))))
                k += 1
            if q:
                short += q
                short_pegs.extend(pegs)
        if short:
            qty = lot_size(short, moq, multiple)
            open_pegs = short_pegs
            open_left = qty - short
            planned.append((day, qty, short_pegs))
    return planned
