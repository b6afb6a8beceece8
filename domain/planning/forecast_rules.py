"""Sales forecasts as MRP demand (make to stock). Pure: no database, no clock (the caller gives `as_of`).

The rule (forecast consumption):

- A forecast says how much of an item the company expects to sell in a month (its first day stands for it).
- Actual sales orders of that item requested in that month use it up: MRP plans only the rest, forecast − ordered,
  floored at zero (the orders themselves are MRP's demand already; planning the forecast on top would count
  them twice). An order counts in the month of its requested date; one with none in the month of the date it is
  due by (see domain.planning.forecasts).
- The rest is due on the first day of the month, or on `as_of` when that is later (this month's forecast), and
  is pegged to "FC <month>" (FC 2027-01). Months before the one of `as_of` are past: ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.core.errors import Invalid
from domain.core.limits import MAX_QTY, PLAN_AHEAD_YEARS
from domain.planning.mrp import Demand

ZERO = Decimal(0)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$")
MAX_MONTHS_SHOWN = 12


@dataclass(frozen=True, slots=True)
class ForecastLine:
    sku: str
    month: date  # the first day of the month
    qty: Decimal


@dataclass(frozen=True, slots=True)
class OrderedQty:
    """What one sales order line asks for, and the day it counts on (its requested date, else its due date)."""

    sku: str
    day: date
    qty: Decimal


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    k = month.year * 12 + month.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


def month_label(month: date) -> str:
    """2027-01"""
    return f"{month.year:04d}-{month.month:02d}"


def peg(month: date) -> str:
    """The demand reference of a month's forecast: FC 2027-01."""
    return f"FC {month_label(month)}"


def parse_month(value: str | date, what: str = "the month") -> date:
    """A month as written (2027-01, 2027-1, or its first day 2027-01-01; a date object: its first day) as the date
    of its first day; anything else is refused naming it."""
    if isinstance(value, date):
        if value.day != 1:
            raise Invalid(f"{what} must be a month (2027-01) or its first day, not {value.isoformat()}")
        return value
    text = (value or "").strip()
    m = _MONTH.match(text)
    if m is None:
        raise Invalid(f"{what} must be a month written as 2027-01, not {text[:40]!r}")
    year, month, day = int(m.group(1)), int(m.group(2)), m.group(3)
    if not 1 <= month <= 12:
        raise Invalid(f"{what}: there is no month {month} ({text[:40]!r})")
    if day is not None and int(day) != 1:
        raise Invalid(f"{what} must be a month (2027-01) or its first day, not {text[:40]!r}")
    if year < 1900:
        raise Invalid(f"{what}: {text[:40]!r} is not a month a plan can be for")
    return date(year, month, 1)


def check_month(month: date, today: date, what: str = "the month") -> None:
    """A forecast is for this month or a later one, up to PLAN_AHEAD_YEARS ahead."""
    this = first_of_month(today)
    if month < this:
        raise Invalid(f"{what} {month_label(month)} is past: a forecast is for this month ({month_label(this)}) "
                      "or a later one")
    last = add_months(this, 12 * PLAN_AHEAD_YEARS)
    if month > last:
        raise Invalid(f"{what} {month_label(month)} is too far ahead: a forecast is for a month up to "
                      f"{month_label(last)}")


def check_qty(qty: Decimal, what: str = "the quantity") -> Decimal:
    """A forecast quantity: above zero, at most MAX_QTY, at most four decimal places."""
    if not qty.is_finite():
        raise Invalid(f"{what} must be a number")
    if not qty > 0:
        raise Invalid(f"{what} must be above zero (to remove a forecast, delete it), not {qty}")
    if qty > MAX_QTY:
        raise Invalid(f"{what} must be at most {MAX_QTY:,}, not {qty}")
    if qty != qty.quantize(Decimal("0.0001")):
        raise Invalid(f"{what} has more than four decimal places: {qty}")
    return qty


def ordered_by_month(orders: Iterable[OrderedQty]) -> dict[tuple[str, date], Decimal]:
    """(sku, month) → the quantity ordered for that month."""
    out: dict[tuple[str, date], Decimal] = {}
    for o in orders:
        key = (o.sku, first_of_month(o.day))
        out[key] = out.get(key, ZERO) + o.qty
    return out


def remaining(forecast: Decimal, ordered: Decimal) -> Decimal:
    """What of a forecast actual orders have not used up (never below zero)."""
    return max(forecast - ordered, ZERO)


def net_demand(forecasts: Iterable[ForecastLine], orders: Iterable[OrderedQty], as_of: date) -> list[Demand]:
    """The demand MRP plans for the forecasts: per item and month from the month of `as_of` on, what orders of that
    month have not used up, due on the month's first day (or `as_of`), pegged to "FC <month>"; by month, then SKU."""
    this = first_of_month(as_of)
    ordered = ordered_by_month(orders)
    out = []
    for f in sorted(forecasts, key=lambda f: (f.month, f.sku)):
        if f.month < this:
            continue
        rest = remaining(f.qty, ordered.get((f.sku, f.month), ZERO))
        if rest > 0:
            out.append(Demand(f.sku, rest, max(f.month, as_of), peg(f.month)))
    return out
