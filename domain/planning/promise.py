"""Capable-to-promise: the earliest day each line of a request could ship, and what holds it up. Pure: plain
data in (items, BOMs, stock, open supply, open demand), promises out; no database, no clock (`as_of`).

For one line (sku, qty), every item its BOM reaches is visited in low-level-code order (each item once,
its requirement summed over every parent that needs it), top down, then bottom up:

- Free stock is available to promise (ATP) with look-ahead: the projected balance (on hand − reserved
  + open supply by its due day − open demand by its due day; supply due on a day counts before demand
  due that day) must stay at or above zero on every later day after the line takes its share, so a
  promise never takes what an open sales order or production order is counting on. Demand past due
  counts today; so does supply past due, as supply, not stock.
- What free stock covers now ships today (basis "stock"). The rest of an item is either waited for
  from open supply (the earliest receipt by which the look-ahead balance covers the whole requirement:
  "supply"), or made (its components' requirement for the shortfall, each component ready as this same
  rule says, then the item's own lead time, and the work centres' load when it has a routing: "build"),
  or bought (its lead time: "purchase"), whichever is earlier; a tie goes to the supply already open.
- `constrained_by` names what holds the line up: the item deepest in the chain of latest components
  and why ("BLADE-SET: supplier lead time (6 days)", "FAN-HOUSING: PO-00012 due 2027-01-20",
  "FAN-200: work centre ASSEMBLY is fully loaded", "FAN-200: in stock").

Lines of one request share the stock and supply: each line takes its share (a line waiting for supply takes it
on that receipt's day) before the next line is promised, so line 2 never counts what line 1 took. Known limit:
an open sales order's demand counts at its own item; what it will draw from components once planned counts only
when its production order exists (its materials are open demand).

Quantities are computed in integer units of 0.0001 (domain.manufacturing.bom.units), exactly as MRP does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal, Protocol

from domain.core.errors import Invalid
from domain.manufacturing.bom import Bom, need_ratio, units
from domain.planning.mrp import Demand, ScheduledReceipt

Basis = Literal["stock", "supply", "build", "purchase"]
Why = Literal["stock", "supply", "purchase", "build", "capacity", "no_bom"]
_SCALE = Decimal(10_000)


class CapacityLike(Protocol):
    """Work centres' load, for items with a routing (domain/planning/capacity.py implements it)."""

    def has_routing(self, sku: str) -> bool: ...

    def finish(self, sku: str, qty: Decimal, start: date) -> tuple[date, str | None]:
        """Earliest date `qty` of `sku` can be finished if its operations start no earlier than `start`, given the
        load already on its work centres; and the work centre that held it up (None when nothing did)."""
        ...


@dataclass(frozen=True, slots=True)
class PromiseItem:
    sku: str
    kind: Literal["purchased", "manufactured"]
    lead_time_days: int = 0


@dataclass(frozen=True, slots=True)
class Constraint:
    """What holds a line up, as data (the pages word it in the reader's language) and as a sentence (`text`)."""

    why: Why
    sku: str
    reference: str | None = None  # supply: the receipt (PO-…, MO-…); capacity: the work centre
    due: date | None = None  # supply: the receipt's due day
    days: int = 0  # purchase, build, no_bom: the lead time in days

    @property
    def text(self) -> str:
        if self.why == "stock":
            return f"{self.sku}: in stock"
        if self.why == "supply":
            return f"{self.sku}: {self.reference} due {self.due}"
        if self.why == "purchase":
            return f"{self.sku}: supplier lead time ({self.days} days)"
        if self.why == "capacity":
            return f"{self.sku}: work centre {self.reference} is fully loaded"
        if self.why == "no_bom":
            return f"{self.sku}: no BOM, its own lead time only ({self.days} days)"
        return f"{self.sku}: production lead time ({self.days} days)"

    def as_dict(self) -> dict[str, object]:
        return {"why": self.why, "sku": self.sku, "reference": self.reference,
                "due": self.due.isoformat() if self.due else None, "days": self.days}


@dataclass(frozen=True, slots=True)
class LinePromise:
    sku: str
    qty: Decimal
    promise_date: date
    basis: Basis
    constraint: Constraint
    late: bool | None = None  # after the requested date (None: no requested date)

    @property
    def constrained_by(self) -> str:
        return self.constraint.text


@dataclass(slots=True)
class _Timeline:
    """One item's projected balance at its breakpoints: index 0 is today's free stock less the demand due by
    today; then, by day, each receipt (before the day's demand) and each demand. `balance[k]` is the balance
    once breakpoint k has happened; what a line takes at k comes off every balance from k on."""

    days: list[int] = field(default_factory=list)
    balance: list[int] = field(default_factory=list)
    refs: list[str | None] = field(default_factory=list)  # the receipt at a supply breakpoint

    def available(self, k: int = 0) -> int:
        """What may be taken at breakpoint k without taking anything a later breakpoint counts on."""
        low = min(self.balance[k:])
        return low if low > 0 else 0

    def earliest(self, qty: int) -> int | None:
        """The first breakpoint from which `qty` is available to the end; None when it never is."""
        found = None
        low = qty
        for k in range(len(self.balance) - 1, -1, -1):
            b = self.balance[k]
            if b < low:
                low = b
            if low < qty:  # going back the minimum only falls: every earlier breakpoint is short too
                break
            found = k
        return found

    def take(self, qty: int, k: int = 0) -> None:
        bal = self.balance
        for j in range(k, len(bal)):
            bal[j] -= qty


def _timeline(today: int, free: int, receipts: list[tuple[int, int, str]], demand: list[tuple[int, int]]) -> _Timeline:
    events = sorted([(max(d, today), 0, q, ref) for d, q, ref in receipts]
                    + [(max(d, today), 1, -q, None) for d, q in demand])
    t = _Timeline([today], [free], [None])
    bal = free
    for day, kind, delta, ref in events:
        bal += delta
        if kind == 1 and day == today and t.refs[-1] is None:
            t.balance[-1] = bal  # demand due by today comes off today's stock (no receipt before it)
            continue
        t.days.append(day)
        t.balance.append(bal)
        t.refs.append(ref)
    return t


class Structure:
    """Items and BOMs as a promise walks them: each BOM's lines as (component, n, d) with need = ceil(q × n / d),
    and, per item asked for, every item its BOM reaches in an order where parents come before components. Master
    data: the service keeps one while items and BOMs stay as they are (domain/planning/promising.py)."""

    def __init__(self, items: Mapping[str, PromiseItem], boms: Mapping[str, Bom]) -> None:
        self.items = items
        self.lines: dict[str, list[tuple[str, int, int]]] = {
            sku: [(ln.component, *need_ratio(ln.qty, ln.scrap_pct)) for ln in bom.lines]
            for sku, bom in boms.items() if sku in items and items[sku].kind == "manufactured"}
        for sku, comps in self.lines.items():
            for c, _n, _d in comps:
                if c not in items:
                    raise Invalid(f"the BOM of {sku} names {c}, which is not an item")
        self._reach: dict[str, list[str]] = {}

    def reachable(self, sku: str) -> list[str]:
        """Every item the BOM of `sku` reaches (itself first), parents before components (Kahn's order)."""
        found = self._reach.get(sku)
        if found is None:
            parents = {sku: 0}
            todo = [sku]
            while todo:
                for c, _n, _d in self.lines.get(todo.pop(), ()):
                    if c not in parents:
                        parents[c] = 0
                        todo.append(c)
                    parents[c] += 1
            found, todo = [], [sku]
            while todo:  # an item once every parent that uses it is placed
                s = todo.pop()
                found.append(s)
                for c, _n, _d in self.lines.get(s, ()):
                    parents[c] -= 1
                    if not parents[c]:
                        todo.append(c)
            if len(found) < len(parents):
                raise Invalid(f"the BOM of {sku} has a cycle: it cannot be promised")
            self._reach[sku] = found
        return found


class Promiser:
    """The data of one promise request, loaded once; `promise` answers the lines in order, each taking its
    share before the next. `structure`: items and BOMs prepared before (else made from `items` and `boms`)."""

    def __init__(self, *, items: Mapping[str, PromiseItem], boms: Mapping[str, Bom], on_hand: Mapping[str, Decimal],
                 reserved: Mapping[str, Decimal], receipts: Iterable[ScheduledReceipt], demand: Iterable[Demand],
                 as_of: date, capacity: CapacityLike | None = None, structure: Structure | None = None) -> None:
        self.structure = structure or Structure(items, boms)
        self.items = items = self.structure.items
        self.lines = self.structure.lines
        self.today = as_of.toordinal()
        self.capacity = capacity
        supply: dict[str, list[tuple[int, int, str]]] = {}
        for r in receipts:
            if r.sku in items and r.qty > 0:
                supply.setdefault(r.sku, []).append((r.due_date.toordinal(), units(r.qty, r.reference), r.reference))
        wanted: dict[str, list[tuple[int, int]]] = {}
        for dm in demand:
            if dm.sku in items and dm.qty > 0:
                wanted.setdefault(dm.sku, []).append((dm.due_date.toordinal(), units(dm.qty, dm.pegged_to)))
        self.supply, self.wanted, self.on_hand, self.reserved = supply, wanted, on_hand, reserved
        self.timelines: dict[str, _Timeline] = {}

    def _timeline(self, sku: str) -> _Timeline:
        """The item's timeline, made when a line first reaches it (a promise touches a few hundred items of many)."""
        t = self.timelines.get(sku)
        if t is None:
            free = units(self.on_hand.get(sku, Decimal(0)), f"on hand of {sku}") - units(
                self.reserved.get(sku, Decimal(0)), f"reserved of {sku}")
            t = self.timelines[sku] = _timeline(self.today, free, self.supply.get(sku, []), self.wanted.get(sku, []))
        return t

    def promise(self, lines: Sequence[tuple[str, Decimal]], requested: date | None = None) -> list[LinePromise]:
        for i, (sku, qty) in enumerate(lines, 1):
            if sku not in self.items:
                raise Invalid(f"line {i}: there is no item {sku}")
            if not qty > 0:
                raise Invalid(f"line {i}: the quantity of {sku} must be above zero")
        out = []
        for i, (sku, qty) in enumerate(lines, 1):
            day, basis, why = self._line(sku, units(qty, f"line {i}: the quantity of {sku}"))
            when = date.fromordinal(day)
            out.append(LinePromise(sku, qty, when, basis, why, None if requested is None else when > requested))
        return out

    def _line(self, root: str, qty: int) -> tuple[int, Basis, Constraint]:
        order = self.structure.reachable(root)
        waits: set[str] = set()  # items that wait for open supply rather than being made or bought
        for _ in range(len(order) + 1):
            need, short, ready, why, flipped = self._passes(order, root, qty, waits)
            if not flipped:
                break
            waits |= flipped
        for sku in order:  # the line takes its share
            r = need.get(sku, 0)
            if not r:
                continue
            t = self._timeline(sku)
            if sku in waits:
                k = t.earliest(r)
                if k is not None:
                    t.take(r, k)
                    continue
            t.take(r - short[sku], 0)
        item = self.items[root]
        basis: Basis = ("stock" if not short[root] else "supply" if root in waits
                        else "build" if item.kind == "manufactured" else "purchase")
        return ready[root], basis, why[root]

    def _passes(self, order: list[str], root: str, qty: int, waits: set[str]
                ) -> tuple[dict[str, int], dict[str, int], dict[str, int], dict[str, Constraint], set[str]]:
        today = self.today
        need: dict[str, int] = {root: qty}
        short: dict[str, int] = {}
        for sku in order:  # top down: what each item needs, summed over its parents; its shortfall exploded
            r = need.get(sku, 0)
            if not r:
                continue
            free = self._timeline(sku).available(0)
            s = r - free if r > free else 0
            short[sku] = s
            if s and sku not in waits:
                for c, n, d in self.lines.get(sku, ()):
                    need[c] = need.get(c, 0) - (-s * n // d)  # ceil(s × n / d): bom.need, to four places
        ready: dict[str, int] = {}
        why: dict[str, Constraint] = {}
        flipped: set[str] = set()
        for sku in reversed(order):  # bottom up: when each is ready, and why
            r = need.get(sku, 0)
            if not r:
                continue
            s = short[sku]
            if not s:
                ready[sku], why[sku] = today, Constraint("stock", sku)
                continue
            t = self._timeline(sku)
            k = t.earliest(r)
            supply_day = t.days[k] if k is not None else None
            if sku in waits and supply_day is not None and k is not None:
                ready[sku], why[sku] = supply_day, Constraint("supply", sku, t.refs[k],
                                                              date.fromordinal(supply_day))
                continue
            made, made_why = self._make(sku, s, ready, why)
            if supply_day is not None and k is not None and supply_day <= made:
                ready[sku], why[sku] = supply_day, Constraint("supply", sku, t.refs[k], date.fromordinal(supply_day))
                if sku in self.lines:
                    flipped.add(sku)  # its components were counted for making it: count again without
                else:
                    waits.add(sku)
                continue
            ready[sku], why[sku] = made, made_why
        return need, short, ready, why, flipped

    def _make(self, sku: str, short: int, ready: Mapping[str, int], why: Mapping[str, Constraint]
              ) -> tuple[int, Constraint]:
        """When the shortfall of `sku` can be ready if made (its components as `ready` says) or bought."""
        item = self.items[sku]
        lead = item.lead_time_days
        comps = self.lines.get(sku)
        if item.kind == "purchased":
            return self.today + lead, Constraint("purchase", sku, days=lead)
        if comps is None:
            return self.today + lead, Constraint("no_bom", sku, days=lead)
        start, held = self.today, None
        for c, _n, _d in comps:
            day = ready.get(c, self.today)
            if day > start:
                start, held = day, c
        finish = start + lead
        because = why[held] if held is not None else Constraint("build", sku, days=lead)
        if self.capacity is not None and self.capacity.has_routing(sku):
            done, centre = self.capacity.finish(sku, Decimal(short) / _SCALE, date.fromordinal(start))
            if done.toordinal() > finish:
                finish = done.toordinal()
                if centre is not None:
                    because = Constraint("capacity", sku, centre)
        return finish, because


def promise(lines: Sequence[tuple[str, Decimal]], *, items: Mapping[str, PromiseItem], boms: Mapping[str, Bom],
            on_hand: Mapping[str, Decimal], reserved: Mapping[str, Decimal], receipts: Iterable[ScheduledReceipt],
            demand: Iterable[Demand], as_of: date, requested: date | None = None,
            capacity: CapacityLike | None = None) -> list[LinePromise]:
    """The promise of each line, in order, each taking its share of stock and supply before the next (see the
    module's docstring). Refuses (Invalid) an unknown SKU or a quantity that is not above zero."""
    return Promiser(items=items, boms=boms, on_hand=on_hand, reserved=reserved, receipts=receipts, demand=demand,
                    as_of=as_of, capacity=capacity).promise(lines, requested)

