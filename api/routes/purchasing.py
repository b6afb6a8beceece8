"""Purchase requisitions and purchase orders: submit, read, cancel, receive goods."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from api import waits
from api.auth import Principal
from api.deps import CurrentUser, PlatformDep, as_actor
from api.encoding import ok
from api.routes.common import UNTIL, Limit, Offset, Wait, status_poll
from api.schemas import ReceiptIn, RequisitionIn
from api.starters import purchase
from domain.approvals import access
from domain.cash import bills
from domain.core.errors import NotFound
from domain.purchasing import access as purchase_access
from domain.purchasing import services as purchasing
from domain.purchasing.rules import RequisitionStatus
from domain.purchasing.tables import PurchaseOrder, PurchaseRequisition

requisitions = APIRouter(prefix="/api/purchase-requisitions", tags=["purchasing"])
orders = APIRouter(prefix="/api/purchase-orders", tags=["purchasing"])


@requisitions.post("", status_code=201)
async def submit(body: RequisitionIn, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(await purchase.submit(platform, user.username, body.lines, body.justification, body.supplier_id), 201)


def _visible_req(s: Session, user: Principal, number: str) -> PurchaseRequisition:
    try:
        req = purchasing.requisition(s, number)
    except NotFound:
        req = None
    _must_see_req(s, user, number, req)
    assert req is not None
    return req


_REQ_STATUS = (select(PurchaseRequisition.status, PurchaseRequisition.requester, PurchaseRequisition.process_id)
               .where(PurchaseRequisition.number == bindparam("number")))


def _visible_req_status(c: Connection, user: Principal, number: str) -> str:
    """The status of the requisition `user` may see (_visible_req's rule), in one statement: a long poll's sign."""
    row = c.execute(_REQ_STATUS, {"number": number}).first()
    _must_see_req(c, user, number, row)
    return str(row.status)  # type: ignore[union-attr]  # _must_see_req raised if it was None


def _must_see_req(read: Session | Connection, user: Principal, number: str, req: Any) -> None:
    """NotFound unless the requisition (or a row with its requester and process) exists and `user` may see it."""
    if req is None or not access.may_see(read, user.username, set(user.roles), "purchase", req.requester,
                                         req.process_id):
        raise NotFound(f"no purchase requisition {number}")


@requisitions.get("")
async def list_requisitions(user: CurrentUser, platform: PlatformDep, status: str | None = None,
                            limit: Limit = 50, offset: Offset = 0) -> Any:
    def load(s: Session) -> list[dict[str, Any]]:
        q = select(PurchaseRequisition)
        if (visible := purchase_access.purchases_visible_to(user.username, user.roles)) is not None:
            q = q.where(visible)
        if status:
            q = q.where(PurchaseRequisition.status == status)
        q = q.order_by(PurchaseRequisition.id.desc()).limit(limit).offset(offset)
        return [{"id": r.number, "requisition_id": r.number, "requester": r.requester, "status": r.status,
                 "total": r.total, "process_id": r.process_id, "created_at": r.created_at}
                for r in s.execute(q).scalars()]
    return ok(await platform.read(load))


@requisitions.get("/{number}")
async def get_requisition(number: str, user: CurrentUser, platform: PlatformDep, wait: Wait = Decimal(0),
                          until: Annotated[RequisitionStatus | None, UNTIL] = None) -> Any:
    """A requisition; with `wait` and `until`, a long poll until it has that status (`ordered`, `received`, …),
    its status the sign (glanced at first: a 404 at once for a requisition the caller may not see)."""
    return ok(await status_poll(
        platform, lambda: platform.glance(lambda s: purchasing.requisition_view(s, _visible_req(s, user, number))),
        waits.requisition_status, number, until, wait,
        lambda: platform.peek(_visible_req_status, user, number)))


@requisitions.post("/{number}/cancel")
async def cancel(number: str, user: CurrentUser, platform: PlatformDep) -> Any:
    await platform.glance(lambda s: _visible_req(s, user, number))
    await purchase.cancel(platform, as_actor(user), number)
    return ok(await platform.glance(lambda s: purchasing.requisition_view(s, purchasing.requisition(s, number))))


def _visible_po(s: Session, user: Principal, number: str) -> PurchaseOrder:
    try:
        po = purchasing.order(s, number)
    except NotFound:
        po = None
    if po is None:
        raise NotFound(f"no purchase order {number}")
    req = purchasing.requisition(s, po.requisition_number)
    if not access.may_see(s, user.username, set(user.roles), "purchase", req.requester, po.process_id):
        raise NotFound(f"no purchase order {number}")
    return po


@orders.get("")
async def list_orders(user: CurrentUser, platform: PlatformDep, status: str | None = None,
                      limit: Limit = 50, offset: Offset = 0) -> Any:
    def load(s: Session) -> list[dict[str, Any]]:
        q = select(PurchaseOrder)
        if (visible := purchase_access.purchases_visible_to(user.username, user.roles)) is not None:
            # an order is seen by whoever sees its requisition (they share their process)
            q = q.where(PurchaseOrder.requisition_number.in_(select(PurchaseRequisition.number).where(visible)))
        if status:
            q = q.where(PurchaseOrder.status == status)
        q = q.order_by(PurchaseOrder.id.desc()).limit(limit).offset(offset)
        return [{"id": p.number, "purchase_order_id": p.number, "status": p.status, "supplier_id": p.supplier_id,
                 "total": p.total, "expected_date": p.expected_date, "requisition_id": p.requisition_number,
                 "process_id": p.process_id} for p in s.execute(q).scalars()]
    return ok(await platform.read(load))


@orders.get("/{number}")
async def get_order(number: str, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(await platform.read(lambda s: bills.with_bills(s, purchasing.order_view(s, _visible_po(s, user, number)))))


@orders.post("/{number}/receipts", status_code=201)
async def receive(number: str, body: ReceiptIn, user: CurrentUser, platform: PlatformDep) -> Any:
    await platform.glance(lambda s: _visible_po(s, user, number))
    await purchase.receive(platform, as_actor(user), number, body.lines)
    return ok(await platform.glance(lambda s: purchasing.order_view(s, purchasing.order(s, number))), 201)
