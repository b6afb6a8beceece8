"""Accounting periods: the month-end close (finance starts it, the cfo approves it), the cfo's reopening, and the
list of months with their status and their last close's checks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal
from api.deps import PlatformDep, require
from api.encoding import ok
from api.starters import period_close
from domain.accounting.rules import parse_period
from domain.cash import close
from domain.core.types import utcnow
from domain.permissions import Action

router = APIRouter(prefix="/api/periods", tags=["periods"])
Reader = Annotated[Principal, Depends(require(Action.FINANCE_REPORT_READ))]
PeriodPath = Annotated[str, Path(max_length=20, description="YYYY-MM")]


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=2000)


@router.get("")
async def list_periods(user: Reader, platform: PlatformDep) -> Any:
    return ok(await platform.read(lambda s: close.listing(s, utcnow().date())))


@router.get("/{period}")
async def get_period(period: PeriodPath, user: Reader, platform: PlatformDep) -> Any:
    return ok(await platform.read(close.get, period))


@router.post("/{period}/close")
async def close_period(period: PeriodPath, platform: PlatformDep,
                       user: Principal = Depends(require(Action.PERIOD_CLOSE))) -> Any:
    parse_period(period)  # 422 before anything else
    started, view = await period_close.start(platform, user.username, period)
    return ok(view, 201 if started else 200)


@router.post("/{period}/reopen")
async def reopen_period(period: PeriodPath, body: ReopenIn, platform: PlatformDep,
                        user: Principal = Depends(require(Action.PERIOD_REOPEN))) -> Any:
    parse_period(period)
    return ok(await platform.write(lambda s: close.reopen(s, period, user.username, body.reason)))
