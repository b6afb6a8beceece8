"""Quotations on an opportunity: create, read, and the customer's answer (accept / reject)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api import waits
from api.auth import Principal
from api.deps import CurrentUser, PlatformDep, as_actor, require
from api.encoding import ok
from api.routes.common import UNTIL, Limit, Offset, Wait, status_poll
from api.schemas import Body
from api.starters import lead_to_order, order_fulfilment, quotation
from domain.approvals import services as approvals
from domain.core.money import MAX_ID
from domain.core.numbers import PlainDecimal, PlainInt
from domain.crm import rules as crm
from domain.crm.tables import Opportunity
from domain.permissions import Action
from domain.production import services as production_svc
from domain.sales import access as sales_access
from domain.sales import pipeline
from domain.sales import rules as sales
from domain.sales import services as sales_svc
from domain.sales.tables import Quotation, SalesOrder

router = APIRouter(prefix="/api", tags=["sales"])
QuotationCreator = Annotated[Principal, Depends(require(Action.QUOTATION_CREATE))]
OrderCreator = Annotated[Principal, Depends(require(Action.SALES_ORDER_CREATE))]


class QuotationIn(Body):
    lines: list[sales.QuotationLineIn] = Field(min_length=1, max_length=200)
    valid_days: PlainInt = Field(default=30, ge=1, le=365)
    tax_rate: PlainDecimal = Field(default=Decimal(0), ge=0, le=100, decimal_places=2)
    requested_date: date | None = None  # the customer's: a line promised later goes to approval


@router.post("/opportunities/{number}/quotations", status_code=201)
async def create(number: str, body: QuotationIn, user: QuotationCreator, platform: PlatformDep) -> Any:
    await platform.glance(lambda s: sales_svc.visible_opportunity(s, number, (user.username, user.roles)))
    return ok(await quotation.create(platform, user.username, number, body.lines, body.valid_days, body.tax_rate,
                                     body.requested_date), 201)


@router.get("/quotations/{number}")
async def get_quotation(number: str, user: CurrentUser, platform: PlatformDep, wait: Wait = Decimal(0),
                        until: Annotated[sales.QuotationStatus | None, UNTIL] = None) -> Any:
    """A quotation; with `wait` and `until`, a long poll until it has that status (`sent`, `accepted`: its order is
    made, …)."""
    viewer = (user.username, user.roles)

    def load(s: Session) -> dict[str, Any]:
        q = sales_svc.visible_quotation(s, number, viewer)
        return {**sales_svc.quotation_view(s, q), "margin": sales_svc.margin(s, q).model_dump(),
                "approvals": approvals.trail(s, q.process_id)}
    return ok(await status_poll(platform, lambda: platform.glance(load), waits.quotation_status, number, until, wait,
                                lambda: platform.peek(sales_svc.visible_quotation_status, number, viewer)))


@router.post("/quotations/{number}/accept")
async def accept(number: str, user: CurrentUser, platform: PlatformDep) -> Any:
    q = await platform.glance(lambda s: sales_svc.visible_quotation(s, number, (user.username, user.roles)))
    answer = await quotation.answer(platform, as_actor(user), number, accept=True)
    return ok({"quotation_id": number, "status": answer.status, "sales_order_id": answer.sales_order_id,
               "process_id": q.process_id})


class ReasonIn(Body):
    reason: str = Field(max_length=500)


@router.post("/quotations/{number}/reject")
async def reject(number: str, body: ReasonIn, user: CurrentUser, platform: PlatformDep) -> Any:
    await platform.glance(lambda s: sales_svc.visible_quotation(s, number, (user.username, user.roles)))
    answer = await quotation.answer(platform, as_actor(user), number, accept=False, reason=body.reason)
    return ok({"quotation_id": number, "status": answer.status})


@router.get("/quotations")
async def list_quotations(user: CurrentUser, platform: PlatformDep, status: str | None = None,
                          limit: Limit = 50, offset: Offset = 0) -> Any:
    q = select(Quotation, Opportunity.number, Opportunity.owner).join(
        Opportunity, Opportunity.id == Quotation.opportunity_id)
    if not user.may(Action.OPPORTUNITY_SEE_ALL):
        q = q.where(or_(Opportunity.owner == user.username, Quotation.created_by == user.username))
    if status:
        q = q.where(Quotation.status == status)
    q = q.order_by(Quotation.id.desc()).limit(limit).offset(offset)
    return ok(await platform.read(lambda s: [
        {"id": r.number, "quotation_id": r.number, "opportunity_id": opp, "owner": owner, "customer_id": r.customer_id,
         "status": r.status, "total": r.total, "currency": r.currency, "max_discount_pct": r.max_discount_pct,
         "valid_until": r.valid_until, "sales_order_id": r.sales_order_number, "process_id": r.process_id}
        for r, opp, owner in s.execute(q).all()]))


# --- opportunities ------------------------------------------------------------------------------------

class StageIn(Body):
    stage: crm.OpenStage


@router.get("/opportunities")
async def list_opportunities(user: CurrentUser, platform: PlatformDep, stage: str | None = None,
                             limit: Limit = 50, offset: Offset = 0) -> Any:
    q = select(Opportunity)
    if not user.may(Action.OPPORTUNITY_SEE_ALL):
        q = q.where(Opportunity.owner == user.username)
    if stage:
        q = q.where(Opportunity.stage == stage)
    q = q.order_by(Opportunity.id.desc()).limit(limit).offset(offset)
    return ok(await platform.read(lambda s: [
        {"id": o.number, "opportunity_id": o.number, "customer_id": o.customer_id, "name": o.name,
         "stage": o.stage, "probability": o.probability, "amount": o.amount, "expected_value": o.expected_value,
         "owner": o.owner, "lost_reason": o.lost_reason or None, "process_id": o.process_id}
        for o in s.execute(q).scalars()]))


@router.get("/opportunities/{number}")
async def get_opportunity(number: str, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(await platform.read(lambda s: pipeline.opportunity_view(s, sales_svc.visible_opportunity(s, number, (user.username, user.roles)))))


@router.post("/opportunities/{number}/stage")
async def move_stage(number: str, body: StageIn, user: CurrentUser, platform: PlatformDep) -> Any:
    await platform.glance(lambda s: sales_svc.visible_opportunity(s, number, (user.username, user.roles)))
    stage = await lead_to_order.move_stage(platform, as_actor(user), number, body.stage)
    return ok({"opportunity_id": number, "stage": stage})


@router.post("/opportunities/{number}/lose")
async def lose(number: str, body: ReasonIn, user: CurrentUser, platform: PlatformDep) -> Any:
    await platform.glance(lambda s: sales_svc.visible_opportunity(s, number, (user.username, user.roles)))
    withdrawn = await lead_to_order.lose(platform, as_actor(user), number, body.reason)
    return ok({"opportunity_id": number, "stage": "lost", "withdrawn_quotations": withdrawn})


class SalesOrderIn(Body):
    customer_id: PlainInt = Field(gt=0, le=MAX_ID)
    lines: list[sales.OrderLineIn] = Field(min_length=1, max_length=200)
    requested_date: date | None = None


@router.post("/sales-orders", status_code=201)
async def create_order(body: SalesOrderIn, user: OrderCreator, platform: PlatformDep) -> Any:
    return ok(await order_fulfilment.create(platform, user.username, body.customer_id, body.lines, body.requested_date),
              201)


@router.get("/sales-orders")
async def list_orders(user: CurrentUser, platform: PlatformDep, status: str | None = None,
                      limit: Limit = 50, offset: Offset = 0) -> Any:
    q = select(SalesOrder)
    if (visible := sales_access.orders_visible_to(user.username, user.roles)) is not None:
        q = q.where(visible)
    if status:
        q = q.where(SalesOrder.status == status)
    q = q.order_by(SalesOrder.id.desc()).limit(limit).offset(offset)
    return ok(await platform.read(lambda s: [
        {"id": o.number, "sales_order_id": o.number, "customer_id": o.customer_id, "status": o.status,
         "total": o.total, "owner": o.owner, "process_id": o.process_id, "created_at": o.created_at}
        for o in s.execute(q).scalars()]))


@router.get("/sales-orders/{number}")
async def get_order(number: str, user: CurrentUser, platform: PlatformDep, wait: Wait = Decimal(0),
                    until: Annotated[sales.SalesOrderStatus | None, UNTIL] = None) -> Any:
    """A sales order; with `wait` and `until`, a long poll until it has that status (`in_fulfilment`, …)."""
    viewer = (user.username, user.roles)
    return ok(await status_poll(
        platform, lambda: platform.glance(lambda s: production_svc.sales_order_view(
            s, sales_svc.visible_order(s, number, viewer), viewer)),
        waits.order_status, number, until, wait,
        lambda: platform.peek(sales_svc.visible_order_status, number, viewer)))
