"""Order to production to cost over HTTP: a sales order's kitting and delivery, production orders (progress,
change requests) and MRP runs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from api.auth import Principal
from api.deps import CurrentUser, PlatformDep, as_actor, require
from api.encoding import ok
from api.routes.common import Limit, Offset
from api.schemas import Body
from api.starters import order_fulfilment, production_order
from domain.core.errors import Invalid
from domain.core.limits import MAX_QTY, check_plan_date
from domain.core.numbers import PlainDecimal
from domain.permissions import Action
from domain.planning import release, replanning
from domain.planning import services as planning
from domain.production import rules as production
from domain.production import services as production_svc
from domain.sales import deliveries, delivery
from domain.sales import services as sales_svc

router = APIRouter(prefix="/api", tags=["production"])
Reader = Annotated[Principal, Depends(require(Action.PRODUCTION_READ))]
Planner = Annotated[Principal, Depends(require(Action.MRP_RUN))]
MAX_WHAT_IF_LINES = 10_000


@router.get("/sales-orders/{number}/kitting")
async def order_kitting(number: str, user: CurrentUser, platform: PlatformDep) -> Any:
    def read(s: Any) -> Any:
        sales_svc.visible_order(s, number, (user.username, user.roles))  # 404 unless the caller may see the order
        return planning.order_kitting(s, number)
    return ok(await platform.read(read))


@router.get("/planning/kitting")
async def all_kitting(user: Reader, platform: PlatformDep) -> Any:
    """Kitting of every open sales order in priority order (requested date, then creation)."""
    return ok(await platform.read(planning.all_kitting))


class DeliveryIn(Body):
    lines: list[delivery.DeliveryLineIn] | None = Field(default=None, max_length=200)


@router.post("/sales-orders/{number}/deliver")
async def deliver(number: str, user: CurrentUser, platform: PlatformDep, body: DeliveryIn | None = None) -> Any:
    """Everything still to deliver (no body, or no lines), or the lines and quantities named: one delivery note
    and its invoice. Answers the order's status and what the delivery made."""
    await platform.glance(lambda s: sales_svc.visible_order(s, number, (user.username, user.roles)))
    status = await order_fulfilment.deliver(platform, as_actor(user), number, body.lines if body else None)
    return ok({"sales_order_id": number, "status": status,
               "deliveries": await platform.glance(deliveries.notes, number)})


@router.get("/production-orders")
async def list_production_orders(user: Reader, platform: PlatformDep, status: str | None = None,
                                 sales_order: str | None = None, limit: Limit = 50, offset: Offset = 0) -> Any:
    return ok(await platform.read(lambda s: production_svc.views(s, limit=limit, offset=offset, status=status,
                                                                 sales_order=sales_order)))


@router.get("/production-orders/{number}")
async def get_production_order(number: str, user: Reader, platform: PlatformDep) -> Any:
    return ok(await platform.read(lambda s: production_svc.view(s, production_svc.order(s, number))))


@router.post("/production-orders/{number}/progress")
async def report_progress(number: str, body: production.ProgressIn, user: CurrentUser, platform: PlatformDep) -> Any:
    state = await production_order.progress(platform, as_actor(user), number, body)
    return ok(await platform.read(lambda s: {**production_svc.view(s, production_svc.order(s, number)),
                                             "status": state.status}))


@router.post("/production-orders/{number}/change-requests", status_code=202)
async def request_change(number: str, body: production.ChangeIn, user: CurrentUser, platform: PlatformDep) -> Any:
    status = await production_order.request_change(platform, as_actor(user), number, body)
    return ok({"production_order_id": number, "status": status}, 202)


class DemandIn(Body):
    sku: str = Field(min_length=1, max_length=60)
    qty: PlainDecimal = Field(gt=0, le=MAX_QTY, decimal_places=4)
    due_date: date
    reference: str | None = Field(default=None, max_length=60)


class MrpRunIn(Body):
    demand: list[DemandIn] | None = Field(default=None, max_length=MAX_WHAT_IF_LINES)
    scheduled_receipts: list[DemandIn] | None = Field(default=None, max_length=MAX_WHAT_IF_LINES)
    as_of: date | None = None
    net_change: bool = False  # re-plan only what changed since the latest run (domain/planning/replanning.py)


@router.post("/planning/mrp-runs", status_code=201)
async def run_mrp(user: Planner, platform: PlatformDep, body: MrpRunIn | None = None) -> Any:
    """No demand (or no body at all): every open sales order against the company's stock and open supply
    (stored, changes nothing else: the planned orders are suggestions). Explicit demand (and receipts): a
    what-if run."""
    body = body or MrpRunIn()
    today = datetime.now(UTC).date()
    as_of = body.as_of or today
    check_plan_date(as_of, today, "the planning date (as_of)")
    for i, d in enumerate([*(body.demand or ()), *(body.scheduled_receipts or ())], 1):
        check_plan_date(d.due_date, today, f"line {i}: the due date")
    if body.scheduled_receipts is not None and body.demand is None:
        raise Invalid("scheduled receipts are for a what-if run: give its demand too")
    if body.net_change and body.demand is not None:
        raise Invalid("a net-change run re-plans the open orders as they stand: a what-if run's demand cannot be "
                      "given with it")
    if body.net_change:
        return ok(await platform.write(lambda s: net_change_view(
            s, *replanning.run_net_change(s, as_of=as_of, actor=user.username))), 201)

    def write(s: Any) -> Any:
        if body.demand is None:
            run = planning.run_open_orders(s, as_of=as_of, actor=user.username)
        else:
            run = planning.run_what_if(
                s, as_of=as_of, demand=[d.model_dump() for d in body.demand],
                receipts=None if body.scheduled_receipts is None else [r.model_dump() for r in body.scheduled_receipts],
                actor=user.username)
        return planning.run_view(run, release.released(s, run))  # as GET shows it: ids, and released_as (none yet)
    return ok(await platform.write(write), 201)


def net_change_view(s: Any, run: Any, replanned: int | None) -> dict[str, Any]:
    """A net-change run as any run, with `items_replanned` (null: it was a full run, no state to start from)."""
    return {**planning.run_view(run, release.released(s, run)), "items_replanned": replanned}


@router.get("/planning/mrp-runs")
async def list_mrp_runs(user: Reader, platform: PlatformDep, limit: Limit = 50, offset: Offset = 0) -> Any:
    return ok(await platform.read(lambda s: planning.runs(s, limit, offset)))


@router.get("/planning/mrp-runs/{number}")
async def get_mrp_run(number: str, user: Reader, platform: PlatformDep) -> Any:
    return ok(await platform.read(release.run_view, number))  # each planned order's id and released_as
