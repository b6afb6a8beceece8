"""Payments in (from customers) and out (to suppliers): record one with its allocation, preview where it would
go, list and read them. Finance records; finance, the cfo and admin read."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from api.auth import Principal
from api.deps import PlatformDep, require
from api.encoding import ok
from api.routes.common import Limit, Offset
from api.schemas import MAX_LINES, Body
from api.starters import payment
from domain.cash import payments
from domain.cash.rules import PaymentPlan
from domain.core.currencies import Currency
from domain.core.money import MAX_AMOUNT, MAX_ID
from domain.core.numbers import DocumentRef, PlainDecimal, PlainInt
from domain.permissions import Action

router = APIRouter(prefix="/api/payments", tags=["payments"])

class AllocationBody(Body):
    invoice_id: DocumentRef = Field(description="the invoice's number (INV-00001) or its id")
    amount: PlainDecimal = Field(gt=0, le=MAX_AMOUNT, decimal_places=2)


class PaymentBody(Body):
    direction: Literal["in", "out"]
    party_id: PlainInt = Field(ge=1, le=MAX_ID, description="the customer (in) or the supplier (out)")
    amount: PlainDecimal = Field(gt=0, le=MAX_AMOUNT, decimal_places=2)
    currency: Currency
    paid_on: date
    reference: str = Field(min_length=1, max_length=100, description="the bank's or the payer's reference: the "
                                                                     "same one from the same party is one payment")
    allocations: list[AllocationBody] | None = Field(default=None, max_length=MAX_LINES,
                                                     description="without it, the oldest open invoices first")

    def as_args(self) -> dict[str, Any]:
        return {"direction": self.direction, "party_id": self.party_id, "amount": self.amount,
                "currency": self.currency, "paid_on": self.paid_on, "reference": self.reference,
                "allocations": None if self.allocations is None else [(a.invoice_id, a.amount)
                                                                      for a in self.allocations]}


@router.post("", status_code=201)
async def record(body: PaymentBody, platform: PlatformDep,
                 user: Principal = Depends(require(Action.PAYMENT_RECORD))) -> Any:
    """201 with the payment and its allocation; the same reference from the same party again: 200 with the
    first payment."""
    result = await payment.record(platform, user.username, body.as_args())
    return ok(payments.result_view(result), 200 if result.existing else 201)


@router.post("/preview")
async def preview(body: PaymentBody, platform: PlatformDep,
                  user: Principal = Depends(require(Action.PAYMENT_RECORD))) -> Any:
    """Where the payment would go, checked as recording checks it; nothing is stored."""
    plan: PaymentPlan = await payment.preview(platform, body.as_args())
    return ok({"allocations": [{"invoice_id": a.number, "number": a.number, "amount": a.amount}
                               for a in plan.allocations], "unallocated": plan.unallocated})


@router.get("")
async def list_payments(platform: PlatformDep, user: Principal = Depends(require(Action.INVOICE_SEE_ALL)),
                        direction: Annotated[Literal["in", "out"] | None, Query()] = None,
                        party_id: Annotated[PlainInt | None, Query(ge=1, le=MAX_ID)] = None,
                        limit: Limit = 50, offset: Offset = 0) -> Any:
    return ok(await platform.read(lambda s: payments.listing(s, direction=direction, party_id=party_id, limit=limit,
                                                             offset=offset)))


@router.get("/open-invoices")
async def open_invoices(platform: PlatformDep, direction: Annotated[Literal["in", "out"], Query()],
                        party_id: Annotated[PlainInt, Query(ge=1, le=MAX_ID)],
                        user: Principal = Depends(require(Action.PAYMENT_RECORD))) -> Any:
    """The party's open invoices, oldest first: what a payment can be allocated to (the preview page's list)."""
    return ok(await platform.read(lambda s: payments.open_for_party(s, direction, party_id)))


@router.get("/{number}")
async def get_payment(number: Annotated[str, Path(max_length=30)], platform: PlatformDep,
                      user: Principal = Depends(require(Action.INVOICE_SEE_ALL))) -> Any:
    return ok(await platform.read(payments.view, number))
