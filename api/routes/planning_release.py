"""Make to stock and batch release over HTTP (issue 20): a planner's production order for stock; a stored MRP
run's planned orders (all, or those named) made into production orders and requisitions by one MrpRelease
process, once; where a release stands."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from api.auth import Principal
from api.deps import PlatformDep, as_actor, require
from api.encoding import ok
from api.schemas import Body
from api.starters import mrp_release
from api.starters import production_order as production_starter
from domain.core.limits import MAX_QTY
from domain.core.numbers import PlainDecimal
from domain.permissions import Action
from domain.planning import release
from domain.planning.release_rules import MAX_RELEASE

router = APIRouter(prefix="/api", tags=["planning"])
Reader = Annotated[Principal, Depends(require(Action.PRODUCTION_READ))]
Maker = Annotated[Principal, Depends(require(Action.PRODUCTION_CREATE))]
Releaser = Annotated[Principal, Depends(require(Action.MRP_RELEASE))]


class StockOrderIn(Body):
    sku: str = Field(min_length=1, max_length=60)
    qty: PlainDecimal = Field(gt=0, le=MAX_QTY, decimal_places=4)
    due_date: date


@router.post("/production-orders", status_code=201)
async def make_to_stock(body: StockOrderIn, user: Maker, platform: PlatformDep) -> Any:
    """A production order for stock, with no sales order: released its item's lead time before the due date."""
    made = await production_starter.for_stock(platform, as_actor(user), body.sku.strip(), body.qty, body.due_date)
    return ok(made, 201)


class ReleaseIn(Body):
    planned_order_ids: list[Annotated[str, Field(min_length=1, max_length=60)]] | None = Field(
        default=None, max_length=MAX_RELEASE)


@router.post("/planning/mrp-runs/{number}/release", status_code=202)
async def release_run(number: str, user: Releaser, platform: PlatformDep, body: ReleaseIn | None = None) -> Any:
    """The run's planned orders named (all not yet released when none are) made into production orders and one
    requisition per supplier by one process; answers once they are claimed (202), while the orders are made."""
    ids_ = body.planned_order_ids if body else None
    process_id, progress = await mrp_release.release_run(platform, as_actor(user), number, ids_)
    return ok({"process_id": process_id, **progress.model_dump(mode="json")}, 202)


@router.get("/planning/mrp-releases/{release_id}")
async def release_progress(release_id: str, user: Reader, platform: PlatformDep) -> Any:
    """How far a release got: made of total, done."""
    return ok((await platform.read(release.progress_of, release_id)).model_dump(mode="json"))
