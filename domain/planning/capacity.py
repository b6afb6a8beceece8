"""Capacity: the load of production orders on work centres, week by week, against the hours their calendars give;
and the earliest date an item can be made given that load (capable-to-promise asks it). Pure: plain frozen
dataclasses in, cells and dates out; no database, no clock (the caller gives `as_of`).

- A work centre's calendar gives its hours on each weekday (Monday first) and on dated exceptions (a holiday: 0
  hours; a short day; an extra shift): a week's capacity is the sum of its seven days.
- An item's routing is its operations in sequence, each on a work centre: `setup_hours` once per order (not again
  once the order has made something) plus `hours_per_unit` × the quantity still to make.
- How an order's hours are spread: every operation's hours go over the order's working window, from its release
  date (today when that is past) up to the day before its due date (the release day alone when that is later),
  in proportion to the hours the operation's work centre works on each day of it. A window with no working hour
  at all (a weekend) takes the hours on its first day. An order already past due puts what it still has to make on
  `as_of`: it is to be done now. So a week's load is the part of each order's work the calendar lets fall in it;
  four-place hours, the last day of a window takes what rounding left, so an order's load adds up exactly.
- A cell (work centre, ISO week) is overloaded when its load is above its capacity.
- `finish` schedules forward, finitely: operation after operation, each day's free hours (calendar less the load
  already there, never below zero) are used from the start date until the operation's hours are done; the next
  operation starts on the day the previous one ends. It books nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

ZERO = Decimal(0)
HOUR4 = Decimal("0.0001")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON_DAYS = 3 * 366  # finish() looks this far ahead for free hours (for all of a routing) before it gives up
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Calendar:
    """The hours a work centre works on each weekday, Monday first, and on the days that differ (a holiday: 0)."""

    work_centre: str
    hours: tuple[Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal]
    days: Mapping[date, Decimal] = field(default_factory=dict)

    def on(self, day: date) -> Decimal:
        found = self.days.get(day)
        return self.hours[day.weekday()] if found is None else found

    @property
    def week(self) -> Decimal:
        """A standard week's hours (no dated exception)."""
        return sum(self.hours, ZERO)

    def week_of(self, monday: date) -> Decimal:
        """The hours of the week starting on `monday`, dated exceptions counted."""
        if not self.days:
            return self.week
        return sum((self.on(monday + timedelta(days=i)) for i in range(7)), ZERO)


@dataclass(frozen=True, slots=True)
class Operation:
    """One step of an item's routing."""

    seq: int
    work_centre: str
    setup_hours: Decimal = ZERO
    hours_per_unit: Decimal = ZERO

    def hours(self, qty: Decimal, *, setup: bool = True) -> Decimal:
        return (self.setup_hours if setup else ZERO) + qty * self.hours_per_unit


@dataclass(frozen=True, slots=True)
class LoadOrder:
    """A production order (open, or planned by an MRP run) as capacity sees it: what it still has to make."""

    reference: str  # "MO-00012", or a planned order of a run ("MRP-00004-3")
    sku: str
    qty: Decimal  # still to make
    release_date: date
    due_date: date
    planned: bool = False
    setup_done: bool = False  # it has made something already: its setups are behind it


def week_of(day: date) -> date:
    """The Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True, slots=True)
class Cell:
    """One work centre in one ISO week: the load put on it, the hours it has, and what loads it (reference → hours)."""

    work_centre: str
    week_start: date
    load: Decimal
    capacity: Decimal
    orders: tuple[tuple[str, Decimal], ...] = ()

    @property
    def week(self) -> str:
        return week_label(self.week_start)

    @property
    def overloaded(self) -> bool:
        return self.load > self.capacity

    @property
    def over(self) -> Decimal:
        return max(self.load - self.capacity, ZERO)

    @property
    def utilisation(self) -> Decimal | None:
        """Load as a percentage of capacity (None when the week has no hours)."""
        return None if not self.capacity else (self.load * 100 / self.capacity).quantize(Decimal(1))


def window(order: LoadOrder, as_of: date) -> tuple[date, date]:
    """The days an order's work is spread over (see the module's docstring)."""
    if order.due_date <= as_of:
        return as_of, as_of
    start = max(order.release_date, as_of)
    return start, max(start, order.due_date - ONE_DAY)


def spread(hours: Decimal, first: date, last: date, calendar: Calendar | None) -> dict[date, Decimal]:
    """`hours` over the days first..last in proportion to the calendar's hours on each (four places; the last
    working day takes the remainder); all on `first` when none of those days has a working hour."""
    if hours <= 0:
        return {}
    days = []
    d = first
    while d <= last:
        if calendar is not None and calendar.on(d) > 0:
            days.append(d)
        d += ONE_DAY
    if not days or calendar is None:
        return {first: hours}
    total = sum((calendar.on(d) for d in days), ZERO)
    out: dict[date, Decimal] = {}
    given = ZERO
    for d in days[:-1]:
        part = (hours * calendar.on(d) / total).quantize(HOUR4, rounding=ROUND_DOWN)
        if part:
            out[d] = part
            given += part
    out[days[-1]] = hours - given
    return out


@dataclass
class CapacityModel:
    """The load of `orders` on the work centres of their routings, from `as_of`. Implements capable-to-promise's
    CapacityLike (`has_routing`, `finish`)."""

    calendars: Mapping[str, Calendar]
    routings: Mapping[str, Sequence[Operation]]
    orders: Iterable[LoadOrder]
    as_of: date
    daily: dict[str, dict[date, Decimal]] = field(default_factory=dict, init=False)  # work centre → day → hours
    by_order: dict[tuple[str, date], dict[str, Decimal]] = field(default_factory=dict, init=False)
    skus: dict[str, str] = field(default_factory=dict, init=False)  # reference → sku

    def __post_init__(self) -> None:
        self.orders = tuple(self.orders)
        for o in self.orders:
            self.skus[o.reference] = o.sku
            first, last = window(o, self.as_of)
            for op in self.routings.get(o.sku, ()):
                for day, h in spread(op.hours(o.qty, setup=not o.setup_done), first, last,
                                     self.calendars.get(op.work_centre)).items():
                    days = self.daily.setdefault(op.work_centre, {})
                    days[day] = days.get(day, ZERO) + h
                    cell = self.by_order.setdefault((op.work_centre, week_of(day)), {})
                    cell[o.reference] = cell.get(o.reference, ZERO) + h

    # --- the load ---------------------------------------------------------------------------------------

    def capacity(self, work_centre: str, monday: date) -> Decimal:
        cal = self.calendars.get(work_centre)
        return cal.week_of(monday) if cal is not None else ZERO

    def cell(self, work_centre: str, monday: date) -> Cell:
        orders = self.by_order.get((work_centre, monday), {})
        load = sum(orders.values(), ZERO)
        return Cell(work_centre, monday, load, self.capacity(work_centre, monday),
                    tuple(sorted(orders.items(), key=lambda kv: (-kv[1], kv[0]))))

    def weeks(self, at_least: int = 0) -> list[date]:
        """The Mondays from as_of's week to the last week with load (and at least `at_least` weeks)."""
        first = week_of(self.as_of)
        last = max((week_of(d) for days in self.daily.values() for d in days), default=first)
        last = max(last, first + timedelta(weeks=max(at_least - 1, 0)))
        return [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]

    def work_centres(self) -> list[str]:
        return sorted(set(self.calendars) | set(self.daily))

    def table(self, at_least: int = 0) -> list[list[Cell]]:
        """One row per work centre (by code), one cell per week of `weeks`."""
        weeks = self.weeks(at_least)
        return [[self.cell(wc, w) for w in weeks] for wc in self.work_centres()]

    def overloads(self) -> list[Cell]:
        """Every overloaded cell, by week then work centre."""
        cells = {(wc, week_of(d)) for wc, days in self.daily.items() for d in days}
        found = [c for c in (self.cell(wc, w) for wc, w in cells) if c.overloaded]
        return sorted(found, key=lambda c: (c.week_start, c.work_centre))

    # --- CapacityLike ---------------------------------------------------------------------------------

    def has_routing(self, sku: str) -> bool:
        return bool(self.routings.get(sku))

    def _free(self, work_centre: str, day: date, used: Mapping[tuple[str, date], Decimal], *, loaded: bool
              ) -> Decimal:
        cal = self.calendars.get(work_centre)
        if cal is None:
            return ZERO
        taken = self.daily.get(work_centre, {}).get(day, ZERO) if loaded else ZERO
        return max(cal.on(day) - taken - used.get((work_centre, day), ZERO), ZERO)

    def _schedule(self, sku: str, qty: Decimal, start: date, *, loaded: bool) -> list[tuple[str, date, date]]:
        """(work centre, day it starts, day it ends) of each operation, forward from `start`."""
        used: dict[tuple[str, date], Decimal] = {}
        day = max(start, self.as_of)
        limit = day + timedelta(days=HORIZON_DAYS)  # for the whole routing: past it, each further step ends there too
        out = []
        for op in sorted(self.routings.get(sku, ()), key=lambda o: o.seq):
            left = op.hours(qty)
            began = day
            while True:
                free = self._free(op.work_centre, day, used, loaded=loaded)
                take = min(free, left)
                if take > 0:
                    used[(op.work_centre, day)] = used.get((op.work_centre, day), ZERO) + take
                    left -= take
                if left <= 0 or day >= limit:
                    break
                day += ONE_DAY
            out.append((op.work_centre, began, day))
        return out

    def finish(self, sku: str, qty: Decimal, start: date) -> tuple[date, str | None]:
        """The earliest day `qty` of `sku` can be finished when its operations start no earlier than `start`
        (nor before as_of), given the load already on its work centres; and the work centre that held it up most
        (the one whose operation adds the most days of delay compared with empty calendars), None when the load held
        up nothing.
        An item without a routing finishes on its start day."""
        day = max(start, self.as_of)
        loaded = self._schedule(sku, qty, day, loaded=True)
        if not loaded:
            return day, None
        empty = self._schedule(sku, qty, day, loaded=False)
        worst: tuple[int, str] | None = None
        before = 0  # the delay the operations before brought along
        for (wc, _, end), (_, _, free_end) in zip(loaded, empty, strict=True):
            delay = (end - free_end).days
            if delay - before > 0 and (worst is None or delay - before > worst[0]):
                worst = (delay - before, wc)
            before = max(before, delay)
        return loaded[-1][2], worst[1] if worst else None
