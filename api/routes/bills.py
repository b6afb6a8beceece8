"""Supplier bills: enter one against a purchase order (three-way matched), preview its match, read it, and what
an order has left to bill."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import ConfigDict, Field
from sqlalchemy.orm import Session

from api.deps import CurrentUser, PlatformDep, as_actor
from api.encoding import ok
from api.schemas import MAX_LINES, Body
from api.starters import purchase_return, supplier_invoice
from domain.cash import bills, purchase_returns
from domain.cash import purchase_return_services as credits
from domain.cash.rules import BillLineIn
from domain.core.currencies import Currency
from domain.core.limits import MAX_QTY
from domain.core.money import MAX_AMOUNT, MAX_ID
from domain.core.numbers import DocumentRef, PlainDecimal, PlainInt

router = APIRouter(prefix="/api/supplier-invoices", tags=["cash"])


class BillLineBody(Body):
    sku: str = Field(min_length=1, max_length=60)
    qty: PlainDecimal = Field(gt=0, le=MAX_QTY, decimal_places=4)
    unit_price: PlainDecimal = Field(ge=0, le=MAX_AMOUNT, decimal_places=4)


class SupplierInvoiceIn(Body):
    model_config = ConfigDict(extra="forbid")

    supplier_id: PlainInt = Field(gt=0, le=MAX_ID)
    purchase_order_id: DocumentRef = Field(description="the order's number (PO-00001) or its id")
    supplier_ref: str = Field(min_length=1, max_length=60, description="the supplier's own number of the bill")
    issued_on: date
    lines: list[BillLineBody] = Field(min_length=1, max_length=MAX_LINES)
    currency: Currency | None = None

    def bill(self) -> bills.BillIn:
        return bills.BillIn(supplier_id=self.supplier_id, purchase_order_id=str(self.purchase_order_id).strip()[:30],
                            supplier_ref=self.supplier_ref.strip() or self.supplier_ref, issued_on=self.issued_on,
                            lines=[BillLineIn(sku=ln.sku, qty=ln.qty, unit_price=ln.unit_price) for ln in self.lines],
                            currency=self.currency)


class CreditLineBody(Body):
    sku: str = Field(min_length=1, max_length=60)
    qty: PlainDecimal = Field(gt=0, le=MAX_QTY, decimal_places=4)
    unit_price: PlainDecimal = Field(ge=0, le=MAX_AMOUNT, decimal_places=4)


class SupplierCreditNoteIn(Body):
    model_config = ConfigDict(extra="forbid")

    supplier_ref: str = Field(min_length=1, max_length=60, description="the supplier's own number of the credit note")
    issued_on: date
    reason: str = Field(min_length=1, max_length=500, description="why the supplier credits the bill")
    lines: list[CreditLineBody] = Field(min_length=1, max_length=MAX_LINES)
    return_goods: bool = Field(default=False, description="the goods go back to the supplier (stock leaves)")

    def credit_note(self) -> purchase_returns.CreditNoteIn:
        return purchase_returns.CreditNoteIn(
            supplier_ref=self.supplier_ref.strip() or self.supplier_ref, issued_on=self.issued_on,
            reason=self.reason.strip(), return_goods=self.return_goods,
            lines=[purchase_returns.CreditLineIn(sku=ln.sku, qty=ln.qty, unit_price=ln.unit_price)
                   for ln in self.lines])


@router.post("", status_code=201)
async def enter(body: SupplierInvoiceIn, user: CurrentUser, platform: PlatformDep) -> Any:
    """201 with the new bill; 200 with the bill entered before under the same supplier reference."""
    out, created = await supplier_invoice.enter(platform, as_actor(user), body.bill())
    return ok(out, 201 if created else 200)


@router.post("/preview")
async def preview(body: SupplierInvoiceIn, user: CurrentUser, platform: PlatformDep) -> Any:
    """The match the bill would get; nothing is stored."""
    return ok(await supplier_invoice.preview(platform, as_actor(user), body.bill()))


@router.get("/to-bill/{purchase_order_id}")
async def to_bill(purchase_order_id: str, user: CurrentUser, platform: PlatformDep) -> Any:
    """An order's lines with what was received and not yet billed (what a new bill starts from)."""
    def load(s: Session) -> dict[str, Any]:
        supplier_invoice.may_enter(as_actor(user))
        po = bills.find_order(s, purchase_order_id)
        return {"purchase_order_id": po.number, "supplier_id": po.supplier_id, "lines": bills.to_bill(s, po)}
    return ok(await platform.read(load))


@router.get("/{ref}")
async def get_bill(ref: str, user: CurrentUser, platform: PlatformDep) -> Any:
    """The bill (or a supplier credit note) with the credit notes against it."""
    def load(s: Session) -> dict[str, Any]:
        inv = bills.visible(s, user.username, set(user.roles), ref)
        return {**bills.view(s, inv), "credit_notes": credits.credit_notes_of(s, inv.number)}
    return ok(await platform.read(load))


@router.post("/{ref}/credit-note", status_code=201)
async def credit_note(ref: str, body: SupplierCreditNoteIn, user: CurrentUser, platform: PlatformDep) -> Any:
    """A supplier's credit note against posted bill `ref` (its number or id), goods sent back or a price
    correction: 201 `{invoice_id (DN-…), process_id, total (below zero), against, …}`; the same supplier reference
    again → 200 with the first one (`existing`). Not posted, or more than the bill has left to credit → 409; above
    the bill's price, not on it, no reason → 422; nothing stored."""
    result = await purchase_return.record(platform, as_actor(user), ref.strip()[:30], body.credit_note())
    return ok(purchase_return.answer(result), 200 if result.existing else 201)
