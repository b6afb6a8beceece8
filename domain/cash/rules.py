"""Cash rules (order to cash, procure to pay): invoice terms and due dates, aging buckets, allocating a payment
to invoices, the three-way match of a supplier's bill, the dunning schedule and the credit hold. Pure: no I/O;
workflows import this.

Amounts: an invoice's `total` and `outstanding` are in its own currency (negative for a credit note); each has a
twin in the company currency (`*_base`) at the invoice's rate, which is what the ledger and reports hold."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

from domain.core.errors import Conflict, Invalid
from domain.core.money import money, qty_str

ZERO = Decimal(0)


class InvoiceKind(StrEnum):
    CUSTOMER = "customer"  # we bill a customer: receivable
    SUPPLIER = "supplier"  # a supplier bills us: payable


class InvoiceStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"  # a supplier bill that did not match: the buyer, then finance decide
    OPEN = "open"  # posted; outstanding above zero (or below, for a credit note not yet used)
    PAID = "paid"  # nothing outstanding
    WRITTEN_OFF = "written_off"  # the cfo approved writing the rest off to bad debts
    REJECTED = "rejected"  # a mismatched supplier bill refused: nothing posted


OPEN_STATUSES = (InvoiceStatus.OPEN,)


class Direction(StrEnum):
    IN = "in"  # a customer pays us
    OUT = "out"  # we pay a supplier


def kind_of(direction: Direction | str) -> InvoiceKind:
    return InvoiceKind.CUSTOMER if direction == Direction.IN else InvoiceKind.SUPPLIER


def due_on(issued_on: date, terms_days: int) -> date:
    """Net `terms_days` from the invoice date."""
    if terms_days < 0:
        raise Invalid("payment terms cannot be negative days")
    return issued_on + timedelta(days=terms_days)


# --- aging ------------------------------------------------------------------------------------------------

BUCKETS: tuple[str, ...] = ("current", "1-30", "31-60", "61-90", "90+")


def bucket(due: date, as_of: date) -> str:
    """The aging bucket of an amount due on `due`, seen on `as_of`: not yet due is current."""
    days = (as_of - due).days
    if days <= 0:
        return "current"
    if days <= 30:
        return "1-30"
    if days <= 60:
        return "31-60"
    if days <= 90:
        return "61-90"
    return "90+"


# --- payments and their allocation ------------------------------------------------------------------------

class OpenInvoice(BaseModel):
    """What allocation needs of an open invoice."""

    invoice_id: int
    number: str
    issued_on: date
    due_on: date
    outstanding: Decimal  # in the invoice's currency; above zero (credit notes are not allocated to)


class AllocationIn(BaseModel):
    invoice_id: int = Field(ge=1, le=2**31 - 1)
    amount: Decimal = Field(max_digits=14, decimal_places=2)

    @field_validator("amount")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise ValueError("an allocation's amount must be above zero")
        return v


class Allocation(BaseModel):
    invoice_id: int
    number: str
    amount: Decimal


def oldest_first(amount: Decimal, invoices: list[OpenInvoice]) -> tuple[list[Allocation], Decimal]:
    """`amount` spread over the invoices by due date (then issue date, then number), each up to what it still
    owes; what is left over is the party's unallocated credit."""
    if amount <= 0:
        raise Invalid("a payment's amount must be above zero")
    left = amount
    out: list[Allocation] = []
    for inv in sorted(invoices, key=lambda i: (i.due_on, i.issued_on, i.number)):
        if left <= 0:
            break
        if inv.outstanding <= 0:
            continue
        take = min(left, inv.outstanding)
        out.append(Allocation(invoice_id=inv.invoice_id, number=inv.number, amount=take))
        left -= take
    return out, left


def named(amount: Decimal, wanted: list[AllocationIn], invoices: dict[int, OpenInvoice]) -> tuple[list[Allocation],
                                                                                                   Decimal]:
    """The payer's own allocation: each invoice named once, open, of this party (the caller passes only those),
    never above what it owes, and all of them together not above the payment."""
    if amount <= 0:
        raise Invalid("a payment's amount must be above zero")
    seen: set[int] = set()
    out: list[Allocation] = []
    for a in wanted:
        if a.invoice_id in seen:
            raise Invalid(f"invoice {a.invoice_id} is named twice in the allocations; name each invoice once")
        seen.add(a.invoice_id)
        inv = invoices.get(a.invoice_id)
        if inv is None:
            raise Conflict(f"invoice {a.invoice_id} is not open for this party; nothing can be allocated to it")
        if a.amount > inv.outstanding:
            raise Conflict(f"{a.amount} is more than invoice {inv.number} still owes ({inv.outstanding}); "
                           "nothing was recorded")
        out.append(Allocation(invoice_id=inv.invoice_id, number=inv.number, amount=a.amount))
    total = sum((a.amount for a in out), ZERO)
    if total > amount:
        raise Conflict(f"the allocations add up to {total}, more than the payment of {amount}; nothing was recorded")
    return out, amount - total


class PaymentIn(BaseModel):
    """A payment to record: in from a customer or out to a supplier, allocated to the named invoices (their ids)
    or, without `allocations`, to the party's oldest open invoices first."""

    direction: Direction
    party_id: int
    amount: Decimal
    currency: str
    paid_on: date
    reference: str
    allocations: list[AllocationIn] | None = None


class PaymentDraft(BaseModel):
    """What the Payment process is started with: the payment (its allocations as invoice ids) and who records it."""

    payment: PaymentIn
    by: str


class PaymentPlan(BaseModel):
    """Where a payment would go (nothing stored): the allocation preview, and the check before its process."""

    allocations: list[Allocation]
    unallocated: Decimal


class PaymentResult(BaseModel):
    payment_id: str  # its number
    allocations: list[Allocation]
    unallocated: Decimal
    invoices: list[str]  # the process ids of the invoices it touched (they are told afterwards)
    existing: bool = False  # the same reference from the same party again: the first payment


def cleared_base(outstanding: Decimal, outstanding_base: Decimal, amount: Decimal) -> Decimal:
    """The company-currency value of `amount` of an invoice's outstanding: proportional, and exactly the rest
    when it clears the invoice (so a settled invoice leaves no cent behind in its control account)."""
    if amount == outstanding:
        return outstanding_base
    return money(outstanding_base * amount / outstanding)


# --- three-way match -------------------------------------------------------------------------------------

class MatchPolicy(BaseModel):
    """A bill matches when each line's price is within `price_pct` % of the order's price, and the bill's total
    within `amount` of ordered price × received quantity."""

    price_pct: Decimal = Field(default=Decimal(2), ge=0, le=100)
    amount: Decimal = Field(default=Decimal(10), ge=0)


class BillLineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=60)
    qty: Decimal = Field(gt=0, max_digits=14, decimal_places=4)
    unit_price: Decimal = Field(ge=0, max_digits=14, decimal_places=4)


class OrderedLine(BaseModel):
    """One purchase-order line as the match sees it."""

    sku: str
    unit_price: Decimal
    received_qty: Decimal
    billed_qty: Decimal  # on earlier bills of the same order that were not rejected


class MatchLine(BaseModel):
    sku: str
    qty: Decimal
    unit_price: Decimal
    order_price: Decimal
    billed: Decimal  # qty × billed price
    expected: Decimal  # qty × order price: what goods received not invoiced holds for it
    variance: Decimal  # billed − expected


class Match(BaseModel):
    matched: bool
    reasons: list[str]
    lines: list[MatchLine]
    billed: Decimal
    expected: Decimal
    variance: Decimal


def _amount(value: Decimal) -> str:
    """An amount or price for a sentence as the pages write it: 2,100.00; a price with more places keeps them
    (0.125), never 200.0000."""
    exact = Decimal(value).normalize()
    return f"{value:,.2f}" if exact == exact.quantize(Decimal("0.01")) else f"{exact:,f}"


def three_way_match(bill: list[BillLineIn], ordered: list[OrderedLine], policy: MatchPolicy) -> Match:
    """Billed against ordered price × received quantity. Billing more of a line than was received (less what
    earlier bills took) is refused outright (Conflict): nothing to approve, the supplier bills what came."""
    by_sku = {o.sku: o for o in ordered}
    seen: set[str] = set()
    lines: list[MatchLine] = []
    reasons: list[str] = []
    for ln in bill:
        o = by_sku.get(ln.sku)
        if o is None:
            raise Conflict(f"{ln.sku} is not on the purchase order; a bill can only be for what was ordered")
        if ln.sku in seen:
            raise Invalid(f"{ln.sku} appears twice on the bill; put it on one line")
        seen.add(ln.sku)
        unbilled = o.received_qty - o.billed_qty
        if ln.qty > unbilled:
            raise Conflict(f"the bill is for {qty_str(ln.qty)} of {ln.sku} but only {qty_str(unbilled)} was received "
                           "and not yet billed; nothing was stored")
        billed, expected = money(ln.qty * ln.unit_price), money(ln.qty * o.unit_price)
        lines.append(MatchLine(sku=ln.sku, qty=ln.qty, unit_price=ln.unit_price, order_price=o.unit_price,
                               billed=billed, expected=expected, variance=billed - expected))
        pct = (ln.unit_price - o.unit_price) * 100 / o.unit_price if o.unit_price else (
            Decimal(100) if ln.unit_price else ZERO)
        if abs(pct) > policy.price_pct:
            reasons.append(f"{ln.sku}: billed at {_amount(ln.unit_price)}, ordered at {_amount(o.unit_price)} "
                           f"({pct:+.1f} %, tolerance {qty_str(policy.price_pct)} %)")
    billed = sum((ln.billed for ln in lines), ZERO)
    expected = sum((ln.expected for ln in lines), ZERO)
    if abs(billed - expected) > policy.amount:
        reasons.append(f"the bill's total {_amount(billed)} differs from ordered price × received quantity "
                       f"{_amount(expected)} by {_amount(billed - expected)} (tolerance {_amount(policy.amount)})")
    return Match(matched=not reasons, reasons=reasons, lines=lines, billed=billed, expected=expected,
                 variance=billed - expected)


# --- collection: reminders, dunning, credit hold --------------------------------------------------------

class DunningPolicy(BaseModel):
    """When an open customer invoice raises a task: `reminder_days` before it is due, then at each of
    `levels` days past due; a customer with an invoice more than `hold_after_days` past due is on credit hold."""

    reminder_days: int = Field(default=3, ge=0, le=365)
    levels: list[int] = Field(default_factory=lambda: [7, 14, 30], max_length=10)
    hold_after_days: int = Field(default=30, ge=1, le=3650)

    @field_validator("levels")
    @classmethod
    def _rising(cls, v: list[int]) -> list[int]:
        if any(d < 1 for d in v) or v != sorted(set(v)):
            raise ValueError("dunning levels are days past due, each above zero and above the one before")
        return v


class Reminder(BaseModel):
    level: int  # 0: the reminder before due; 1, 2, …: dunning levels
    on: date
    days_past_due: int


def schedule(due: date, policy: DunningPolicy) -> list[Reminder]:
    """The reminder before due, then one per dunning level, in date order."""
    out = [Reminder(level=0, on=due - timedelta(days=policy.reminder_days), days_past_due=-policy.reminder_days)]
    out += [Reminder(level=i + 1, on=due + timedelta(days=d), days_past_due=d) for i, d in enumerate(policy.levels)]
    return out


def on_hold(oldest_overdue_due: date | None, today: date, policy: DunningPolicy) -> bool:
    """Is a customer whose oldest open invoice was due on `oldest_overdue_due` on credit hold?"""
    return oldest_overdue_due is not None and (today - oldest_overdue_due).days > policy.hold_after_days


class CashPolicy(BaseModel):
    """The company's cash policies, as data (admin edits them)."""

    dunning: DunningPolicy = Field(default_factory=DunningPolicy)
    match: MatchPolicy = Field(default_factory=MatchPolicy)
    write_off_threshold: Decimal = Field(default=Decimal(0), ge=0)  # above it, the cfo approves a write-off


# --- reports: aging and the customer statement -------------------------------------------------------------

def aging_bounds(as_of: date) -> list[tuple[str, date | None, date | None]]:
    """Each bucket's due dates (first, last; None: open-ended) seen on `as_of`, exactly as `bucket` draws them,
    so SQL can sum each bucket with a range on the due date."""
    day = timedelta(days=1)
    return [("current", as_of, None), ("1-30", as_of - 30 * day, as_of - day),
            ("31-60", as_of - 60 * day, as_of - 31 * day), ("61-90", as_of - 90 * day, as_of - 61 * day),
            ("90+", None, as_of - 91 * day)]


def aging_totals(rows: list[dict[str, object]]) -> dict[str, Decimal]:
    """The column sums of aging rows ({<bucket>: amount, total})."""
    return {b: sum((Decimal(str(r[b])) for r in rows), ZERO) for b in (*BUCKETS, "total")}


class StatementLine(BaseModel):
    """One line of a customer statement, in the company currency: above zero what the customer was charged
    (an invoice), below zero what reduced it (a payment, a credit note, a write-off)."""

    on: date
    kind: str  # invoice | credit_note | payment | exchange_difference | write_off
    number: str
    reference: str = ""
    due_on: date | None = None
    amount: Decimal
    balance: Decimal = ZERO  # after this line


KIND_ORDER = {"invoice": 0, "credit_note": 1, "payment": 2, "exchange_difference": 3, "write_off": 4}


def statement_lines(opening: Decimal, lines: list[StatementLine]) -> tuple[list[StatementLine], Decimal]:
    """The lines by date (invoices before what settles them on the same day), each with the balance after it;
    and the closing balance."""
    balance = opening
    out: list[StatementLine] = []
    for ln in sorted(lines, key=lambda x: (x.on, KIND_ORDER.get(x.kind, 9), x.number)):
        balance += ln.amount
        out.append(ln.model_copy(update={"balance": balance}))
    return out, balance
