"""The production order process (workflows/production_order.py): the shop floor's progress and change requests.
Production orders are started by their sales order's process (MRP) or a release of a stored run; a planner's
order for stock (make to stock) starts here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from temporalio.client import WorkflowHandle

from api.platform import Platform
from domain.core.limits import check_plan_date
from domain.inventory import uoms as uoms_svc
from domain.org.people import Actor
from domain.processes import ids
from domain.production import making
from domain.production import rules as production
from domain.production import services as production_svc
from workflows.common import search_attributes
from workflows.production_order import ChangeCommand, ProductionOrder, ProgressCommand


async def _order(platform: Platform, number: str, *quantities: tuple[str, Decimal | None]
                 ) -> WorkflowHandle[Any, Any]:
    """The order's process; each (what, qty) given must be whole when the order's item is counted whole."""
    def load(s: Any) -> str:
        row = production_svc.order(s, number)
        for what, qty in quantities:
            if qty is not None:
                uoms_svc.check_lines(s, [(row.sku, qty)], what)
        return row.process_id
    return platform.handle(await platform.read(load))


async def progress(platform: Platform, actor: Actor, number: str,
                   report: production.ProgressIn) -> production.ProductionState:
    handle = await _order(platform, number, ("the completed quantity", report.completed_qty),
                          ("the scrap quantity", report.scrap_qty))
    return await platform.update(handle, ProductionOrder.progress, ProgressCommand(actor=actor, progress=report))


async def request_change(platform: Platform, actor: Actor, number: str, change: production.ChangeIn) -> str:
    if change.due_date is not None:
        check_plan_date(change.due_date, datetime.now(UTC).date(), "the new due date")
    handle = await _order(platform, number, ("the new quantity", change.qty))
    return await platform.update(handle, ProductionOrder.request_change, ChangeCommand(actor=actor, change=change))


async def for_stock(platform: Platform, actor: Actor, sku: str, qty: Decimal, due_date: date) -> dict[str, Any]:
    """A production order made to stock (no sales order): checked and numbered here, recorded by its process."""
    today = datetime.now(UTC).date()
    check_plan_date(due_date, today, "the due date")
    ref = await platform.write(lambda s: making.plan_for_stock(s, sku=sku, qty=qty, due_date=due_date, today=today,
                                                               planner=actor.username))
    process_id = ids.production_order(ref.number, platform.id_prefix)
    status = await platform.start_and_update(
        ProductionOrder.run, ref, ProductionOrder.recorded_state, workflow_type="ProductionOrder", id=process_id,
        search_attributes=search_attributes("production_order", ref.number, actor.username, 0,
                                            stage="waiting for material"))
    return {"production_order_id": ref.number, "process_id": process_id, "status": status}
