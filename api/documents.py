"""The printed documents besides invoices and statements, as their pages and PDFs show them: a purchase order, a
delivery note and a quotation, each for whoever may open it (NotFound otherwise, as for one that does not exist).
Shared by the pages (api/routes/ui) and the JSON API's PDF routes (api/routes/reports.py); rendered by api.pdf."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.approvals import access
from domain.cash import bills
from domain.core.errors import NotFound
from domain.org import company
from domain.parties.tables import Customer, Supplier
from domain.purchasing import services as purchasing
from domain.purchasing.tables import PurchaseOrder
from domain.sales import services as sales_svc
from domain.sales.tables import DeliveryNote

Viewer = tuple[str, Collection[str]]  # username, roles


def _company(s: Session) -> dict[str, Any]:
    me = company.settings(s)
    return {"name": me.name or "Valueloop", "currency": me.base_currency}


def visible_purchase_order(s: Session, viewer: Viewer, number: str) -> PurchaseOrder:
    """The purchase order `viewer` may open: whoever sees its requisition (they share their process)."""
    username, roles = viewer
    try:
        po = purchasing.order(s, number)
        req = purchasing.requisition(s, po.requisition_number)
    except NotFound:
        raise NotFound(f"no purchase order {number}") from None
    if not access.may_see(s, username, set(roles), "purchase", req.requester, po.process_id):
        raise NotFound(f"no purchase order {number}")
    return po


def purchase_order(s: Session, viewer: Viewer, number: str) -> dict[str, Any]:
    """A purchase order with its lines (what is still to come, what was billed), receipts, bills, requisition."""
    po = visible_purchase_order(s, viewer, number)
    view = bills.with_bills(s, purchasing.order_view(s, po))
    sup = s.get(Supplier, po.supplier_id)
    for ln in view["lines"]:
        ln["open_qty"] = max(ln["qty"] - ln["received_qty"], 0)
        ln["total"] = ln["qty"] * ln["unit_price"]
    return {**view, "currency": sup.currency if sup else "", "terms": sup.payment_terms_days if sup else None,
            "company": _company(s),
            "requisition": purchasing.requisition_view(s, purchasing.requisition(s, po.requisition_number))}


def delivery_note(s: Session, viewer: Viewer, number: str) -> dict[str, Any]:
    """A delivery (or return) note, for whoever may open its sales order."""
    note = s.execute(select(DeliveryNote).where(DeliveryNote.number == number)).scalar_one_or_none()
    if note is None:
        raise NotFound(f"no delivery note {number}")
    try:
        so = sales_svc.visible_order(s, note.sales_order_number, viewer)
    except NotFound:
        raise NotFound(f"no delivery note {number}") from None
    customer = s.get(Customer, so.customer_id)
    return {"number": note.number, "order": so.number, "customer": customer.name if customer else "",
            "on": note.delivered_on, "by": note.delivered_by, "is_return": note.is_return, "reason": note.reason,
            "invoice": note.invoice_number, "company": _company(s),
            "lines": [{"sku": ln.sku, "qty": ln.qty} for ln in note.lines]}


def quotation(s: Session, viewer: Viewer, number: str) -> dict[str, Any]:
    """A quotation as the customer receives it."""
    q = sales_svc.visible_quotation(s, number, viewer)
    customer = s.get(Customer, q.customer_id)
    return {**sales_svc.quotation_view(s, q), "number": q.number, "customer": customer.name if customer else "",
            "company": _company(s)}
