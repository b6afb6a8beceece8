"""Month-end close as rules: what its checks report, when a period may be closed or reopened, and how its
process ends. Pure: no I/O; the PeriodClose workflow imports this (its SQL is domain/cash/close.py).

A close runs three kinds of check over a period: nothing recorded but not posted is dated in it (a supplier bill
awaiting approval, a delivery not yet invoiced); each sub-ledger equals its control account (open customer
invoices = receivables, open supplier bills = payables, unallocated payments = advances, stock valuation =
inventory, received-not-billed = goods received not invoiced); the trial balance to its last day is even. All
pass → the cfo is asked to approve and the period is locked; any fails → the close ends there, with its report."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel

from domain.accounting.rules import PeriodStatus, parse_period
from domain.approvals.rules import ChainStep
from domain.core.errors import Conflict, Invalid

REASON_MAX = 500


class CloseEnd(StrEnum):
    """How a PeriodClose process ends (its stage at the end)."""

    CLOSED = "closed"  # the cfo approved: the period is locked
    CHECKS_FAILED = "checks_failed"  # a check failed (before the cfo was asked, or again at the approval)
    REJECTED = "rejected"  # the cfo rejected: the period is open again


class Unposted(BaseModel):
    """A document recorded but not posted, dated in the period."""

    kind: str  # "supplier bill awaiting approval", "delivery not invoiced", ...
    number: str
    on: date
    amount: Decimal | None = None
    currency: str = ""


class Check(BaseModel):
    """One line of the close's report. A sub-ledger check carries its account and both sides; the unposted check
    its documents; the trial balance its two totals (as control and subledger)."""

    key: str  # "unposted", "subledger:1100", ..., "trial_balance"
    name: str
    passed: bool
    detail: str = ""
    account: str | None = None
    control: Decimal | None = None
    subledger: Decimal | None = None
    difference: Decimal | None = None
    items: list[Unposted] = []


class CloseReport(BaseModel):
    period: str
    ran_at: datetime
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


class CloseRequest(BaseModel):
    """What the API starts a PeriodClose with: the period, who asked, and the cfo's step (resolved at the start so
    a close nobody but the requester could approve is refused at once)."""

    period: str
    requested_by: str
    steps: list[ChainStep]


def last_day(period: str) -> date:
    return parse_period(period)[1]


def check_may_close(period: str, status: str | None, today: date) -> None:
    """A period may be closed once it has ended and while it is not closed. Invalid for a malformed period."""
    end = last_day(period)
    if status == PeriodStatus.CLOSED:
        raise Conflict(f"period {period} is already closed; the cfo may reopen it")
    if end > today:
        raise Conflict(f"period {period} has not ended yet (its last day is {end.isoformat()}); "
                       "a month is closed after its last day")


def check_reason(reason: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise Invalid("a reopening needs a reason: say why the period is opened again")
    if len(text) > REASON_MAX:
        raise Invalid(f"the reason is longer than {REASON_MAX} characters")
    return text


def check_may_reopen(period: str, status: str | None) -> None:
    parse_period(period)
    if status != PeriodStatus.CLOSED:
        raise Conflict(f"period {period} is {status or PeriodStatus.OPEN}; only a closed period can be reopened")


def summary(report: CloseReport) -> str:
    """One line for the monitor and the task's title."""
    if report.passed:
        return f"all {len(report.checks)} checks passed"
    return "failed: " + "; ".join(c.name for c in report.failed)
