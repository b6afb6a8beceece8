"""The order → production → cost process (workflows/order_fulfilment.py): a sales order entered directly, its
delivery, and the news that stock arrived outside a purchase (which its kitting and its production orders wait
for). A sales order won by a quotation is started by the quotation's process."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from temporalio.service import RPCError, RPCStatusCode

from api.platform import Platform
from domain.core import records as common
from domain.core.errors import Conflict, NotFound
from domain.core.limits import check_plan_date
from domain.inventory import stock as stock_svc
from domain.inventory import uoms as uoms_svc
from domain.manufacturing import boms as boms_svc
from domain.org.people import Actor
from domain.parties.tables import Customer
from domain.planning import services as planning_svc
from domain.processes import ids
from domain.sales import delivery
from domain.sales import rules as sales
from domain.sales import services as sales_svc
from workflows.common import search_attributes, this_generation
from workflows.order_fulfilment import OrderFulfilment


async def create(platform: Platform, owner: str, customer_id: int, lines: list[sales.OrderLineIn],
                 requested_date: date | None) -> dict[str, Any]:
    total = sales.order_total(lines)
    if requested_date is not None:
        check_plan_date(requested_date, datetime.now(UTC).date(), "the requested date")

    def allocate(s: Any) -> tuple[str, str]:
        customer = s.get(Customer, customer_id)
        if customer is None:
            raise NotFound(f"no customer {customer_id}")
        if not customer.active:
            raise Conflict(f"customer {customer.name} is inactive; reactivate it before taking an order")
        stock_svc.active_items(s, [ln.sku for ln in lines])
        uoms_svc.check_lines(s, [(ln.sku, ln.qty) for ln in lines])
        boms_svc.check_makeable(s, [ln.sku for ln in lines])
        return common.next_number(s, "SO"), customer.name

    number, customer_name = await platform.write(allocate)
    ref = this_generation(sales.OrderRef(number=number, owner=owner, customer_id=customer_id, lines=lines,
                                         requested_date=requested_date, total=total))
    process_id = ids.sales_order(number, platform.id_prefix)
    await platform.start_and_update(
        OrderFulfilment.run, ref, OrderFulfilment.recorded_state, workflow_type="OrderFulfilment", id=process_id,
        search_attributes=search_attributes("sales_order", number, owner, total, salesperson=owner,
                                            customer=customer_name))
    return {"sales_order_id": number, "process_id": process_id, "total": total}


async def deliver(platform: Platform, actor: Actor, number: str,
                  lines: list[delivery.DeliveryLineIn] | None = None) -> str:
    """The whole order (no lines: everything still to deliver), or the lines and quantities named; answers the
    order's status once the delivery, its note and its invoice are stored (partially delivered, or completed)."""
    so = await platform.read(sales_svc.order, number)
    if so.status in (sales.SalesOrderStatus.COMPLETED, sales.SalesOrderStatus.CANCELLED):
        raise Conflict(f"sales order {number} is {so.status}; nothing more to deliver")
    if lines:
        delivery.check_lines_shape(lines)
        return await platform.update(platform.handle(so.process_id), OrderFulfilment.deliver,
                                     delivery.DeliverCommand(actor=actor, lines=lines))
    return await platform.update(platform.handle(so.process_id), OrderFulfilment.deliver, actor)


async def supply_arrived(platform: Platform, sku: str) -> list[str]:
    """Stock of `sku` was added outside a purchase (an adjustment): tell each process waiting for it (sales
    orders and production orders), at once. A signal lost to a crash right after the commit only delays: the
    processes look again on their own timer."""
    told = []
    for process_id in await platform.read(planning_svc.waiting_for, sku):
        try:
            await platform.handle(process_id).signal("supply_arrived")
            told.append(process_id)
        except RPCError as e:
            if e.status != RPCStatusCode.NOT_FOUND:  # one that has just ended waits for nothing
                raise
    return told
