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

Speed (bench/mrp.py: 10,000 items, 50,000 lines, 6 levels → 383,317 planned orders and 36,612
exceptions in about 1.3 s of CPU; 10×, 3,801,143 planned orders, in about 14-15 s of CPU): the run
computes in integer units of 0.0001 (a BOM line is a ratio n/d, so `need` is ceil(q·n/d), exactly
bom.need); each item's requirements are three parallel lists a parent's orders are appended to a list at
a time, dropped once the item is netted (a day is one shared int), and sorted by day on one reused list of
positions; runs of days covered by stock, and the lot-for-lot tail once stock is gone (each day's end found
with one dict), are netted with C-level maps and bisection instead of one requirement at a time; pegs are
joined by chaining, each demand once; the cyclic garbage collector is paused for the run (it would walk
millions of live objects and free none). What is left (py-spy, 1×) is about a quarter sorting, permuting
and summing each item's requirements by day, a sixth joining pegs, an eighth building the result (half
of it Decimal(units) / 10,000), a tenth exploding BOM lines, the rest netting. A plain Decimal version
of the same rules is in tests/unit/test_mrp.py, and random companies must come out the same from both.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import accumulate, chain, islice, repeat
from operator import itemgetter, neg, sub
from typing import Literal, NamedTuple, TypeVar

from domain.core import collector
from domain.core.errors import Invalid
from domain.manufacturing.bom import Bom, check_boms, low_level_codes, need_ratio, units

ItemKind = Literal["purchased", "manufactured"]
OrderKind = Literal["purchase", "production"]
ExceptionKind = Literal["release in the past", "supply late for demand"]
RELEASE_IN_THE_PAST: ExceptionKind = "release in the past"
SUPPLY_LATE: ExceptionKind = "supply late for demand"
_ZERO = Decimal(0)
_Date = date  # (MrpException has a field named date)


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


class PlannedOrder(NamedTuple):
    """A suggestion: buy or make `qty` of `sku` by `due_date`, starting on `release_date`. A named tuple, not
    a frozen dataclass like the inputs: a run builds hundreds of thousands, and a frozen dataclass takes
    three times as long to build."""

    sku: str
    kind: OrderKind
    qty: Decimal
    release_date: date
    due_date: date
    pegged_to: tuple[str, ...]  # the demand it serves, in due order; () when it only restores safety stock


class MrpException(NamedTuple):
    """Something the planner should act on. A named tuple, like PlannedOrder: a run may raise tens of
    thousands; the sentence is made when it is read."""

    kind: ExceptionKind
    sku: str
    date: date  # release in the past: the planned order's release date; supply late: when it is needed
    qty: Decimal  # release in the past: the planned order's quantity; supply late: what is needed early
    due_date: _Date  # the planned order's / the late receipt's due date
    days: int  # how many days before as_of it must be released / how late the receipt is
    pegged_to: tuple[str, ...]  # the demand concerned
    reference: str | None = None  # supply late: the scheduled receipt

    @property
    def message(self) -> str:
        if self.kind == RELEASE_IN_THE_PAST:
            return (f"{self.sku}: the planned order of {self.qty} due {self.due_date} must be released "
                    f"{self.date}, {self.days} day(s) ago")
        return (f"{self.sku}: {self.reference} is due {self.due_date}, {self.days} day(s) after {self.qty} of it "
                f"is needed on {self.date} ({', '.join(self.pegged_to) or 'safety stock'}): expedite it")


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


SCALE = 10_000  # quantities are kept to four places (bom.Q4): the run computes in integer units of 0.0001
_D_SCALE = Decimal(SCALE)
Pegs = tuple[str, ...]
_V = TypeVar("_V")


class _Requirements:
    """One item's gross requirements as three parallel lists (due day, qty in units, pegs) in arrival
    order, so a parent's planned orders are added to each component a whole list at a time."""

    __slots__ = ("days", "pegs", "qtys")

    def __init__(self) -> None:
        self.days: list[int] = []
        self.qtys: list[int] = []
        self.pegs: list[Pegs] = []


class _Receipts:
    """One item's scheduled receipts, by due day: day, what of it is not counted yet (units), the receipt."""

    __slots__ = ("days", "left", "recs")

    def __init__(self) -> None:
        self.days: list[int] = []
        self.left: list[int] = []
        self.recs: list[ScheduledReceipt] = []


def run_mrp(*, items: Mapping[str, ItemPlan], boms: Mapping[str, Bom], on_hand: Mapping[str, Decimal],
            reserved: Mapping[str, Decimal], receipts: Iterable[ScheduledReceipt], demand: Iterable[Demand],
            as_of: date) -> MrpResult:
    """Plan every item (see the module's docstring). Refuses (Invalid) a manufactured item without a BOM,
    a BOM cycle, an unknown SKU, a quantity that is not positive or has more than four decimal places."""
    receipts = sorted(receipts, key=lambda r: (r.due_date, r.reference, r.sku, r.qty))
    demand = sorted(demand, key=lambda d: (d.due_date, d.pegged_to, d.sku, d.qty))
    _check(items, boms, on_hand, reserved, receipts, demand)
    codes = low_level_codes(boms, items)
    # A run allocates millions of small objects that all live until it ends: the cyclic garbage collector
    # would walk them again and again (a third of the time) and could free none. It runs again afterwards.
    with collector.paused():
        return _run(items, boms, on_hand, reserved, receipts, demand, as_of, codes)


def _run(items: Mapping[str, ItemPlan], boms: Mapping[str, Bom], on_hand: Mapping[str, Decimal],
         reserved: Mapping[str, Decimal], receipts: list[ScheduledReceipt], demand: list[Demand], as_of: date,
         codes: Mapping[str, int]) -> MrpResult:
    today = as_of.toordinal()
    reqs = {sku: _Requirements() for sku in items}
    for dm in demand:
        rq = reqs[dm.sku]
        rq.days.append(dm.due_date.toordinal())
        rq.qtys.append(units(dm.qty, f"demand {dm.pegged_to}"))
        rq.pegs.append((dm.pegged_to,))
    supply: dict[str, _Receipts] = {}
    for r in receipts:
        rc = supply.get(r.sku)
        if rc is None:
            supply[r.sku] = rc = _Receipts()
        rc.days.append(r.due_date.toordinal())
        rc.left.append(units(r.qty, f"scheduled receipt {r.reference}"))
        rc.recs.append(r)
    # Each BOM's lines as (the component's requirements, n, d): exploding is integer arithmetic over lists.
    ratios = {key: need_ratio(*key) for key in {(ln.qty, ln.scrap_pct) for bom in boms.values() for ln in bom.lines}}
    explode = {sku: [(reqs[ln.component], *ratios[ln.qty, ln.scrap_pct]) for ln in bom.lines]
               for sku, bom in boms.items() if items[sku].kind == "manufactured"}

    dates = Memo(date.fromordinal)  # day ordinal → date
    days: Memo[int] = Memo(int)  # day ordinal → one int object for it, shared by every requirement of that day
    orders: list[PlannedOrder] = []
    exceptions: list[MrpException] = []
    for sku in sorted(items, key=lambda s: (codes[s], s)):
        item = items[sku]
        rq = reqs[sku]
        stock = on_hand.get(sku)
        base = units(stock, f"on hand of {sku}") if stock else 0
        held = reserved.get(sku)
        if held:
            base -= units(held, f"reserved of {sku}")
        if item.safety_stock:
            base -= units(item.safety_stock, f"safety stock of {sku}")
        if base < 0:  # below safety stock already: a requirement on as_of, before that day's demand
            rq.days.insert(0, today)
            rq.qtys.insert(0, -base)
            rq.pegs.insert(0, ())
            base = 0
        elif not rq.days:
            continue
        dues, sizes, parts = _net(item, rq, supply.get(sku), base, exceptions)
        # Netted: its requirements are not read again. Freed now, their memory is reused by the next items'
        # instead of the run growing to hold every requirement at once (at 10× that is gigabytes).
        rq.days, rq.qtys, rq.pegs = [], [], []
        if not dues:
            continue
        lines = explode.get(sku)
        kind: OrderKind = "purchase" if lines is None else "production"
        releases = list(map(days.__getitem__, map((-item.lead_time_days).__add__, dues)))  # one int per day
        pegged = list(map(tuple, map(dict.fromkeys, map(chain.from_iterable, parts))))  # joined, each once
        release_dates = list(map(dates.__getitem__, releases))
        orders += map(tuple.__new__, repeat(PlannedOrder),  # PlannedOrder(…) without its Python-level __new__
                      zip(repeat(sku), repeat(kind), map(_D_SCALE.__rtruediv__, map(Decimal, sizes)), release_dates,
                          map(dates.__getitem__, dues), pegged))
        if releases[0] < today:
            for at, release in enumerate(releases):
                if release >= today:
                    break
                exceptions.append(MrpException(RELEASE_IN_THE_PAST, sku, release_dates[at], Decimal(sizes[at]) / SCALE,
                                               dates[dues[at]], today - release, pegged[at]))
        if lines is not None:  # each component needs ceil(qty × n / d), due when the order is released
            neg_sizes = list(map(neg, sizes))
            needs: dict[tuple[int, int], list[int]] = {}  # lines with the same ratio need the same
            for crq, n, d in lines:
                crq.days += releases
                crq.pegs += pegged
                if d == 1 and n == 1:
                    crq.qtys += sizes
                    continue
                same = needs.get((n, d))
                if same is None:
                    if d == 1:
                        same = needs[n, d] = list(map(n.__mul__, sizes))
                    else:
                        same = needs[n, d] = list(map(neg, map(d.__rfloordiv__, map(n.__mul__, neg_sizes))))
                crq.qtys += same
    return MrpResult(tuple(orders), tuple(exceptions))


# An item's planned orders while it is netted: due days, quantities (units) and, for each, the pegs of
# the requirements it covers.
Planned = tuple[list[int], list[int], list[Sequence[Pegs]]]


class Memo(dict[int, _V]):
    """f(key), computed once per key; `memo.__getitem__` maps over a list at C speed."""

    def __init__(self, f: Callable[[int], _V]) -> None:
        super().__init__()
        self.f = f

    def __missing__(self, key: int) -> _V:
        value = self[key] = self.f(key)
        return value


_POSITIONS: list[int] = []


def _positions(n: int) -> list[int]:
    """0, 1, 2, … (at least n of them): one list of int objects reused by every run instead of new ones."""
    if len(_POSITIONS) < n:
        _POSITIONS.extend(range(len(_POSITIONS), 2 * n))
    return _POSITIONS


def _net(item: ItemPlan, rq: _Requirements, rc: _Receipts | None, free: int,
         exceptions: list[MrpException]) -> Planned:
    """Net one item's requirements day by day against its free stock (above safety stock, in units) and its
    scheduled receipts; the planned orders as due days, quantities and pegs."""
    sku = item.sku
    moq = units(item.min_order_qty, f"minimum order quantity of {sku}") if item.min_order_qty else 0
    multiple = units(item.order_multiple, f"order multiple of {sku}") if item.order_multiple else 0
    r_days, r_left, r_recs = (rc.days, list(rc.left), rc.recs) if rc is not None else ([], [], [])
    days: Sequence[int] = rq.days
    pegs: Sequence[Pegs] = rq.pegs
    if len(days) > 1:  # by day; a stable sort keeps the arrival order within a day
        order = _positions(len(days) + 1)[:len(days)]
        order.sort(key=days.__getitem__)
        permute = itemgetter(*order)
        days = permute(days)
        pegs = permute(pegs)
        cum = list(accumulate(permute(rq.qtys), initial=0))  # requirement i is cum[i + 1] − cum[i]
    else:
        cum = [0, *rq.qtys]
    return net_requirements(sku, moq, multiple, days, cum, pegs, r_days, r_left, r_recs, free, exceptions)


def net_requirements(sku: str, moq: int, multiple: int, days: Sequence[int], cum: Sequence[int],
                     pegs: Sequence[Pegs], r_days: Sequence[int], r_left: list[int], r_recs: Sequence[ScheduledReceipt],
                     free: int, exceptions: list[MrpException]) -> Planned:
    """The netting of one item, shared by run_mrp and the net-change planner (domain/planning/net_change.py):
    its requirements sorted by day (`days`, their running total `cum` with cum[i + 1] − cum[i] the i-th, `pegs`),
    its scheduled receipts by due day (`r_days`, what is left of each in units — used up here — and the
    receipts), its free stock in units, lot sizes in units (0: none). The planned orders as due days, quantities
    and the pegs of the requirements each covers; late supply is appended to `exceptions`."""
    n_r = len(r_days)
    pending = sum(r_left)  # receipts neither counted in `free` nor pulled in early
    j = 0  # receipts before j are counted in `free`
    dues: list[int] = []
    sizes: list[int] = []
    parts: list[Sequence[Pegs]] = []
    open_pegs: list[Pegs] = []  # the latest planned order's pegs, while its excess lasts
    open_left = 0  # that excess; it came before any receipt counted since, so it is used first
    lot_for_lot = not moq and not multiple
    n = len(days)
    end = 0
    while end < n:
        if not open_left and not pending:  # only stock from here on: whole runs of days at C speed
            if free:  # the days it covers in full
                last = bisect_right(cum, cum[end] + free, end) - 1  # requirements end…last − 1 are covered
                if last >= n:
                    break
                stop = bisect_left(days, days[last], end)
                free -= cum[stop] - cum[end]
                end = stop
            elif lot_for_lot:  # no stock left: every remaining day is one order of its total
                # each day → one past its last requirement (a later requirement of the day overwrites)
                day_end = dict(zip(islice(days, end, None), islice(_positions(n + 1), end + 1, None), strict=False))
                todo = list(day_end)
                ends = list(day_end.values())
                starts = [end, *ends[:-1]]
                dues += todo
                sizes += map(sub, map(cum.__getitem__, ends), map(cum.__getitem__, starts))
                parts += map(pegs.__getitem__, map(slice, starts, ends))
                break
        start, day = end, days[end]
        end = bisect_right(days, day, end)
        while j < n_r and r_days[j] <= day:
            free += r_left[j]
            pending -= r_left[j]
            r_left[j] = 0
            j += 1
        total = cum[end] - cum[start]
        if not open_left:
            if free >= total:  # covered by stock and receipts: no planned order to peg
                free -= total
                continue
            if not free and not pending:  # nothing to cover any of it: one order for the whole day
                qty = total if total >= moq else moq
                if multiple and qty % multiple:
                    qty += multiple - qty % multiple
                open_pegs = list(pegs[start:end])  # (a list: its excess may serve later days)
                open_left = qty - total
                dues.append(day)
                sizes.append(qty)
                parts.append(open_pegs)
                continue
        elif open_left >= total:  # covered by the latest order's excess
            open_left -= total
            open_pegs += pegs[start:end]
            continue
        short = 0
        short_pegs: list[Pegs] = []
        for i in range(start, end):
            q, p = cum[i + 1] - cum[i], pegs[i]
            if open_left:
                take = q if q < open_left else open_left
                open_left -= take
                q -= take
                open_pegs.append(p)
                if not q:
                    continue
            if free:
                take = q if q < free else free
                free -= take
                q -= take
                if not q:
                    continue
            k = j
            while q and pending and k < n_r:  # open supply due later must cover it: count it now, say so
                avail = r_left[k]
                if avail:
                    take = q if q < avail else avail
                    r_left[k] = avail - take
                    pending -= take
                    q -= take
                    exceptions.append(_late(sku, r_recs[k], take, day, p))
                k += 1
            if q:
                short += q
                short_pegs.append(p)
        if short:
            qty = short if short >= moq else moq
            if multiple and qty % multiple:
                qty += multiple - qty % multiple
            open_pegs = short_pegs
            open_left = qty - short
            dues.append(day)
            sizes.append(qty)
            parts.append(short_pegs)
    return dues, sizes, parts


def _late(sku: str, rec: ScheduledReceipt, take: int, day: int, pegs: Pegs) -> MrpException:
    return MrpException(SUPPLY_LATE, sku, date.fromordinal(day), Decimal(take) / SCALE, rec.due_date,
                        rec.due_date.toordinal() - day, pegs, rec.reference)
