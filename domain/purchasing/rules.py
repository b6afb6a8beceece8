"""Requisitions, purchase orders and receipts: pure rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain import permissions
from domain.accounting import rules as accounting
from domain.approvals.rules import ChainStep
from domain.core.errors import Conflict, Invalid
from domain.core.limits import MAX_QTY
from domain.core.money import MAX_AMOUNT, MAX_VALUE, money, qty_str
from domain.core.numbers import PlainDecimal
from domain.inventory.rules import one_line_per_sku
from domain.org.people import Actor


class RequisitionStatus(StrEnum):
    """A purchase requisition's status (its row's `status`, equal to the string stored there). SUBMITTED is its
    process's before it is recorded, APPROVED its process's until the purchase order is placed."""

    SUBMITTED = "submitted"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    ORDERED = "ordered"  # its purchase order is placed
    RECEIVED = "received"  # all of it


class PurchaseOrderStatus(StrEnum):
    """A purchase order's status (its row's `status`, equal to the string stored there)."""

    OPEN = "open"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"


OPEN_ORDER_STATUSES = (PurchaseOrderStatus.OPEN, PurchaseOrderStatus.PARTIALLY_RECEIVED)  # goods still to come
RECEIPT_VOUCHER = "goods_receipt"  # a receipt's stock moves and its journal entry


class RequisitionLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a field the caller may not set is refused

    sku: str = Field(min_length=1, max_length=60)
    qty: PlainDecimal = Field(gt=0, le=MAX_QTY, decimal_places=4)
    est_unit_price: PlainDecimal = Field(ge=0, le=MAX_AMOUNT, decimal_places=4)


class RequisitionDraft(BaseModel):
    number: str
    requester: str
    supplier_id: int
    justification: str
    total: Decimal
    lines: list[RequisitionLineIn]
    lead_time_days: int = 0
    steps: list[ChainStep] = []  # the approval chain resolved at submission
    sales_order: str | None = None  # planned by MRP for this sales order
    notify: list[str] = []  # workflow ids told when goods arrive (the production orders waiting for them)
    generation: int = 0  # the workflow code generation that started its process (workflows.common.GENERATION)


class ReceiptLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a field the caller may not set is refused

    sku: str = Field(min_length=1, max_length=60)
    qty: PlainDecimal = Field(gt=0, le=MAX_QTY, decimal_places=4)


class OrderLineState(BaseModel):
    sku: str
    qty: Decimal
    received_qty: Decimal = Decimal(0)
    unit_price: Decimal


class OrderState(BaseModel):
    number: str
    lines: list[OrderLineState]
    expected_date: date | None = None
    quarantined: list[str] = []  # the inspection lots a receipt put in quarantine (domain/inventory/quarantine.py)

    @property
    def fully_received(self) -> bool:
        return all(ln.received_qty >= ln.qty for ln in self.lines)

    @property
    def status(self) -> PurchaseOrderStatus:
        if self.fully_received:
            return PurchaseOrderStatus.RECEIVED
        if any(ln.received_qty > 0 for ln in self.lines):
            return PurchaseOrderStatus.PARTIALLY_RECEIVED
        return PurchaseOrderStatus.OPEN


def requisition_total(lines: list[RequisitionLineIn]) -> Decimal:
    if not lines:
        raise Invalid("a purchase requisition needs at least one line")
    one_line_per_sku([ln.sku for ln in lines], "requisition")
    total = money(sum((ln.qty * ln.est_unit_price for ln in lines), Decimal(0)))
    if total > MAX_VALUE:
        raise Invalid(f"a requisition of {total} is over the limit of {MAX_VALUE}; check quantities and prices")
    return total


def apply_receipt(order: OrderState, receipt: list[ReceiptLineIn]) -> OrderState:
    """The order after `receipt`; refuses unknown SKUs, over-receipt and receipts on a closed order."""
    if not receipt:
        raise Invalid("a receipt needs at least one line")
    if order.fully_received:
        raise Conflict(f"purchase order {order.number} is fully received; nothing more can be received")
    by_sku = {ln.sku: ln.model_copy() for ln in order.lines}
    for r in receipt:
        line = by_sku.get(r.sku)
        if line is None:
            raise Invalid(f"{r.sku} is not on purchase order {order.number}")
        open_qty = line.qty - line.received_qty
        if r.qty > open_qty:
            raise Conflict(f"over-receipt of {r.sku}: {qty_str(r.qty)} to receive, but only {qty_str(open_qty)} of "
                           f"the {qty_str(line.qty)} ordered are still open ({qty_str(line.received_qty)} received)")
        line.received_qty += r.qty
    return order.model_copy(update={"lines": [by_sku[ln.sku] for ln in order.lines]})


def check_may_receive(actor: Actor, requisition: str, status: str, order: OrderState | None,
                      receipt: list[ReceiptLineIn], *, placing: bool = False) -> OrderState | None:
    """May `actor` receive `receipt` on requisition `requisition` (in `status`) and its purchase order `order`?
    Whoever may receive goods, once the order is placed, within what is still open on it (`apply_receipt`):
    the order after the receipt. While the order is being placed (`placing`) only who receives is checked (None):
    the lines are checked once it is placed."""
    permissions.check(actor.roles, permissions.Action.PURCHASE_RECEIVE,
                      "only the warehouse, a buyer or an admin can receive goods")
    if placing:
        return None
    if order is None:
        raise Conflict(f"requisition {requisition} is {status} and has no purchase order; goods are received only "
                       "once it is ordered")
    return apply_receipt(order, receipt)


def unapply_receipt(order: OrderState, receipt: list[ReceiptLineIn]) -> OrderState:
    """The order as it was before `receipt` was counted (for a receipt the database refused)."""
    back = {ln.sku: ln.model_copy() for ln in order.lines}
    for r in receipt:
        if r.sku in back:
            back[r.sku].received_qty = max(Decimal(0), back[r.sku].received_qty - r.qty)
    return order.model_copy(update={"lines": [back[ln.sku] for ln in order.lines]})


def receipt_entry(po_number: str, value: Decimal) -> accounting.JournalDraft:
    """Goods in: inventory up against goods-received-not-invoiced (cleared by the supplier invoice)."""
    return accounting.entry(f"Goods received on {po_number}", {accounting.INVENTORY: value},
                            {accounting.GRNI: value})


class ReceiveCommand(BaseModel):
    actor: Actor
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=500)
