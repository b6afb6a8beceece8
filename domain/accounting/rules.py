"""Double-entry rules: a journal draft is balanced by construction, or it does not exist."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from domain.core.currencies import Currency
from domain.core.errors import Conflict, Invalid
from domain.core.money import money
from domain.core.numbers import PlainDecimal

# The chart of accounts every company starts with.
CHART: list[tuple[str, str, str]] = [
    ("1000", "Bank", "asset"),
    ("1100", "Accounts receivable", "asset"),
    ("1200", "Inventory", "asset"),
    ("1300", "Work in progress", "asset"),
    ("1400", "Supplier advances", "asset"),
    ("1500", "Employee advances", "asset"),
    ("2000", "Accounts payable", "liability"),
    ("2100", "Goods received not invoiced", "liability"),
    ("2200", "Employee payable", "liability"),
    ("2300", "Accrued production wages", "liability"),
    ("2400", "Customer advances", "liability"),
    ("2500", "Sales tax payable", "liability"),
    ("3000", "Opening balance equity", "equity"),
    ("4000", "Sales revenue", "income"),
    ("5000", "Cost of goods sold", "expense"),
    ("5100", "Stock adjustments", "expense"),
    ("5200", "Purchase price variance", "expense"),
    ("5400", "Production overhead absorbed", "expense"),
    ("6100", "Travel", "expense"),
    ("6200", "Meals and entertainment", "expense"),
    ("6300", "Lodging", "expense"),
    ("6400", "Office supplies", "expense"),
    ("6500", "Training", "expense"),
    ("6800", "Bad debts", "expense"),
    ("6900", "Other expenses", "expense"),
    ("7000", "Exchange differences", "expense"),
]
BANK, INVENTORY, GRNI, EMPLOYEE_PAYABLE, OPENING_EQUITY, STOCK_ADJUSTMENTS = (
    "1000", "1200", "2100", "2200", "3000", "5100")
RECEIVABLES, WIP, ACCRUED_WAGES, SALES_TAX, REVENUE, COGS, OVERHEAD_ABSORBED = (
    "1100", "1300", "2300", "2500", "4000", "5000", "5400")
PAYABLES, SUPPLIER_ADVANCES, CUSTOMER_ADVANCES, PRICE_VARIANCE, BAD_DEBTS, EXCHANGE_DIFFERENCES = (
    "2000", "1400", "2400", "5200", "6800", "7000")
EMPLOYEE_ADVANCES = "1500"  # cash advanced to an employee for a business trip, settled by the trip's expense claim
ACCOUNT_TYPES = ("asset", "liability", "equity", "income", "expense")


class Posting(BaseModel):
    account: str
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)


class JournalDraft(BaseModel):
    memo: str
    postings: list[Posting]

    @model_validator(mode="after")
    def _balanced(self) -> JournalDraft:
        debit = sum((p.debit for p in self.postings), Decimal(0))
        credit = sum((p.credit for p in self.postings), Decimal(0))
        if not self.postings:
            raise ValueError("a journal entry needs at least one line")
        if any(p.debit < 0 or p.credit < 0 for p in self.postings):
            raise ValueError("journal amounts are never negative; swap debit and credit instead")
        if debit != credit:
            raise ValueError(f"journal entry does not balance: debit {debit} != credit {credit}")
        return self


def entry(memo: str, debits: dict[str, Decimal], credits: dict[str, Decimal]) -> JournalDraft:
    """Build a balanced draft from {account: amount} maps (zero amounts dropped)."""
    postings = [Posting(account=a, debit=v) for a, v in debits.items() if v] + [
        Posting(account=a, credit=v) for a, v in credits.items() if v
    ]
    try:
        return JournalDraft(memo=memo, postings=postings)
    except ValueError as e:
        raise Invalid(str(e)) from e


def sum_by(pairs: list[tuple[str, Decimal]]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for key, value in pairs:
        out[key] += value
    return dict(out)


# --- periods and currencies -------------------------------------------------------------------------

class PeriodStatus(StrEnum):
    OPEN = "open"
    CLOSING = "closing"  # its close is running: checks done, the cfo's approval awaited (postings still allowed)
    CLOSED = "closed"  # locked: a posting dated in it is refused


def period_of(day: date) -> str:
    """The accounting period (a calendar month) a date falls in: "2026-11"."""
    return f"{day.year:04d}-{day.month:02d}"


def parse_period(text: str) -> tuple[date, date]:
    """"2026-11" → (first day, last day); anything else is Invalid."""
    try:
        year, month = (int(x) for x in text.split("-"))
        first = date(year, month, 1)
    except (ValueError, TypeError):
        raise Invalid(f"{text[:20]!r} is not a period; write it as YYYY-MM, e.g. 2026-11") from None
    if len(text) != 7:
        raise Invalid(f"{text[:20]!r} is not a period; write it as YYYY-MM, e.g. 2026-11")
    last = (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)) - timedelta(days=1)
    return first, last


def check_period_open(period: str, status: str | None, posting: str) -> None:
    """A posting dated in a closed period is refused (409), whatever posts it."""
    if status == PeriodStatus.CLOSED:
        raise Conflict(f"period {period} is closed; {posting} cannot be dated in it (the cfo may reopen it)")


def to_base(amount: Decimal, rate: Decimal) -> Decimal:
    """An amount in a document's currency, in the company currency at `rate` (company units per unit), to the cent."""
    return money(amount * rate)


class RateIn(BaseModel):
    """An exchange rate as finance enters it: company-currency units for one unit of `currency` from `valid_from`
    on (until a later rate's day). Ten decimal places at most, above zero."""

    currency: Currency
    valid_from: date
    rate: PlainDecimal = Field(gt=0, le=Decimal(10) ** 9, decimal_places=10)


def check_rate(new: RateIn, base: str, existing_days: set[date]) -> None:
    """The company's own currency has no rate (it is 1); one rate per currency and day (a document may already
    have been converted at it: enter a rate for the next day instead of changing it)."""
    if new.currency == base:
        raise Invalid(f"{base} is the company currency; it needs no exchange rate")
    if new.valid_from in existing_days:
        raise Conflict(f"a rate for {new.currency} on {new.valid_from.isoformat()} exists; documents may already "
                       "have been converted at it, so enter a rate from a later day instead")
