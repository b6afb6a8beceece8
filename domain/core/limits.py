"""The bounds that make business sense, named in one place (issue 15): how much of anything one document,
report or line may carry, and how far from today a document's date may be. Pure; the request models
(field bounds) and the domain checks (bounds that depend on the document's state) both read them here."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from domain.core.errors import Invalid
from domain.core.money import MAX_AMOUNT, MAX_VALUE

__all__ = [
    "MAX_AMOUNT",
    "MAX_HOURS_PER_REPORT",
    "MAX_HOURS_PER_UNIT",
    "MAX_QTY",
    "MAX_VALUE",
    "PAST_FACT_AHEAD",
    "PAST_YEARS",
    "PLAN_AHEAD_YEARS",
    "PLAN_BACK_YEARS",
    "check_past_fact",
    "check_plan_date",
]

# Quantities: no line, move or order is for more than 100 million units of anything.
MAX_QTY = Decimal("100000000")
# An amount (a line's price or amount, an expense claim's total): MAX_AMOUNT (a billion) — domain.money.
# A document's value (a quotation's or order's total, a stock move): MAX_VALUE (100 billion) — domain.money.

# Labour hours on one production progress report: at most this many per unit the order still has to make
# (a unit that takes more than 200 hours of work is a project, not a production order) ...
MAX_HOURS_PER_UNIT = Decimal(200)
# ... and at most this many in one report whatever the order (a week of a 50-person line: 50 × 40 h).
MAX_HOURS_PER_REPORT = Decimal(2000)

# Dates. A past fact (an expense was incurred, goods were received) lies between ten years ago (the
# longest records are kept) and tomorrow (a day of slack for time zones).
PAST_YEARS = 10
PAST_FACT_AHEAD = timedelta(days=1)
# A plan (a requested delivery date, a due date, a planning date) lies between a year ago (an order entered
# late) and five years ahead (the longest contract lead times).
PLAN_BACK_YEARS = 1
PLAN_AHEAD_YEARS = 5


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _years_after(day: date, years: int) -> date:
    return _years_before(day, -years)


def check_past_fact(day: date, today: date, what: str) -> None:
    """A date on which something happened: not in the future, not beyond the records kept."""
    earliest, latest = _years_before(today, PAST_YEARS), today + PAST_FACT_AHEAD
    if day > latest:
        raise Invalid(f"{what} {day} is in the future; it must be on or before {today}")
    if day < earliest:
        raise Invalid(f"{what} {day} is more than {PAST_YEARS} years ago; it must be on or after {earliest}")


def check_plan_date(day: date, today: date, what: str) -> None:
    """A date something is planned for: within a year back and five years ahead of today."""
    earliest, latest = _years_before(today, PLAN_BACK_YEARS), _years_after(today, PLAN_AHEAD_YEARS)
    if not earliest <= day <= latest:
        raise Invalid(f"{what} {day} is out of range; it must be between {earliest} and {latest}")
