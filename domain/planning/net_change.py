"""Net-change MRP: after a change to demand, stock or open supply, re-plan only the items it reaches and get
exactly what a full regenerative run (domain/planning/mrp.py: run_mrp) would give. Pure, like run_mrp.

A `NetChangePlanner` is made by a full run and keeps, per item, what run_mrp computes on its way and then
forgets: its independent demand, the requirements each parent's planned orders put on it, its scheduled
receipts and free stock, and its planned orders and exceptions. A change marks the items it touches; they are
netted again in low-level-code order (so every parent is settled before its components), by the same rules
as run_mrp. An item whose planned orders come out the same as before (quantities, dates and pegs) puts the
same requirements on its components, so they are not re-planned for it: the change stops there.

Why the result is exactly run_mrp's: run_mrp nets an item from its own inputs and its parents' planned orders
only, in a fixed order (requirements by day; within a day the independent demand sorted as run_mrp sorts it,
then each parent's requirements in low-level-code, SKU order; a shortfall below safety stock on `as_of` first);
the planner keeps the same order and the same integer arithmetic (units of 0.0001, `need` as ceil(q·n/d)),
and the output is the items' orders and exceptions in low-level-code, SKU order, as run_mrp lists them.
tests/unit/test_net_change.py makes random changes to random companies and compares after each one.

BOM or item changes are not net changes (they change low-level codes and what every parent asks): make a new
planner from a full run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from heapq import heappop, heappush
from itertools import accumulate, chain, repeat
from operator import eq, itemgetter, neg

from domain.core import collector
from domain.core.errors import Invalid
from domain.manufacturing.bom import Bom, low_level_codes, need_ratio, units
from domain.planning.mrp import (
    RELEASE_IN_THE_PAST,
    Demand,
    ItemPlan,
    Memo,
    MrpException,
    MrpResult,
    OrderKind,
    PlannedOrder,
    ScheduledReceipt,
    net_requirements,
    run_mrp,
)

SCALE = 10_000  # units of 0.0001, as run_mrp computes
_D_SCALE = Decimal(SCALE)
Pegs = tuple[str, ...]
# Requirements put on a component by one parent: parallel lists of due days, quantities (units) and pegs.
Reqs = tuple[list[int], list[int], list[Pegs]]
# An item's planned orders: due days, sizes (units), pegs.
Planned = tuple[list[int], list[int], list[Pegs]]
_NONE: Planned = ([], [], [])


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed since the planner's last state. A changed order line is its old demand removed and its new
    one added; a changed receipt likewise. `on_hand` and `reserved` give the new figures of the items named."""

    demand_added: tuple[Demand, ...] = ()
    demand_removed: tuple[Demand, ...] = ()
    receipts_added: tuple[ScheduledReceipt, ...] = ()
    receipts_removed: tuple[ScheduledReceipt, ...] = ()
    on_hand: Mapping[str, Decimal] = field(default_factory=dict)
    reserved: Mapping[str, Decimal] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.demand_added or self.demand_removed or self.receipts_added or self.receipts_removed
                    or self.on_hand or self.reserved)


def _demand_key(d: Demand) -> tuple[date, str, Decimal]:
    return d.due_date, d.pegged_to, d.qty  # run_mrp's order (due date, pegged_to, sku, qty) within one item


def _receipt_key(r: ScheduledReceipt) -> tuple[date, str, Decimal]:
    return r.due_date, r.reference, r.qty


def _remove(held: list[Demand] | list[ScheduledReceipt], gone: Demand | ScheduledReceipt, what: str) -> None:
    try:
        held.remove(gone)  # type: ignore[arg-type]
    except ValueError:
        raise Invalid(f"{what} was not in the plan: nothing to remove") from None


class NetChangePlanner:
    """A full MRP run's state, re-planned in place by `apply`. `result()` is what run_mrp gives for the inputs
    as they now stand."""

    def __init__(self, *, items: Mapping[str, ItemPlan], boms: Mapping[str, Bom], on_hand: Mapping[str, Decimal],
                 reserved: Mapping[str, Decimal], receipts: Iterable[ScheduledReceipt], demand: Iterable[Demand],
                 as_of: date) -> None:
        receipts, demand = list(receipts), list(demand)
        run_mrp(items=items, boms=boms, on_hand=on_hand, reserved=reserved, receipts=receipts, demand=demand,
                as_of=as_of)  # refuses what run_mrp refuses, with its sentences
        self.items = dict(items)
        self._boms_given = dict(boms)
        self.boms = {k: b for k, b in boms.items() if items[k].kind == "manufactured"}
        self.as_of = as_of
        self.today = as_of.toordinal()
        codes = low_level_codes(boms, items)
        self.order = sorted(items, key=lambda s: (codes[s], s))
        self.rank = {sku: i for i, sku in enumerate(self.order)}  # netting order: low-level code, then SKU
        self.lines = {sku: [(ln.component, *need_ratio(ln.qty, ln.scrap_pct)) for ln in bom.lines]
                      for sku, bom in self.boms.items()}
        self.on_hand = {k: v for k, v in on_hand.items() if v}
        self.reserved = {k: v for k, v in reserved.items() if v}
        self.demand: dict[str, list[Demand]] = {}
        for d in demand:
            self.demand.setdefault(d.sku, []).append(d)
        self.receipts: dict[str, list[ScheduledReceipt]] = {}
        for r in receipts:
            self.receipts.setdefault(r.sku, []).append(r)
        for held in self.demand.values():
            held.sort(key=_demand_key)
        for rs in self.receipts.values():
            rs.sort(key=_receipt_key)
        self.dependent: dict[str, dict[str, Reqs]] = {}  # component → parent → requirements
        self.planned: dict[str, Planned] = {}
        self.orders: dict[str, tuple[PlannedOrder, ...]] = {}  # made from `planned` when the result is read
        self._unbuilt: set[str] = set()
        self._was: dict[str, tuple[Planned, tuple[PlannedOrder, ...]]] = {}  # what an unbuilt item had before
        self.exceptions: dict[str, tuple[MrpException, ...]] = {}
        self._dates: Memo[date] = Memo(date.fromordinal)  # day ordinal → date, each made once
        self.replanned = self._replan(self.order)
        self.result()

    def plans_for(self, *, items: Mapping[str, ItemPlan], boms: Mapping[str, Bom], as_of: date) -> bool:
        """Whether the planner can re-plan for these: the same items (and their planning data), BOMs and as_of.
        Anything else is a full run's work."""
        return as_of == self.as_of and items == self.items and boms == self._boms_given

    # --- changes -----------------------------------------------------------------------------------------

    def apply(self, changes: Changes) -> int:
        """Take the changes in and re-plan what they reach; how many items were netted again. Refuses (Invalid)
        what run_mrp would refuse, and a removal of something the plan does not hold, changing nothing."""
        self._check(changes)
        touched: set[str] = set()
        for d in changes.demand_removed:
            _remove(self.demand.get(d.sku, []), d, f"demand {d.pegged_to} for {d.sku}")
            touched.add(d.sku)
        for r in changes.receipts_removed:
            _remove(self.receipts.get(r.sku, []), r, f"scheduled receipt {r.reference} of {r.sku}")
            touched.add(r.sku)
        for d in changes.demand_added:
            self.demand.setdefault(d.sku, []).append(d)
            touched.add(d.sku)
        for r in changes.receipts_added:
            self.receipts.setdefault(r.sku, []).append(r)
            touched.add(r.sku)
        for sku in touched:
            self.demand.get(sku, []).sort(key=_demand_key)
            self.receipts.get(sku, []).sort(key=_receipt_key)
        for held, new in ((self.on_hand, changes.on_hand), (self.reserved, changes.reserved)):
            for sku, q in new.items():
                if q:
                    held[sku] = q
                else:
                    held.pop(sku, None)
                touched.add(sku)
        self.replanned = self._replan(touched)
        return self.replanned

    def _check(self, changes: Changes) -> None:
        for d in changes.demand_added:
            if d.sku not in self.items:
                raise Invalid(f"demand {d.pegged_to}: there is no item {d.sku}")
            if not d.qty > 0:
                raise Invalid(f"demand {d.pegged_to}: the quantity of {d.sku} must be above zero")
            units(d.qty, f"demand {d.pegged_to}")
        for r in changes.receipts_added:
            if r.sku not in self.items:
                raise Invalid(f"scheduled receipt {r.reference}: there is no item {r.sku}")
            if not r.qty > 0:
                raise Invalid(f"scheduled receipt {r.reference}: the quantity of {r.sku} must be above zero")
            units(r.qty, f"scheduled receipt {r.reference}")
        for what, quantities in (("on hand", changes.on_hand), ("reserved", changes.reserved)):
            for sku, q in quantities.items():
                if sku not in self.items:
                    raise Invalid(f"{what}: there is no item {sku}")
                if q < 0:
                    raise Invalid(f"{what} of {sku} cannot be negative")
                units(q, f"{what} of {sku}")
        for removed, held_by, what in ((changes.demand_removed, self.demand, "demand"),
                                       (changes.receipts_removed, self.receipts, "scheduled receipt")):
            for x in removed:
                if removed.count(x) > held_by.get(x.sku, []).count(x):  # type: ignore[arg-type]
                    ref = x.pegged_to if isinstance(x, Demand) else x.reference
                    raise Invalid(f"{what} {ref} for {x.sku} was not in the plan: nothing to remove")

    def changes_to(self, *, on_hand: Mapping[str, Decimal], reserved: Mapping[str, Decimal],
                   receipts: Iterable[ScheduledReceipt], demand: Iterable[Demand]) -> Changes:
        """What turns the inputs the planner holds into these (the same items, BOMs and as_of)."""
        held_d = Counter(chain.from_iterable(self.demand.values()))
        held_r = Counter(chain.from_iterable(self.receipts.values()))
        new_d, new_r = Counter(demand), Counter(receipts)
        stock: list[dict[str, Decimal]] = []
        for held, new in ((self.on_hand, on_hand), (self.reserved, reserved)):
            zero = Decimal(0)
            stock.append({sku: new.get(sku, zero) for sku in held.keys() | new.keys()
                          if held.get(sku, zero) != new.get(sku, zero)})
        return Changes(demand_added=tuple((new_d - held_d).elements()),
                       demand_removed=tuple((held_d - new_d).elements()),
                       receipts_added=tuple((new_r - held_r).elements()),
                       receipts_removed=tuple((held_r - new_r).elements()), on_hand=stock[0], reserved=stock[1])

    # --- planning ----------------------------------------------------------------------------------------

    def result(self) -> MrpResult:
        """The planned orders and exceptions, in run_mrp's order (low-level code, SKU, due date)."""
        orders, exceptions = self.orders, self.exceptions
        with collector.paused():
            for sku in self._unbuilt:
                orders[sku] = self._build(sku)
        self._unbuilt.clear()
        return MrpResult(tuple(chain.from_iterable(map(orders.get, self.order, repeat(())))),
                         tuple(chain.from_iterable(map(exceptions.get, self.order, repeat(())))))

    def _build(self, sku: str) -> tuple[PlannedOrder, ...]:
        dues, sizes, pegged = self.planned[sku]
        kept: tuple[PlannedOrder, ...] = ()
        old = self._was.pop(sku, None)
        if old is not None:  # the orders before the first one that changed are the same objects as before
            (o_dues, o_sizes, o_pegged), o_orders = old
            n = min(len(dues), len(o_dues))
            same = list(map(eq, zip(dues[:n], sizes[:n], pegged[:n], strict=True),
                            zip(o_dues[:n], o_sizes[:n], o_pegged[:n], strict=True)))
            k = same.index(False) if False in same else n
            kept = o_orders[:k]
            dues, sizes, pegged = dues[k:], sizes[k:], pegged[k:]
        kind: OrderKind = "production" if sku in self.boms else "purchase"
        date_of = self._dates.__getitem__
        return kept + tuple(map(tuple.__new__, repeat(PlannedOrder),  # PlannedOrder(…) without its __new__
                                zip(repeat(sku), repeat(kind), map(_D_SCALE.__rtruediv__, map(Decimal, sizes)),
                                    map(date_of, map((-self.items[sku].lead_time_days).__add__, dues)),
                                    map(date_of, dues), pegged)))

    def _replan(self, touched: Iterable[str]) -> int:
        with collector.paused():
            return self._replan_items(touched)

    def _replan_items(self, touched: Iterable[str]) -> int:
        rank, order = self.rank, self.order
        heap = [rank[s] for s in set(touched)]
        heap.sort()
        queued = set(heap)
        netted = 0
        while heap:
            sku = order[heappop(heap)]
            netted += 1
            dues, sizes, pegs = planned = self._net(sku)
            if planned == self.planned.get(sku, _NONE):
                continue  # the same requirements on its components as before: the change stops here
            built = self.orders.pop(sku, None)
            if built is not None:
                self._was[sku] = (self.planned[sku], built)
            if dues:
                self.planned[sku] = planned
                self._unbuilt.add(sku)  # its PlannedOrders are made when the result is read
            else:
                self.planned.pop(sku, None)
                self._unbuilt.discard(sku)
                self._was.pop(sku, None)
            releases = list(map((-self.items[sku].lead_time_days).__add__, dues))
            neg_sizes = list(map(neg, sizes))
            same: dict[tuple[int, int], list[int]] = {}  # lines with the same ratio need the same
            for comp, n, d in self.lines.get(sku, ()):
                by_parent = self.dependent.setdefault(comp, {})
                if not sizes:
                    by_parent.pop(sku, None)
                elif n == d == 1:
                    by_parent[sku] = (releases, sizes, pegs)
                else:  # ceil(q × n / d) for each order
                    needs = same.get((n, d))
                    if needs is None:
                        needs = same[n, d] = list(map(neg, map(d.__rfloordiv__, map(n.__mul__, neg_sizes))))
                    by_parent[sku] = (releases, needs, pegs)
                r = rank[comp]
                if r not in queued:
                    queued.add(r)
                    heappush(heap, r)
        return netted

    def _net(self, sku: str) -> Planned:
        """Net one item as run_mrp does: its planned orders as due days, sizes (units) and pegs. Its exceptions
        are kept on the planner."""
        item = self.items[sku]
        today = self.today
        days: list[int] = []
        qtys: list[int] = []
        pegs: list[Pegs] = []
        base = units(self.on_hand.get(sku, Decimal(0)), "on hand") - units(self.reserved.get(sku, Decimal(0)),
                                                                            "reserved")
        if item.safety_stock:
            base -= units(item.safety_stock, "safety stock")
        if base < 0:  # below safety stock already: a requirement on as_of, before that day's demand
            days.append(today)
            qtys.append(-base)
            pegs.append(())
            base = 0
        for d in self.demand.get(sku, ()):
            days.append(d.due_date.toordinal())
            qtys.append(units(d.qty, "demand"))
            pegs.append((d.pegged_to,))
        parents = self.dependent.get(sku)
        if parents:
            rank = self.rank
            for parent in sorted(parents, key=rank.__getitem__):
                p_days, p_qtys, p_pegs = parents[parent]
                days += p_days
                qtys += p_qtys
                pegs += p_pegs
        self.exceptions.pop(sku, None)
        if not days:
            return [], [], []
        n = len(days)
        if n > 1:  # by day; a stable sort keeps the arrival order within a day
            permute = itemgetter(*sorted(range(n), key=days.__getitem__))
            days, pegs = list(permute(days)), list(permute(pegs))
            cum = list(accumulate(permute(qtys), initial=0))  # requirement i is cum[i + 1] − cum[i]
        else:
            cum = [0, *qtys]
        dues, sizes, parts, late = self._net_days(sku, item, days, cum, pegs, base)
        # Each order's pegs joined, each once. A requirement's pegs are already so (a demand's one reference, a
        # parent order's joined pegs): an order covering one requirement keeps them as they are.
        pegged = [ps[0] if len(ps) == 1 else tuple(dict.fromkeys(chain.from_iterable(ps))) for ps in parts]
        lead = item.lead_time_days
        if dues and dues[0] - lead < today:
            date_of = self._dates.__getitem__
            for due, size, pg in zip(dues, sizes, pegged, strict=True):
                release = due - lead
                if release >= today:
                    break
                late.append(MrpException(RELEASE_IN_THE_PAST, sku, date_of(release), Decimal(size) / SCALE,
                                         date_of(due), today - release, pg))
        if late:
            self.exceptions[sku] = tuple(late)
        return dues, sizes, pegged

    def _net_days(self, sku: str, item: ItemPlan, days: list[int], cum: list[int], pegs: list[Pegs],
                  free: int) -> tuple[list[int], list[int], list[Sequence[Pegs]], list[MrpException]]:
        """run_mrp's netting of one item (mrp.net_requirements, the same code): due days, sizes, pegs of each
        planned order, and the late-supply exceptions."""
        recs = self.receipts.get(sku, ())
        late: list[MrpException] = []
        dues, sizes, parts = net_requirements(
            sku, units(item.min_order_qty, "minimum order quantity"), units(item.order_multiple, "order multiple"),
            days, cum, pegs, [r.due_date.toordinal() for r in recs], [units(r.qty, "receipt") for r in recs], recs,
            free, late)
        return dues, sizes, parts, late

