"""Quotations on an opportunity: create, read, and the customer's answer (accept / reject)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import CurrentUser, PlatformDep, as_actor, require_role
from api.encoding import ok
from api.routes.common import Limit, Offset
from api.schemas import Body
from domain import sales
from domain.errors import NotFound
from domain.money import MAX_ID
from domain.schema import Opportunity, Quotation, SalesOrder
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


SEES_ALL_ORDERS = {"sales_manager", "admin", "cfo", "finance", "planner", "warehouse"}


def _order(s: Session, user: Principal, number: str) -> SalesOrder:
    try:
        row = sales_svc.order(s, number)
    except NotFound:
        row = None
    if row is None or not (row.owner == user.username or user.roles & SEES_ALL_ORDERS):
        raise NotFound(f"no sales order {number}")
    return row


class SalesOrderIn(Body):
    customer_id: int = Field(gt=0, le=MAX_ID)
    lines: list[sales.OrderLineIn] = Field(min_length=1, max_length=200)
    requested_date: date | None = None


@router.post("/sales-orders", status_code=201)
async def create_order(body: SalesOrderIn, user: Seller, platform: PlatformDep) -> Any:
    return ok(await platform.create_sales_order(user.username, body.customer_id, body.lines, body.requested_date),
              201)


@router.get("/sales-orders")
async def list_orders(user: CurrentUser, platform: PlatformDep, status: str | None = None,
                      limit: Limit = 50, offset: Offset = 0) -> Any:
    q = select(SalesOrder)
    if not user.roles & SEES_ALL_ORDERS:
        q = q.where(SalesOrder.owner == user.username)
    if status:
        q = q.where(SalesOrder.status == status)
    q = q.order_by(SalesOrder.id.desc()).limit(limit).offset(offset)
    return ok(await platform.read(lambda s: [
        {"id": o.number, "sales_order_id": o.number, "customer_id": o.customer_id, "status": o.status,
         "total": o.total, "owner": o.owner, "process_id": o.process_id, "created_at": o.created_at}
        for o in s.execute(q).scalars()]))


@router.get("/sales-orders/{number}")
async def get_order(number: str, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(await platform.read(lambda s: sales_svc.order_view(s, _order(s, user, number))))
