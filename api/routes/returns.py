"""Returns of a sales order: goods the customer sends back, into stock at the cost they left at, and a credit note
against the invoice of the delivery they came from. The order's salesperson, the warehouse, the sales manager or
an admin takes goods back; whoever may see the order reads its returns."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from api.deps import CurrentUser, PlatformDep, as_actor
from api.encoding import ok
from api.starters import sales_return
from domain.processes import ids
from domain.sales import return_services
from domain.sales import returns as rules
from domain.sales import services as sales_svc

router = APIRouter(prefix="/api/sales-orders", tags=["returns"])


@router.post("/{number}/returns", status_code=201)
async def take_back(number: str, body: rules.ReturnIn, user: CurrentUser, platform: PlatformDep) -> Any:
    """201 `{return_id, process_id, sales_order_id, value, cost, credit_notes: [{number, against, total,
    currency}]}`. More than was delivered and not yet returned → 409; no reason → 422; nothing stored."""
    result = await sales_return.record(platform, as_actor(user), number, body)
    return ok({**result.model_dump(exclude={"invoices"}),
               "process_id": ids.sales_return(result.return_id, platform.id_prefix)}, 201)


@router.get("/{number}/returns")
async def list_returns(number: str, user: CurrentUser, platform: PlatformDep) -> Any:
    def load(s: Session) -> list[dict[str, Any]]:
        sales_svc.visible_order(s, number, (user.username, user.roles))
        return return_services.returns_of(s, number)
    return ok(await platform.read(load))
