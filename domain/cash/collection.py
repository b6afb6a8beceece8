"""Collecting a customer invoice, as pure rules: which reminder (before due) or dunning level is due when, what a
reminder says, and who may ask to write an invoice off. No I/O: the CustomerInvoice workflow imports this.

A process that looks late (a worker was down, an invoice issued long after its reminder day) raises only the
highest level whose day has come: the levels it passed meanwhile are superseded, not raised one after another."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from domain import permissions
from domain.cash.rules import InvoiceStatus, Reminder
from domain.core.errors import Conflict, Forbidden, Invalid
from domain.org.people import Actor

ZERO = Decimal(0)
NONE_RAISED = -1  # no reminder raised yet (level 0 is the reminder before due)


class CollectionStatus:
    """Where a CustomerInvoice process stands (its query and its Updates answer these)."""

    COLLECTING = "collecting"
    WRITE_OFF_PENDING = "write-off pending approval"
    PAID = InvoiceStatus.PAID.value
    WRITTEN_OFF = InvoiceStatus.WRITTEN_OFF.value


class InvoiceRef(BaseModel):
    """What a CustomerInvoice process starts from: an invoice already issued (with its delivery)."""

    number: str
    customer: str = ""
    owner: str = ""  # the order's salesperson
    total: Decimal = ZERO
    currency: str = ""
    sales_order_number: str | None = None


class CollectionState(BaseModel):
    """An invoice as its collection sees it, read again at each timer and each payment."""

    number: str
    status: str  # an InvoiceStatus
    outstanding: Decimal
    currency: str
    issued_on: date
    due_on: date
    schedule: list[Reminder] = []
    on_hold: bool = False

    @property
    def closed(self) -> bool:
        return self.status in (InvoiceStatus.PAID, InvoiceStatus.WRITTEN_OFF)


def pending(schedule: list[Reminder], raised: int, issued_on: date) -> list[Reminder]:
    """The reminders still to come after level `raised`; the reminder before due only when its day is not before
    the invoice's own date (an invoice on short terms gets no reminder it could never have had)."""
    return [r for r in schedule if r.level > raised and not (r.level == 0 and r.on < issued_on)]


def due_now(schedule: list[Reminder], raised: int, issued_on: date, today: date) -> Reminder | None:
    """The reminder to raise today: the highest pending level whose day has come (None: none yet)."""
    come = [r for r in pending(schedule, raised, issued_on) if r.on <= today]
    return max(come, key=lambda r: r.level) if come else None


def next_reminder(schedule: list[Reminder], raised: int, issued_on: date, today: date) -> Reminder | None:
    """The next reminder whose day has not come yet (the process sleeps until then); None: no more."""
    later = [r for r in pending(schedule, raised, issued_on) if r.on > today]
    return min(later, key=lambda r: r.level) if later else None


def reminder_title(number: str, customer: str, outstanding: Decimal, currency: str, due_on: date, level: int,
                   days_past_due: int, on_hold: bool) -> str:
    """What the reminder's inbox task says."""
    owed = f"{outstanding:,.2f} {currency}"
    if level == 0:
        text = f"Reminder: invoice {number} of {customer}, {owed}, is due on {due_on}"
    else:
        text = (f"Dunning level {level}: invoice {number} of {customer} is {days_past_due} "
                f"day{'' if days_past_due == 1 else 's'} overdue, {owed} outstanding")
    if on_hold:
        text += "; the customer is on credit hold (new orders need finance's approval)"
    return text[:300]


class WriteOffRequest(BaseModel):
    by: str
    reason: str = Field(min_length=1, max_length=500)


def check_may_write_off(actor: Actor, number: str, status: str, asked_by: str | None, reason: str) -> None:
    """Finance asks (the cfo approves), once at a time, while the invoice is being collected, with a reason."""
    if not permissions.may(actor.roles, permissions.Action.INVOICE_WRITE_OFF):
        raise Forbidden(f"only finance can ask to write invoice {number} off")
    if not reason.strip():
        raise Invalid("a write-off needs a reason")
    if len(reason) > 500:
        raise Invalid("a write-off's reason is at most 500 characters")
    if asked_by is not None or status == CollectionStatus.WRITE_OFF_PENDING:
        raise Conflict(f"a write-off of invoice {number} was already asked for by {asked_by or 'someone'}; the cfo "
                       "decides it")
    if status != CollectionStatus.COLLECTING:
        raise Conflict(f"invoice {number} is {status}; only an invoice being collected can be written off")
