"""Quality: inspection lots (goods in quarantine until inspected), their results, nonconformance records, the
items' inspection flags and first-pass yield. Whoever holds quality.read reads them; the inspection result needs
quality.inspect (demo: the warehouse, ivan); the flags item.edit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from api import auth
from api.deps import CurrentUser, PlatformDep, as_actor, require
from api.encoding import ok
from api.starters import inspection
from domain import permissions
from domain.core.numbers import PlainInt
from domain.inventory import quarantine
from domain.quality import rules
from domain.quality import services as quality

router = APIRouter(prefix="/api", tags=["quality"])
Reader = Annotated[auth.Principal, Depends(require(permissions.Action.QUALITY_READ))]
ItemOwner = Annotated[auth.Principal, Depends(require(permissions.Action.ITEM_EDIT))]


@router.get("/inspections")
async def list_lots(user: Reader, platform: PlatformDep, status: Annotated[str | None, Query(max_length=20)] = None,
                    limit: Annotated[PlainInt, Query(ge=1, le=500)] = 100,
                    offset: Annotated[PlainInt, Query(ge=0, le=10**9)] = 0) -> Any:
    """`[{number, sku, qty, status, accepted_qty, rejected_qty, reason, source_document, ncr, ...}]`, newest first;
    `?status=open` for those waiting."""
    return ok(await platform.read(quality.lots, status, limit, offset))


@router.get("/inspections/{number}")
async def get_lot(number: str, user: Reader, platform: PlatformDep) -> Any:
    return ok(await platform.read(lambda s: quality.lot_view(s, quarantine.lot(s, number[:30]))))


@router.post("/inspections/{number}/result")
async def record_result(number: str, body: rules.InspectionIn, user: CurrentUser, platform: PlatformDep) -> Any:
    """200 with the lot and what became of it (`outcome`: ncr, returned_qty, debited_qty, debit_note). Accepted +
    rejected not the lot → 422; a rejection without a reason → 422; inspected already → 409; who may not → 403;
    nothing stored in each case."""
    outcome = await inspection.record(platform, as_actor(user), number[:30], body)
    view = await platform.read(lambda s: quality.lot_view(s, quarantine.lot(s, number)))
    return ok({**view, "outcome": outcome.model_dump(exclude={"invoices", "waiting"})})


@router.get("/nonconformances")
async def list_ncrs(user: Reader, platform: PlatformDep, limit: Annotated[PlainInt, Query(ge=1, le=500)] = 100,
                    offset: Annotated[PlainInt, Query(ge=0, le=10**9)] = 0) -> Any:
    return ok(await platform.read(quality.nonconformances, limit, offset))


@router.get("/nonconformances/{number}")
async def get_ncr(number: str, user: Reader, platform: PlatformDep) -> Any:
    return ok(await platform.read(quality.nonconformance, number[:30]))


@router.get("/quality/first-pass-yield")
async def first_pass_yield(user: Reader, platform: PlatformDep) -> Any:
    """Per item, worst first: `{sku, inspected, accepted, inspection_yield, good, scrap, production_yield}`."""
    return ok(await platform.read(quality.first_pass_yield))


@router.get("/quality/reasons")
async def reasons(user: CurrentUser) -> Any:
    """The reason codes (data): why goods are rejected at an inspection, why they are scrapped in production."""
    return ok({"rejection": rules.REASONS, "scrap": rules.SCRAP_REASONS})


class FlagsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incoming: bool
    final: bool = False


@router.put("/items/{sku}/inspection")
async def set_flags(sku: str, body: FlagsIn, user: ItemOwner, platform: PlatformDep) -> Any:
    """`{sku, inspect_incoming, inspect_final}`: whether receipts of the item wait in quarantine for an
    inspection (from suppliers; from production)."""
    def change(s: Session) -> dict[str, Any]:
        return quality.set_flags(s, sku[:60], incoming=body.incoming, final=body.final, actor=user.username)
    return ok(await platform.write(change))


@router.get("/quality/scrap-by-reason")
async def scrap_by_reason(user: Reader, platform: PlatformDep) -> Any:
    """Scrap reported on the shop floor per item and reason code, most first: `[{sku, reason, label, qty}]`."""
    return ok(await platform.read(quality.scrap_by_reason))
