"""The purchase return process (workflows/purchase_return.py): a supplier's credit note against a posted bill.

A credit note is checked in a read first (who, the bill posted, its lines, a reason, not more than the bill has left
to credit, not above its price, the goods on hand: refused before any process starts, nothing stored); the same
supplier reference again answers the first credit note. Then it is numbered (once per supplier and reference), and
its process records it (one transaction) and answers through the `recorded` Update."""

from __future__ import annotations

from typing import Any

from api.platform import Platform
from api.starters.supplier_invoice import may_enter
from domain.cash import bills
from domain.cash import purchase_return_services as svc
from domain.cash import purchase_returns as rules
from domain.org.people import Actor
from domain.processes import ids
from workflows.common import search_attributes
from workflows.purchase_return import PurchaseReturn


async def record(platform: Platform, actor: Actor, bill: str, body: rules.CreditNoteIn) -> rules.CreditResult:
    """The recorded credit note (`existing` when its reference was entered before)."""
    may_enter(actor)
    planned = await platform.read(svc.plan, bill, body)
    if (first := planned.existing) is not None:
        return await platform.read(svc.entered, first)
    number = await platform.write(svc.reserve_number, planned.supplier_id, body.supplier_ref)
    if await platform.read(bills.by_number_or_none, number) is not None:  # the same one, entered at the same moment
        return await platform.read(svc.entered, number)
    draft = rules.CreditDraft(number=number, bill=planned.bill, supplier_id=planned.supplier_id,
                              supplier_ref=body.supplier_ref, issued_on=body.issued_on, reason=body.reason.strip(),
                              lines=body.lines, return_goods=body.return_goods, by=actor.username)
    handle = await platform.start(
        PurchaseReturn.run, draft, workflow_type="PurchaseReturn",
        id=ids.supplier_credit_note(number, platform.id_prefix),
        search_attributes=search_attributes(rules.PROCESS_TYPE, number, actor.username, -planned.total,
                                            stage="recording"))
    return await platform.recorded(handle, PurchaseReturn.recorded, rules.CreditResult)


def answer(result: rules.CreditResult) -> dict[str, Any]:
    """The API's answer: the credit note's number as `invoice_id`, its process, total and bill."""
    return result.model_dump(exclude={"invoices"})
