"""Supplier credit notes as pure rules: what a credit note against a posted supplier bill may credit (lines on the
bill, not more than billed less what earlier credit notes against it credited, not above the bill's price), and
how it posts. No I/O: workflows import this.

A supplier credit note corrects a posted bill (a posted bill is never edited). Goods sent back to the supplier
(`return_goods`) leave stock at the moving average and the note posts Dr payables its total / Cr inventory the stock
value that left, the difference to purchase price variance; a price correction (no goods move) posts Dr payables /
Cr purchase price variance. Either way it is then set against the supplier's open bills, the one it is against
first; what is left is the supplier's credit (domain/cash/purchase_return_services.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from domain.accounting import rules as accounting
from domain.cash.rules import ZERO, InvoiceStatus
from domain.core.errors import Conflict, Invalid
from domain.core.limits import MAX_QTY
from domain.core.money import MAX_AMOUNT, money, qty_str

PROCESS_TYPE = "purchase_return"
VOUCHER = "purchase_return"  # the stock moves of goods sent back to the supplier
POSTED = (InvoiceStatus.OPEN, InvoiceStatus.PAID)  # a bill that may be credited
RETURNED = "returned to the supplier"  # a credit note line's description: goods went back
CORRECTED = "price correction"  # no goods moved


class CreditLineIn(BaseModel):
    """`qty` of `sku` (a line of the bill) credited at `unit_price` (not above the bill's price)."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=60)
    qty: Decimal = Field(gt=0, le=MAX_QTY, decimal_places=4)
    unit_price: Decimal = Field(ge=0, le=MAX_AMOUNT, decimal_places=4)


class CreditNoteIn(BaseModel):
    """A supplier's credit note as it is entered, against one of its bills."""

    model_config = ConfigDict(extra="forbid")

    supplier_ref: str = Field(min_length=1, max_length=60)  # the supplier's own number of the credit note
    issued_on: date
    reason: str = Field(default="", max_length=500)
    lines: list[CreditLineIn] = Field(min_length=1, max_length=200)
    return_goods: bool = False


class CreditDraft(BaseModel):
    """A credit note as its process records it: checked and numbered before the process starts."""

    number: str  # DN-00001
    bill: str  # BILL-00007: the bill it is against
    supplier_id: int
    supplier_ref: str
    issued_on: date
    reason: str
    lines: list[CreditLineIn]
    return_goods: bool
    by: str


class CreditResult(BaseModel):
    invoice_id: str  # the credit note's number
    process_id: str
    against: str  # the bill
    supplier_id: int
    total: Decimal  # below zero, in `currency`
    total_base: Decimal  # below zero, in the company currency
    currency: str
    return_goods: bool
    stock_value: Decimal  # what left stock (company currency); zero for a price correction
    outstanding: Decimal  # what is left of it once set against the supplier's open bills (below zero: credit)
    invoices: list[str] = []  # the process ids of the bills it was set against (told afterwards)
    existing: bool = False  # the same supplier reference was entered before: this is that first credit note


class BilledLine(BaseModel):
    """One SKU of a bill as a credit note sees it."""

    sku: str
    qty: Decimal  # billed
    unit_price: Decimal  # the bill's price (the highest, were it billed on two lines)
    credited: Decimal = ZERO  # on earlier credit notes against the bill


class Take(BaseModel):
    """What a credit note credits of one line of the bill."""

    sku: str
    qty: Decimal
    unit_price: Decimal
    net: Decimal


def check_lines(lines: Sequence[CreditLineIn], reason: str) -> None:
    """What a credit note's lines must be before anything is read: a reason; each SKU once, above zero."""
    if not reason.strip():
        raise Invalid("a supplier credit note needs a reason (why the supplier credits the bill)")
    if not lines:
        raise Invalid("a supplier credit note needs at least one line")
    seen: set[str] = set()
    for ln in lines:
        if ln.sku in seen:
            raise Invalid(f"{ln.sku} is named twice on the credit note; name each line once")
        seen.add(ln.sku)
        if ln.qty <= 0:
            raise Invalid(f"the quantity of {ln.sku} to credit must be above zero")
        if ln.unit_price < 0:
            raise Invalid(f"the price of {ln.sku} to credit cannot be below zero")


def check_bill(number: str, status: str, credit_note: bool) -> None:
    """Only a posted bill (open or paid) is credited: one awaiting approval or rejected was never posted."""
    if credit_note:
        raise Conflict(f"{number} is a credit note itself; a credit note is entered against a bill")
    if status not in POSTED:
        state = str(status).replace("_", " ")
        raise Conflict(f"bill {number} is {state}; only a posted bill (open or paid) can be credited, nothing "
                       "was stored")


def plan_credit(number: str, billed: Mapping[str, BilledLine], wanted: Sequence[CreditLineIn]) -> list[Take]:
    """The lines a credit note credits of bill `number`: each on the bill (else Invalid), not more than billed less
    what earlier credit notes credited (else Conflict naming the bill), not above the bill's price (else Invalid);
    its total above zero."""
    takes: list[Take] = []
    for w in wanted:
        b = billed.get(w.sku)
        if b is None:
            raise Invalid(f"{w.sku} is not on bill {number}; a credit note credits the bill's lines")
        left = b.qty - b.credited
        if w.qty > left:
            raise Conflict(f"{qty_str(w.qty)} of {w.sku} is more than bill {number} has left to credit "
                           f"({qty_str(left)} of {qty_str(b.qty)} billed, {qty_str(b.credited)} credited before); "
                           "nothing was stored")
        if w.unit_price > b.unit_price:
            raise Invalid(f"{w.sku} is credited at {_amount(w.unit_price)}, above the {_amount(b.unit_price)} bill "
                          f"{number} charged for it; a credit note credits at most the billed price")
        takes.append(Take(sku=w.sku, qty=w.qty, unit_price=w.unit_price, net=money(w.qty * w.unit_price)))
    if sum((t.net for t in takes), ZERO) <= 0:
        raise Invalid("a supplier credit note's total must be above zero")
    return takes


def posting(total_base: Decimal, stock_value: Decimal, return_goods: bool) -> dict[str, Decimal]:
    """The credit note's other side in the company currency (payables takes its total): goods sent back leave
    inventory at the value stock gave them, the rest of the total goes to purchase price variance (below zero when
    the goods left at more than they are credited: posted on the other side); a price correction is all price
    variance."""
    if not return_goods:
        return {accounting.PRICE_VARIANCE: total_base}
    return {accounting.INVENTORY: stock_value, accounting.PRICE_VARIANCE: total_base - stock_value}


def _amount(value: Decimal) -> str:
    """A price for a sentence as the pages write it: 200.00, or 0.125 with its places; never 200.0000."""
    exact = Decimal(value).normalize()
    return f"{value:,.2f}" if exact == exact.quantize(Decimal("0.01")) else f"{exact:,f}"
