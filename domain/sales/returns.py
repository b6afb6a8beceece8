"""Returns of a sales order as pure rules: what may come back (what was delivered and not yet returned), from
which deliveries (the most recent first), at what value (each delivery line's net and cost, shared out by
quantity so that returning everything gives back exactly what left), the credit note's tax, and who may take
goods back. No I/O: workflows import this.

A return takes the goods back into stock at the cost they left at and issues a credit note against the invoice of
each delivery it takes from (domain/sales/return_services.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain import permissions
from domain.core.errors import Conflict, Forbidden, Invalid
from domain.core.limits import MAX_QTY
from domain.core.money import money, qty_str
from domain.core.numbers import PlainDecimal
from domain.org.people import Actor

ZERO = Decimal(0)
PREFIX = "RET"  # return notes: delivery notes with is_return


class ReturnLineIn(BaseModel):
    """`qty` of `sku` (a line of the order) the customer sends back."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=60)
    qty: PlainDecimal = Field(gt=0, le=MAX_QTY, decimal_places=4)


class ReturnIn(BaseModel):
    """The body of `POST /api/sales-orders/{id}/returns`."""

    model_config = ConfigDict(extra="forbid")

    lines: list[ReturnLineIn] = Field(min_length=1, max_length=200)
    reason: str = Field(default="", max_length=500)

    @field_validator("reason")
    @classmethod
    def _said(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("a return needs a reason (why the customer sent the goods back)")
        return v


class ReturnDraft(BaseModel):
    """A return as its process records it: numbered before the process starts."""

    number: str  # RET-00001
    sales_order: str
    lines: list[ReturnLineIn]
    reason: str
    by: str
    on: date | None = None  # the return's date (None: the day it is recorded)
    id_prefix: str = ""  # of the invoices' process ids (tests keep business keys apart with it)


class CreditNoteRef(BaseModel):
    number: str
    against: str  # the invoice it credits
    total: Decimal  # below zero
    currency: str


class ReturnResult(BaseModel):
    return_id: str  # the return note's number
    sales_order_id: str
    value: Decimal  # the goods' net value (document currency)
    cost: Decimal  # what they came back into stock at (company currency)
    credit_notes: list[CreditNoteRef]
    invoices: list[str]  # the process ids of the invoices the credit notes were set against (told afterwards)


class Source(BaseModel):
    """One line of one delivery of the order, as a return sees it."""

    note: str  # the delivery note
    invoice: str | None  # its invoice (None: nothing was invoiced, goods given away free)
    delivered_on: date
    sku: str
    qty: Decimal  # delivered
    net: Decimal  # its net value on the invoice
    cost: Decimal  # the cost it left stock at
    returned: Decimal = ZERO  # taken back already (credited against its invoice)


class Take(BaseModel):
    """What a return takes back of one delivery line."""

    note: str
    invoice: str | None
    sku: str
    qty: Decimal
    unit_price: Decimal
    net: Decimal
    cost: Decimal


def share(whole: Decimal, qty: Decimal, before: Decimal, now: Decimal) -> Decimal:
    """The part of `whole` (a line's net or cost for `qty`) for `now` more of it after `before`: by cumulative
    rounding, so returning every unit gives back `whole` exactly."""
    if qty <= 0:
        return ZERO
    return money(whole * (before + now) / qty) - money(whole * before / qty)


def check_may_return(actor: Actor, number: str, owner: str) -> None:
    """The order's salesperson, or whoever may take goods back on any order (the warehouse, the sales manager,
    an admin)."""
    if actor.username != owner and not permissions.may(actor.roles, permissions.Action.SALES_ORDER_RETURN):
        raise Forbidden(f"only {owner} (the salesperson), the warehouse, the sales manager or an admin can take "
                        f"goods of sales order {number} back")


def check_lines(lines: Sequence[ReturnLineIn], reason: str) -> None:
    """What a return's lines must be before anything is read: each SKU once, above zero; a reason."""
    if not reason.strip():
        raise Invalid("a return needs a reason (why the customer sent the goods back)")
    if not lines:
        raise Invalid("a return needs at least one line")
    seen: set[str] = set()
    for ln in lines:
        if ln.sku in seen:
            raise Invalid(f"{ln.sku} is named twice in the return; name each line once")
        seen.add(ln.sku)
        if ln.qty <= 0:
            raise Invalid(f"the quantity of {ln.sku} to return must be above zero")


def plan_return(number: str, ordered: dict[str, tuple[Decimal, Decimal]], sources: Sequence[Source],
                wanted: Sequence[ReturnLineIn]) -> list[Take]:
    """The delivery lines a return takes back, the most recent delivery first. `ordered`: sku → (delivered,
    returned) of the order's lines. Returning more of a line than was delivered and not yet returned → Conflict,
    nothing taken."""
    takes: list[Take] = []
    for w in wanted:
        if w.sku not in ordered:
            raise Invalid(f"{w.sku} is not on sales order {number}; only its lines can be returned")
        delivered, returned = ordered[w.sku]
        if w.qty > delivered - returned:
            raise Conflict(f"{qty_str(w.qty)} of {w.sku} is more than was delivered on sales order {number} and not "
                           f"yet returned ({qty_str(delivered - returned)} of {qty_str(delivered)} delivered); "
                           "nothing was returned")
        left = w.qty
        for src in sorted((s for s in sources if s.sku == w.sku), key=lambda s: (s.delivered_on, s.note),
                          reverse=True):
            if left <= 0:
                break
            take = min(left, src.qty - src.returned)
            if take <= 0:
                continue
            takes.append(Take(note=src.note, invoice=src.invoice, sku=src.sku, qty=take,
                              unit_price=(src.net / src.qty).quantize(Decimal("0.0001")) if src.qty else ZERO,
                              net=share(src.net, src.qty, src.returned, take),
                              cost=share(src.cost, src.qty, src.returned, take)))
            left -= take
        if left > 0:  # delivered before delivery notes existed: no delivery says at what value it left
            raise Conflict(f"{qty_str(left)} of {w.sku} on sales order {number} has no delivery note to credit "
                           "against; nothing was returned")
    return takes


def credit_tax(invoice_tax: Decimal, invoice_net: Decimal, credited_net_before: Decimal, credited_tax_before: Decimal,
               net_now: Decimal) -> Decimal:
    """The tax of a credit note for `net_now` of an invoice: the invoice's tax in proportion, cumulatively (what
    earlier credit notes of it took is counted), so crediting the whole invoice gives back its tax exactly."""
    if invoice_net <= 0 or invoice_tax <= 0:
        return ZERO
    if credited_net_before + net_now >= invoice_net:
        return invoice_tax - credited_tax_before
    return money(invoice_tax * (credited_net_before + net_now) / invoice_net) - credited_tax_before
