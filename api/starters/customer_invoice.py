"""The collection of a customer invoice (workflows/customer_invoice.py): finance's write-off. The process itself is
started by its sales order's delivery (OrderFulfilment), with the invoice issued in the delivery's transaction."""

from __future__ import annotations

from api.platform import Platform
from domain.cash import collection
from domain.cash import services as cash
from domain.cash.rules import InvoiceKind, InvoiceStatus
from domain.core.errors import Conflict
from domain.org.people import Actor
from workflows.customer_invoice import CustomerInvoice


async def write_off(platform: Platform, actor: Actor, number: str, reason: str) -> str:
    """Ask the cfo to write what invoice `number` still owes off to bad debts; answers once the approval is
    under way ("write-off pending approval")."""
    async def open_() -> None:  # its process may have ended: say the invoice's state
        inv = await platform.read(cash.by_number, number)
        if inv.kind != InvoiceKind.CUSTOMER or inv.credit_note:
            raise Conflict(f"{number} is not a customer invoice; only a customer invoice can be written off")
        if inv.status != InvoiceStatus.OPEN or inv.outstanding <= 0:
            raise Conflict(f"invoice {number} is {inv.status.replace('_', ' ')}; only an open invoice can be "
                           "written off")

    await open_()
    collection.check_may_write_off(actor, number, collection.CollectionStatus.COLLECTING, None, reason)
    inv = await platform.read(cash.by_number, number)
    return await platform.update(platform.handle(inv.process_id), CustomerInvoice.write_off, actor, reason,
                                 recheck=open_)
