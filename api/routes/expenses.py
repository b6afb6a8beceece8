"""Expense claims: submit, read (owner, approvers, finance), cancel, pay."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import waits
from api.auth import Principal
from api.deps import CurrentUser, PlatformDep, as_actor, require
from api.encoding import ok
from api.routes.common import UNTIL, Limit, Offset, Wait, status_poll
from api.schemas import ExpenseClaimIn
from api.starters import expense_claim
from domain.approvals import access
from domain.expenses import services as expenses
from domain.expenses.rules import ClaimStatus
from domain.expenses.tables import ExpenseClaim
from domain.permissions import Action

router = APIRouter(prefix="/api/expense-claims", tags=["expense claims"])


@router.post("", status_code=201)
async def submit(body: ExpenseClaimIn, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(await expense_claim.submit(platform, user.username, body.lines, body.trip), 201)


@router.get("")
async def list_claims(user: CurrentUser, platform: PlatformDep, status: str | None = None, mine: bool = False,
                      limit: Limit = 50, offset: Offset = 0) -> Any:
    def load(s: Session) -> list[dict[str, Any]]:
        q = select(ExpenseClaim)
        if mine:
            q = q.where(ExpenseClaim.requester == user.username)
        elif (visible := access.documents_visible_to(user.username, user.roles, "expense_claim",
                                                     ExpenseClaim.requester, ExpenseClaim.process_id)) is not None:
            q = q.where(visible)
        if status:
            q = q.where(ExpenseClaim.status == status)
        q = q.order_by(ExpenseClaim.id.desc()).limit(limit).offset(offset)
        return [_summary(c) for c in s.execute(q).scalars()]
    return ok(await platform.read(load))


def _summary(c: ExpenseClaim) -> dict[str, Any]:
    return {"id": c.number, "claim_id": c.number, "requester": c.requester, "status": c.status, "total": c.total,
            "currency": c.currency, "process_id": c.process_id, "created_at": c.created_at}


@router.get("/{number}")
async def get_claim(number: str, user: CurrentUser, platform: PlatformDep, wait: Wait = Decimal(0),
                    until: Annotated[ClaimStatus | None, UNTIL] = None) -> Any:
    viewer = (user.username, user.roles)
    # Waiting for a status, its status is the sign: glanced at first (columns, not the claim with its lines; a 404 at
    # once for a claim the caller may not see), then re-checked with the others' (api.waits).
    return ok(await status_poll(platform, lambda: platform.peek(expenses.visible_view, number, viewer),
                                waits.claim_status, number, until, wait,
                                lambda: platform.peek(expenses.visible_status, number, viewer)))


@router.post("/{number}/cancel")
async def cancel(number: str, user: CurrentUser, platform: PlatformDep) -> Any:
    await platform.glance(lambda s: expenses.visible_claim(s, number, (user.username, user.roles)))
    await expense_claim.cancel(platform, as_actor(user), number)
    return ok(await platform.glance(lambda s: expenses.view(s, expenses.get(s, number))))


@router.post("/{number}/pay")
async def pay(number: str, platform: PlatformDep, user: Principal = Depends(require(Action.EXPENSE_PAY))) -> Any:
    await platform.glance(lambda s: expenses.visible_claim(s, number, (user.username, user.roles)))
    await expense_claim.pay(platform, as_actor(user), number)
    return ok(await platform.glance(lambda s: expenses.view(s, expenses.get(s, number))))
