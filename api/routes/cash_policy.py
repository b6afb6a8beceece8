"""The cash policies (admin edits, finance reads): when an overdue customer invoice raises reminders and puts the
customer on credit hold, and how close a supplier's bill must be to its order to be matched
(domain/cash/rules.CashPolicy)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field, ValidationError

from api.auth import Principal
from api.deps import PlatformDep, require
from api.encoding import ok
from api.schemas import Body
from domain.cash import rules
from domain.cash import services as cash
from domain.core.errors import Invalid
from domain.core.money import MAX_AMOUNT
from domain.core.numbers import PlainDecimal, PlainInt
from domain.permissions import Action

router = APIRouter(prefix="/api", tags=["cash"])

Admin = Annotated[Principal, Depends(require(Action.CASH_POLICY_EDIT))]
Reader = Annotated[Principal, Depends(require(Action.FINANCE_REPORT_READ))]


class DunningIn(Body):
    reminder_days: PlainInt = Field(ge=0, le=365, description="days before the due date the reminder is raised")
    levels: list[PlainInt] = Field(max_length=10, description="days past due of each dunning level, rising")
    hold_after_days: PlainInt = Field(ge=1, le=3650, description="past due by more than this: on credit hold")


class MatchIn(Body):
    price_pct: PlainDecimal = Field(ge=0, le=100, decimal_places=2, description="a line's price tolerance, %")
    amount: PlainDecimal = Field(ge=0, le=MAX_AMOUNT, decimal_places=2, description="the bill's total tolerance")


class CashPolicyIn(Body):
    dunning: DunningIn
    match: MatchIn
    write_off_threshold: PlainDecimal = Field(default=Decimal(0), ge=0, le=MAX_AMOUNT, decimal_places=2)


@router.get("/cash-policy")
async def get_policy(user: Reader, platform: PlatformDep) -> Any:
    return ok((await platform.read(cash.policy)).model_dump())


@router.put("/cash-policy")
async def put_policy(body: CashPolicyIn, user: Admin, platform: PlatformDep) -> Any:
    try:
        policy = rules.CashPolicy.model_validate(body.model_dump())
    except ValidationError as e:  # the rules' own checks (levels rising): a sentence, nothing stored
        raise Invalid("; ".join(str(err["msg"]).removeprefix("Value error, ") for err in e.errors())) from None
    saved = await platform.write(lambda s: cash.save_policy(s, policy, user.username))
    return ok(saved.model_dump())
