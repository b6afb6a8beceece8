"""Requisitions, purchase orders and goods receipts in SQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.accounting import ledger
from domain.approvals import services as approvals
from domain.core import records as common
from domain.core.errors import Conflict, NotFound
from domain.inventory import quarantine, stock
from domain.notifications import services as notifications
from domain.parties.tables import Supplier
from domain.purchasing import rules as purchasing
from domain.purchasing.tables import (
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseRequisition,
    RequisitionLine,
)


def record_requisition(session: Session, draft: purchasing.RequisitionDraft, process_id: str) -> PurchaseRequisition:
    req = session.execute(select(PurchaseRequisition).where(PurchaseRequisition.number == draft.number)
                          ).scalar_one_or_none()
    if req is not None:
        return req
    items = stock.items_by_sku(session, [ln.sku for ln in draft.lines])
    req = PurchaseRequisition(number=draft.number, requester=draft.requester, justification=draft.justification,
                              total=draft.total, supplier_id=draft.supplier_id, process_id=process_id,
                              sales_order_number=draft.sales_order)
    req.lines = [RequisitionLine(item_id=items[ln.sku].id, sku=ln.sku, qty=ln.qty, est_unit_price=ln.est_unit_price)
                 for ln in draft.lines]
    session.add(req)
    session.flush()
    return req


def requisition(session: Session, number: str) -> PurchaseRequisition:
    return common.one(session, PurchaseRequisition, PurchaseRequisition.number == number,
                      f"no purchase requisition {number}")


def set_requisition_status(session: Session, number: str, status: purchasing.RequisitionStatus) -> None:
    req = requisition(session, number)
    req.status = status
    session.flush()
    if status == purchasing.RequisitionStatus.REJECTED:
        decided(session, req)


def decided(session: Session, req: PurchaseRequisition, order: str = "") -> None:
    """Tell the requester their requisition's approval is decided (approved: on purchase order `order`), once."""
    status = "approved" if order else "rejected"
    notifications.emit(session, "request.decided", key=f"request.decided:{req.number}", users=[req.requester],
                       document=req.number, title=f"Purchase requisition {req.number}: {status}",
                       detail=f"Your purchase requisition {req.number} of {req.total:,.2f} is {status}"
                              + (f": purchase order {order} is placed." if order else "."),
                       link=f"/purchase-orders/{order}" if order else f"/requests#requisition-{req.number}")


def create_order(session: Session, requisition_number: str, *, buyer: str, today: date, key: str
                 ) -> purchasing.OrderState:
    """The purchase order for an approved requisition: one per requisition (idempotent on `key`),
    on_order raised for each line in the same transaction."""
    existing = session.execute(select(PurchaseOrder).where(PurchaseOrder.idempotency_key == key)).scalar_one_or_none()
    if existing is not None:
        return order_state(existing)
    req = requisition(session, requisition_number)
    items = stock.items_by_sku(session, [ln.sku for ln in req.lines])
    lead = max(items[ln.sku].lead_time_days for ln in req.lines)
    po = PurchaseOrder(number=common.next_number(session, "PO"), supplier_id=req.supplier_id,
                       requisition_number=req.number, process_id=req.process_id, buyer=buyer,
                       status=purchasing.PurchaseOrderStatus.OPEN, total=req.total, expected_date=today + timedelta(days=lead), idempotency_key=key)
    po.lines = [PurchaseOrderLine(item_id=ln.item_id, sku=ln.sku, qty=ln.qty, unit_price=ln.est_unit_price)
                for ln in req.lines]
    session.add(po)
    session.flush()
    for ln in req.lines:
        stock.change_on_order(session, ln.sku, ln.qty)
    req.purchase_order_id = po.id
    req.status = purchasing.RequisitionStatus.ORDERED
    session.flush()
    decided(session, req, po.number)  # only an approved requisition is ordered
    return order_state(po)


def order(session: Session, number: str) -> PurchaseOrder:
    return common.one(session, PurchaseOrder, PurchaseOrder.number == number, f"no purchase order {number}")


def order_state(po: PurchaseOrder) -> purchasing.OrderState:
    return purchasing.OrderState(
        number=po.number, expected_date=po.expected_date,
        lines=[purchasing.OrderLineState(sku=ln.sku, qty=ln.qty, received_qty=ln.received_qty,
                                         unit_price=ln.unit_price) for ln in po.lines])


def receive(session: Session, po_number: str, lines: list[purchasing.ReceiptLineIn], *, actor: str, key: str
            ) -> purchasing.OrderState:
    """Goods in: stock ledger entries, on_hand up, on_order down, inventory vs GRNI journal, all under
    `key` in one transaction. Refuses over-receipt (Conflict) and unknown SKUs."""
    # Lock the order: two receipts at once must each see the other's received quantities.
    po = session.execute(select(PurchaseOrder).where(PurchaseOrder.number == po_number).with_for_update()
                         .execution_options(populate_existing=True)).scalar_one_or_none()
    if po is None:
        raise NotFound(f"no purchase order {po_number}")
    session.execute(select(PurchaseOrderLine).where(PurchaseOrderLine.po_id == po.id)
                    .execution_options(populate_existing=True)).scalars().all()  # fresh received_qty
    if session.execute(select(GoodsReceipt.id).where(GoodsReceipt.idempotency_key == key)).first():
        return order_state(po)
    state = order_state(po)
    new_state = purchasing.apply_receipt(state, lines)
    receipt = GoodsReceipt(number=f"{po.number}-R{len(_receipts(session, po.id)) + 1}", po_id=po.id,
                           received_by=actor, idempotency_key=key)
    receipt.lines = [GoodsReceiptLine(sku=ln.sku, qty=ln.qty) for ln in lines]
    session.add(receipt)
    session.flush()
    prices = {ln.sku: ln.unit_price for ln in po.lines}
    value = Decimal(0)  # what stock took in, each line to the cent: posted as it is (inventory = stock valuation)
    # Items in SKU order: two receipts touching the same items lock them in the same order (no deadlock).
    quarantined: list[str] = []
    for i, ln in sorted(enumerate(lines), key=lambda pair: pair[1].sku):
        if stock.item_by_sku(session, ln.sku).inspect_incoming:  # into quarantine until an inspection accepts it
            lot = quarantine.take_in(session, ln.sku, ln.qty, unit_cost=prices[ln.sku], source="purchase",
                                     source_document=receipt.number, order_number=po.number,
                                     voucher_type=purchasing.RECEIPT_VOUCHER, key=f"{key}:{i}", actor=actor)
            value += lot.value
            quarantined.append(lot.number)
        else:
            value += stock.move(session, ln.sku, ln.qty, unit_cost=prices[ln.sku],
                                voucher_type=purchasing.RECEIPT_VOUCHER, voucher_no=receipt.number,
                                key=f"{key}:{i}", actor=actor).value_change
        stock.change_on_order(session, ln.sku, -ln.qty)
    by_sku = {ln.sku: ln for ln in new_state.lines}
    for pol in po.lines:
        pol.received_qty = by_sku[pol.sku].received_qty
    po.status = new_state.status
    ledger.post(session, purchasing.receipt_entry(po.number, value), purchasing.RECEIPT_VOUCHER, receipt.number, key)
    session.flush()
    return new_state.model_copy(update={"quarantined": quarantined}) if quarantined else new_state


def _receipts(session: Session, po_id: int) -> list[int]:
    return list(session.execute(select(GoodsReceipt.id).where(GoodsReceipt.po_id == po_id)).scalars())


def supplier_for(session: Session, skus: list[str], supplier_id: int | None) -> Supplier:
    """The supplier of a requisition: the one given, or the items' common default supplier."""
    if supplier_id is not None:
        sup = session.get(Supplier, supplier_id)
        if sup is None:
            raise NotFound(f"no supplier {supplier_id}")
        return sup
    items = stock.items_by_sku(session, skus)
    defaults = {i.default_supplier_id for i in items.values()}
    if None in defaults:
        missing = sorted(s for s, i in items.items() if i.default_supplier_id is None)
        raise Conflict(f"no default supplier for {', '.join(missing)}; name a supplier_id")
    if len(defaults) > 1:
        raise Conflict("these items come from different default suppliers; file one requisition per supplier "
                       "or name a supplier_id")
    sup = session.get(Supplier, defaults.pop())
    assert sup is not None
    return sup


def requisition_view(session: Session, req: PurchaseRequisition) -> dict[str, Any]:
    po = session.get(PurchaseOrder, req.purchase_order_id) if req.purchase_order_id else None
    return {
        "id": req.number, "requisition_id": req.number, "number": req.number, "requester": req.requester,
        "status": req.status, "justification": req.justification, "total": req.total,
        "supplier_id": req.supplier_id, "process_id": req.process_id,
        "purchase_order_id": po.number if po else None, "created_at": req.created_at,
        "lines": [{"sku": ln.sku, "qty": ln.qty, "est_unit_price": ln.est_unit_price} for ln in req.lines],
        "approvals": approvals.trail(session, req.process_id),
    }


def order_view(session: Session, po: PurchaseOrder) -> dict[str, Any]:
    sup = session.get(Supplier, po.supplier_id)
    return {
        "id": po.number, "purchase_order_id": po.number, "number": po.number, "status": po.status,
        "supplier_id": po.supplier_id, "supplier": sup.name if sup else None,
        "requisition_id": po.requisition_number, "process_id": po.process_id, "total": po.total,
        "expected_date": po.expected_date, "created_at": po.created_at,
        "lines": [{"sku": ln.sku, "qty": ln.qty, "received_qty": ln.received_qty, "unit_price": ln.unit_price}
                  for ln in po.lines],
        "receipts": [{"number": r.number, "received_by": r.received_by, "received_at": r.received_at,
                      "lines": [{"sku": rl.sku, "qty": rl.qty} for rl in r.lines]}
                     for r in session.execute(select(GoodsReceipt).where(GoodsReceipt.po_id == po.id)
                                              .order_by(GoodsReceipt.id)).scalars()],
        "approvals": approvals.trail(session, po.process_id),
    }

