"""Capacity over HTTP (issue 20): work-centre calendars and item routings (read: whoever reads BOMs; changed by
planners and admin), the load table of the work centres per week, and moving a production order."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.auth import Principal
from api.deps import PlatformDep, as_actor, require
from api.encoding import ok
from api.starters import production_moves
from domain.core.limits import check_plan_date
from domain.manufacturing import routings
from domain.permissions import Action
from domain.planning import capacity_data
from domain.production import reschedule as moves

router = APIRouter(prefix="/api", tags=["capacity"])
Reader = Annotated[Principal, Depends(require(Action.BOM_READ))]
Owner = Annotated[Principal, Depends(require(Action.BOM_EDIT))]
LoadReader = Annotated[Principal, Depends(require(Action.PRODUCTION_READ))]
Mover = Annotated[Principal, Depends(require(Action.PRODUCTION_RESCHEDULE))]


@router.get("/work-centres/{code}/calendar")
async def get_calendar(code: str, user: Reader, platform: PlatformDep) -> Any:
    """`hours` per weekday (mon … sun), null when the work centre has no calendar yet."""
    return ok(await platform.read(routings.calendar_view, code))


@router.put("/work-centres/{code}/calendar")
async def put_calendar(code: str, body: routings.CalendarIn, user: Owner, platform: PlatformDep) -> Any:
    return ok(await platform.write(lambda s: routings.save_calendar(s, code, body, actor=user.username)))


@router.get("/routings/{sku}")
async def get_routing(sku: str, user: Reader, platform: PlatformDep) -> Any:
    return ok(await platform.read(routings.routing_view, sku))


@router.put("/routings/{sku}")
async def put_routing(sku: str, body: routings.RoutingIn, user: Owner, platform: PlatformDep) -> Any:
    """Replaces the item's routing whole; a work centre with no calendar, an unknown one, a sequence number twice:
    422 with a sentence, nothing stored."""
    return ok(await platform.write(lambda s: routings.save_routing(s, sku, body, actor=user.username)))


@router.get("/planning/load")
async def load(user: LoadReader, platform: PlatformDep,
               run: Annotated[str, Query(max_length=30, description="a stored MRP run whose planned orders count; "
                                         "'latest' (default): the newest that is not a what-if; 'none'")] = "latest",
               as_of: date | None = None) -> Any:
    """Load per work centre and ISO week (open production orders, and the run's planned production orders) against
    the calendars' hours; `overloads` lists the weeks where the load is above capacity."""
    today = datetime.now(UTC).date()
    day = as_of or today
    check_plan_date(day, today, "as_of")
    chosen = None if run.strip().lower() == "none" else run.strip() or "latest"
    return ok(await platform.read(lambda s: capacity_data.load_view(s, day, chosen)))


@router.post("/production-orders/{number}/reschedule")
async def reschedule(number: str, body: moves.RescheduleIn, user: Mover, platform: PlatformDep) -> Any:
    """Moves an open production order: new release and due dates, recorded by its process at once."""
    state = await production_moves.reschedule(platform, as_actor(user), number, body)
    return ok({"production_order_id": number, "status": state.status, "due_date": state.due_date,
               "release_date": body.release_date})
