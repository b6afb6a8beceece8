"""The purchase process (workflows/purchase.py): submit a requisition, the requester's cancel, goods received."""

from __future__ import annotations

from typing import Any

from api.platform import Platform
from domain.approvals import rules as approval_rules
from domain.approvals import services as approvals
from domain.core import records as common
from domain.core.errors import Conflict
from domain.inventory import stock as stock_svc
from domain.inventory import uoms as uoms_svc
from domain.org.people import Actor
from domain.processes import ids
from domain.purchasing import rules as purchasing
from domain.purchasing import services as purchasing_svc
from workflows.common import search_attributes, this_generation
from workflows.purchase import Purchase


async def submit(platform: Platform, requester: str, lines: list[purchasing.RequisitionLineIn],
                 justification: str, supplier_id: int | None) -> dict[str, Any]:
    total = purchasing.requisition_total(lines)

    def allocate(s: Any) -> tuple[str, int, int, list[approval_rules.ChainStep]]:
        items = stock_svc.active_items(s, [ln.sku for ln in lines])
        uoms_svc.check_lines(s, [(ln.sku, ln.qty) for ln in lines])
        supplier = purchasing_svc.supplier_for(s, [ln.sku for ln in lines], supplier_id)
        # Resolved here, once: a chain nobody could approve is refused now, and the process takes this one.
        steps = approvals.chain_for(s, "purchase_requisition", total, requester)
        lead = max(i.lead_time_days for i in items.values())
        return common.next_number(s, "PR"), supplier.id, lead, steps

    number, sup_id, lead, steps = await platform.write(allocate)
    draft = this_generation(purchasing.RequisitionDraft(number=number, requester=requester, supplier_id=sup_id,
                                                        justification=justification, total=total, lines=lines,
                                                        lead_time_days=lead, steps=steps))
    process_id = ids.purchase(number, platform.id_prefix)
    status = await platform.start_and_update(
        Purchase.run, draft, Purchase.recorded_state, workflow_type="Purchase", id=process_id,
        search_attributes=search_attributes("purchase", number, requester, total))
    return {"requisition_id": number, "process_id": process_id, "status": status, "total": total}


async def receive(platform: Platform, actor: Actor, po_number: str,
                  lines: list[purchasing.ReceiptLineIn]) -> purchasing.OrderState:
    po = await platform.read(purchasing_svc.order, po_number)
    await platform.read(uoms_svc.check_lines, [(ln.sku, ln.qty) for ln in lines], "the quantity received")
    return await platform.update(platform.handle(po.process_id), Purchase.receive,
                                 purchasing.ReceiveCommand(actor=actor, lines=lines))


async def cancel(platform: Platform, actor: Actor, number: str) -> str:
    async def pending() -> None:  # its process may have ended: say the state
        req = await platform.read(purchasing_svc.requisition, number)
        if req.status not in (purchasing.RequisitionStatus.SUBMITTED, purchasing.RequisitionStatus.PENDING_APPROVAL):
            raise Conflict(f"requisition {number} is {req.status}; only a requisition pending approval can be "
                           "cancelled")

    await pending()
    handle = platform.handle(ids.purchase(number, platform.id_prefix))
    return await platform.update(handle, Purchase.cancel, actor, recheck=pending)
