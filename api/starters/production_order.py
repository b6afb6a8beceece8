"""The production order process (workflows/production_order.py): the shop floor's progress and change requests.
Production orders are started by their sales order's process (MRP), not here."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from temporalio.client import WorkflowHandle

from api.platform import Platform
from domain.core.limits import check_plan_date
from domain.inventory import uoms as uoms_svc
from domain.org.people import Actor
from domain.production import rules as production
from domain.production import services as production_svc
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
