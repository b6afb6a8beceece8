"""Capable-to-promise over HTTP: when each line could ship (domain/planning/promise.py). Reads only; whoever may
quote or plan may ask (Action.PLANNING_PROMISE)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from api.auth import Principal
from api.deps import PlatformDep, require
from api.encoding import ok
from api.schemas import Body
from domain.core.limits import MAX_QTY, check_plan_date
from domain.core.numbers import PlainDecimal
from domain.permissions import Action
from domain.planning import promising

router = APIRouter(prefix="/api", tags=["planning"])
Promiser = Annotated[Principal, Depends(require(Action.PLANNING_PROMISE))]


class PromiseLineIn(Body):
    sku: str = Field(min_length=1, max_length=60)
    qty: PlainDecimal = Field(gt=0, le=MAX_QTY, decimal_places=4)


class PromiseIn(Body):
    lines: list[PromiseLineIn] = Field(min_length=1, max_length=promising.MAX_LINES)
    requested_date: date | None = None


@router.post("/planning/promise")
async def promise(body: PromiseIn, user: Promiser, platform: PlatformDep) -> Any:
    """`{lines: [{sku, qty}], requested_date?}` → each line's `promise_date`, `basis` (stock, supply, build,
    purchase) and `constrained_by` (what holds it up, as a sentence; `constraint` as data), and `late` per line and
    in all when a requested date is given. Changes nothing."""
    today = datetime.now(UTC).date()
    if body.requested_date is not None:
        check_plan_date(body.requested_date, today, "the requested date")
    lines = [(ln.sku, ln.qty) for ln in body.lines]
    found = await platform.read(lambda s: promising.promise(s, lines, as_of=today, requested=body.requested_date))
    return ok(promising.view(found, body.requested_date))
