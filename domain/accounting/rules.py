"""Double-entry rules: a journal draft is balanced by construction, or it does not exist."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from pydantic import BaseModel, model_validator

from domain.core.errors import Invalid

# The chart of accounts every company starts with.
CHART: list[tuple[str, str, str]] = [
    ("1000", "Bank", "asset"),
    ("1100", "Accounts receivable", "asset"),
    ("1200", "Inventory", "asset"),
    ("1300", "Work in progress", "asset"),
    ("2000", "Accounts payable", "liability"),
    ("2100", "Goods received not invoiced", "liability"),
    ("2200", "Employee payable", "liability"),
    ("2300", "Accrued production wages", "liability"),
    ("2500", "Sales tax payable", "liability"),
    ("3000", "Opening balance equity", "equity"),
    ("4000", "Sales revenue", "income"),
    ("5000", "Cost of goods sold", "expense"),
    ("5100", "Stock adjustments", "expense"),
    ("5400", "Production overhead absorbed", "expense"),
    ("6100", "Travel", "expense"),
    ("6200", "Meals and entertainment", "expense"),
    ("6300", "Lodging", "expense"),
    ("6400", "Office supplies", "expense"),
    ("6500", "Training", "expense"),
    ("6900", "Other expenses", "expense"),
]
BANK, INVENTORY, GRNI, EMPLOYEE_PAYABLE, OPENING_EQUITY, STOCK_ADJUSTMENTS = (
    "1000", "1200", "2100", "2200", "3000", "5100")
RECEIVABLES, WIP, ACCRUED_WAGES, SALES_TAX, REVENUE, COGS, OVERHEAD_ABSORBED = (
    "1100", "1300", "2300", "2500", "4000", "5000", "5400")


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
