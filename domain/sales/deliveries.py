"""A sales order's deliveries, invoices and what the customer paid, as its page and GET /api/sales-orders/{id}
show them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.cash import invoicing
from domain.core.types import utcnow
from domain.sales.tables import DeliveryNote


def notes(session: Session, so_number: str) -> list[dict[str, Any]]:
    """The order's delivery notes (returns too, `is_return`), oldest first, with their lines."""
    rows = session.execute(select(DeliveryNote).where(DeliveryNote.sales_order_number == so_number)
                           .order_by(DeliveryNote.id)).scalars().all()
    return [{"delivery_note_id": n.number, "delivered_on": n.delivered_on, "delivered_by": n.delivered_by,
             "is_return": n.is_return, "revenue": n.revenue, "cost": n.cost, "invoice_id": n.invoice_number,
             "lines": [{"sku": ln.sku, "qty": ln.qty, "unit_price": ln.unit_price, "net": ln.net, "cost": ln.cost}
                       for ln in n.lines]} for n in rows]


def of_order(session: Session, so_number: str) -> dict[str, Any]:
    """Deliveries, invoices (number, total, outstanding, status) and the sum paid on them."""
    today = utcnow().date()
    return {"deliveries": notes(session, so_number),
            "invoices": [{k: inv[k] for k in ("invoice_id", "number", "issued_on", "due_on", "total", "outstanding",
                                              "currency", "status", "credit_note", "process_id")}
                         for inv in invoicing.of_sales_order(session, so_number, today)],
            "paid": invoicing.paid_on_sales_order(session, so_number)}
