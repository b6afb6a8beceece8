"""Expense claims: input shape, totals and their journal entries. Pure."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain import permissions
from domain.accounting import rules as accounting
from domain.approvals.rules import ChainStep
from domain.core.currencies import Currency
from domain.core.errors import Conflict, Forbidden, Invalid
from domain.core.limits import check_past_fact
from domain.core.money import MAX_AMOUNT, money
from domain.core.numbers import PlainDecimal
from domain.org.people import Actor

CATEGORY_ACCOUNTS: dict[str, str] = {
    "travel": "6100",
    "transport": "6100",
    "meals": "6200",
    "entertainment": "6200",
    "lodging": "6300",
    "office": "6400",
    "training": "6500",
    "other": "6900",
}
Category = Literal["travel", "transport", "meals", "entertainment", "lodging", "office", "training", "other"]


class ClaimStatus(StrEnum):
    """An expense claim's status (its row's `status`, equal to the string stored there). SUBMITTED is its
    process's before the claim is recorded."""

    SUBMITTED = "submitted"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"  # awaiting payment
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    PAID = "paid"


class ExpenseLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a field the caller may not set is refused

    category: Category
    amount: PlainDecimal = Field(gt=0, le=MAX_AMOUNT, decimal_places=2)
    currency: Currency = "USD"
    date: date
    description: str = Field(default="", max_length=500)


class ClaimDraft(BaseModel):
    """What the workflow receives: the claim as submitted, numbered."""

    number: str
    requester: str
    currency: str
    total: Decimal
    lines: list[ExpenseLineIn]
    # The approval chain resolved at submission (a snapshot, like the approvers ERPNext fixes on submit).
    steps: list[ChainStep] = []
    trip: str | None = None  # the business trip (FR-…) whose cash advance its payment settles
    generation: int = 0  # the workflow code generation that started its process (workflows.common.GENERATION)


def total_of(lines: list[ExpenseLineIn]) -> tuple[Decimal, str]:
    """The claim total, in its one currency (no exchange rates: one claim, one currency), bounded by the
    same limit as each of its lines."""
    if not lines:
        raise Invalid("an expense claim needs at least one line")
    currencies = {line.currency for line in lines}
    if len(currencies) > 1:
        raise Invalid(f"all lines of one claim must be in one currency, got {', '.join(sorted(currencies))}")
    total = money(sum((line.amount for line in lines), Decimal(0)))
    if total > MAX_AMOUNT:
        raise Invalid(f"an expense claim's total of {total} is over the limit of {MAX_AMOUNT}; each claim, like "
                      f"each line, is at most that")
    return total, currencies.pop()


def check_dates(lines: list[ExpenseLineIn], today: date) -> None:
    """Each line's date is a past fact (domain.limits): not in the future, not beyond the records kept."""
    for i, line in enumerate(lines, 1):
        check_past_fact(line.date, today, f"line {i}: the expense date" if len(lines) > 1 else "the expense date")


def accrual_entry(claim: ClaimDraft, rate: Decimal = Decimal(1)) -> accounting.JournalDraft:
    """On approval: each category's expense account against what we owe the employee, in the company currency
    at `rate` (company units per unit of the claim's currency: the claim date's; 1 for a claim in it). What
    we owe is the sum of the converted lines, so the entry balances to the cent."""
    debits = accounting.sum_by([(CATEGORY_ACCOUNTS[ln.category], money(ln.amount)) for ln in claim.lines])
    if sum(debits.values(), Decimal(0)) != claim.total:
        raise Invalid(f"claim {claim.number} does not balance: its lines add up to "
                      f"{sum(debits.values(), Decimal(0))}, not its total {claim.total}")
    base = {account: accounting.to_base(amount, rate) for account, amount in debits.items()}
    return accounting.entry(f"Expense claim {claim.number} approved", base,
                            {accounting.EMPLOYEE_PAYABLE: sum(base.values(), Decimal(0))})


def payment_entry(number: str, total: Decimal, advance: Decimal = Decimal(0)) -> accounting.JournalDraft:
    """What we owe the employee cleared: from the bank, less `advance` netted against their trip's cash advance."""
    return accounting.entry(f"Expense claim {number} paid", {accounting.EMPLOYEE_PAYABLE: total},
                            {accounting.BANK: total - advance, accounting.EMPLOYEE_ADVANCES: advance})


def check_may_pay(actor: Actor, number: str, requester: str, status: str, paid_by: str | None,
                  paid_at: datetime | None) -> None:
    """May `actor` pay claim `number` of `requester`, in `status` (the end being written, while it ends), a pay by
    `paid_by` at `paid_at` already taken? Whoever may pay claims, never their own, an approved claim, once."""
    permissions.check(actor.roles, permissions.Action.EXPENSE_PAY, "only finance can pay a claim")
    if actor.username == requester:
        raise Forbidden("nobody pays their own claim")
    if paid_by is not None:
        state = "already paid" if status == ClaimStatus.PAID else "being paid"
        on = f" on {paid_at:%Y-%m-%d %H:%M} UTC" if paid_at else ""
        raise Conflict(f"claim {number} is {state} (by {paid_by}{on}); nothing more to pay")
    if status != ClaimStatus.APPROVED:
        raise Conflict(f"claim {number} is {status}; only an approved claim can be paid")
