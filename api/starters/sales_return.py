"""The sales return process (workflows/sales_return.py): goods a customer sends back, and their credit note.

A return is checked in a read first (who, the lines, a reason, not more than was delivered and not yet returned:
refused before any process starts, nothing stored), then numbered, then its process records it (one transaction)
and answers through the `recorded` Update."""

from __future__ import annotations

from typing import Any

from api.platform import Platform
from domain.core import records as common
from domain.org.people import Actor
from domain.parties.tables import Customer
from domain.processes import ids
from domain.sales import return_services
from domain.sales import returns as rules
from domain.sales import services as sales_svc
from workflows.common import search_attributes
from workflows.sales_return import SalesReturn


async def record(platform: Platform, actor: Actor, order: str, body: rules.ReturnIn) -> rules.ReturnResult:
    def check(s: Any) -> tuple[str, str | None, Any]:
        sales_svc.visible_order(s, order, (actor.username, set(actor.roles)))  # one it may not see: 404
        so, takes = return_services.plan(s, order, body.lines, body.reason, actor)
        customer = s.get(Customer, so.customer_id)
        return so.owner, customer.name if customer else None, sum((t.net for t in takes), 0)

    owner, customer, value = await platform.read(check)
    number = await platform.write(lambda s: common.next_number(s, rules.PREFIX))
    draft = rules.ReturnDraft(number=number, sales_order=order, lines=body.lines, reason=body.reason,
                              by=actor.username, id_prefix=platform.id_prefix)
    handle = await platform.start(
        SalesReturn.run, draft, workflow_type="SalesReturn", id=ids.sales_return(number, platform.id_prefix),
        search_attributes=search_attributes("sales_return", number, actor.username, value, stage="recording",
                                            salesperson=owner, customer=customer))
    return await platform.recorded(handle, SalesReturn.recorded, rules.ReturnResult)

