"""Quotations on an opportunity: create, read, and the customer's answer (accept / reject)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import CurrentUser, PlatformDep, as_actor, require_role
from api.encoding import ok
from api.schemas import Body
from domain import sales
from domain.errors import NotFound
from domain.schema import Opportunity, Quotation
from domain.services import access, approvals
from domain.services import sales as sales_svc

router = APIRouter(prefix="/api", tags=["sales"])
Seller = Annotated[Principal, Depends(require_role("sales", "sales_manager", "admin"))]


class QuotationIn(Body):
    lines: list[sales.QuotationLineIn] = Field(min_length=1, max_length=200)
    valid_days: int = Field(default=30, ge=1, le=365)
    tax_rate: Decimal = Field(default=Decimal(0), ge=0, le=100, decimal_places=2)


def _opportunity(s: Session, user: Principal, number: str) -> Opportunity:
    try:
        opp = sales_svc.opportunity(s, number)
    except NotFound:
        opp = None
    if opp is None or not (opp.owner == user.username or user.roles & {"sales_manager", "admin"}):
        raise NotFound(f"no opportunity {number}")
    return opp


def _quotation(s: Session, user: Principal, number: str) -> Quotation:
    try:
        q = sales_svc.quotation(s, number)
    except NotFound:
        q = None
    if q is None:
        raise NotFound(f"no quotation {number}")
    opp = s.get(Opportunity, q.opportunity_id)
    owner = opp.owner if opp else q.created_by
    if user.username != q.created_by and not access.may_see(s, user.username, set(user.roles), "quotation", owner,
                                                             q.process_id):
        raise NotFound(f"no quotation {number}")
    return q


@router.post("/opportunities/{number}/quotations", status_code=201)
async def create(number: str, body: QuotationIn, user: Seller, platform: PlatformDep) -> Any:
    await platform.read(lambda s: _opportunity(s, user, number))
    return ok(await platform.create_quotation(user.username, number, body.lines, body.valid_days, body.tax_rate),
              201)


@router.get("/quotations/{number}")
async def get_quotation(number: str, user: CurrentUser, platform: PlatformDep) -> Any:
    def load(s: Session) -> dict[str, Any]:
        q = _quotation(s, user, number)
        return {**sales_svc.quotation_view(s, q), "margin": sales_svc.margin(s, q).model_dump(),
                "approvals": approvals.trail(s, q.process_id)}
    return ok(await platform.read(load))


@router.post("/quotations/{number}/accept")
async def accept(number: str, user: CurrentUser, platform: PlatformDep) -> Any:
    q = await platform.read(lambda s: _quotation(s, user, number))
    answer = await platform.answer_quotation(as_actor(user), number, accept=True)
    return ok({"quotation_id": number, "status": answer.status, "sales_order_id": answer.sales_order_id,
               "process_id": q.process_id})


@router.post("/quotations/{number}/reject")
async def reject(number: str, user: CurrentUser, platform: PlatformDep) -> Any:
    await platform.read(lambda s: _quotation(s, user, number))
    answer = await platform.answer_quotation(as_actor(user), number, accept=False)
    return ok({"quotation_id": number, "status": answer.status})
