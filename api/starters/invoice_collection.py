"""Collection processes for customer invoices that have none running: the demo company's history (domain/demo.py
issues its invoices without processes: the domain starts none), started by `valueloop up --demo` once the demo is
loaded. A delivery's invoice gets its process from its order's fulfilment (workflows/order_fulfilment.py).

Starting one that runs already finds it (the platform starts under the invoice's process id, USE_EXISTING)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from api.platform import Platform
from domain.cash import collection
from domain.cash.rules import InvoiceKind, InvoiceStatus
from domain.cash.tables import Invoice
from domain.processes import ids
from domain.processes import services as processes
from workflows.common import search_attributes
from workflows.customer_invoice import CustomerInvoice


def _open_invoices(s: Any, limit: int, prefix: str) -> list[tuple[str, collection.InvoiceRef]]:
    """The open customer invoices (not credit notes) as (process id, what its process starts from), their process
    rows written (once) for the monitor."""
    rows = list(s.execute(select(Invoice).where(Invoice.kind == InvoiceKind.CUSTOMER, Invoice.credit_note.is_(False),
                                                Invoice.status == InvoiceStatus.OPEN)
                          .order_by(Invoice.id).limit(limit)).scalars())
    for inv in rows:
        if not inv.process_id or not inv.process_id.startswith(prefix):  # the platform's prefix (tests)
            inv.process_id = ids.invoice(inv.number, prefix)
        processes.start(s, inv.process_id, "customer_invoice", inv.number, title=f"Invoice {inv.number}",
                        owner=inv.owner, amount=inv.total, first_step="collecting", customer=inv.party_name)
    return [(inv.process_id, collection.InvoiceRef(
        number=inv.number, customer=inv.party_name, owner=inv.owner, total=inv.total, currency=inv.currency,
        sales_order_number=inv.sales_order_number)) for inv in rows]


async def start_missing(platform: Platform, limit: int = 1000) -> list[str]:
    """Start the collection of each open customer invoice (up to `limit`); answers their process ids."""
    started = []
    for process_id, ref in await platform.write(_open_invoices, limit, platform.id_prefix):
        handle = await platform.start(
            CustomerInvoice.run, ref, workflow_type="CustomerInvoice", id=process_id,
            search_attributes=search_attributes("customer_invoice", ref.number, ref.owner, ref.total,
                                                stage="collecting", salesperson=ref.owner or None,
                                                customer=ref.customer or None))
        started.append(handle.id)
    return started
