"""Request bodies. Responses are plain dicts encoded by api.encoding (decimals as strings)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.approvals.rules import PolicyTier
from domain.core.currencies import Currency
from domain.core.limits import MAX_QTY
from domain.core.money import MAX_AMOUNT, MAX_ID
from domain.core.numbers import PlainDecimal, PlainInt
from domain.expenses.rules import ExpenseLineIn
from domain.manufacturing.rules import ItemFields
from domain.purchasing.rules import ReceiptLineIn, RequisitionLineIn
from domain.sales.pricing import GROUP_PATTERN

MAX_LINES = 200


class Body(BaseModel):
    # Fields a caller may not set (status, owner, ids) are simply not part of any body: unknown
    # fields are refused, so a mass-assignment attempt gets a 422 naming the field.
    model_config = ConfigDict(extra="forbid")


class ExpenseClaimIn(Body):
    lines: list[ExpenseLineIn] = Field(min_length=1, max_length=MAX_LINES)
    trip: str | None = Field(default=None, max_length=30)  # the business trip (FR-…) whose advance it settles


class RequisitionIn(Body):
    lines: list[RequisitionLineIn] = Field(min_length=1, max_length=MAX_LINES)
    justification: str = Field(default="", max_length=2000)
    supplier_id: PlainInt | None = Field(default=None, gt=0, le=MAX_ID)


class ReceiptIn(Body):
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=MAX_LINES)


class DecisionIn(Body):
    decision: Literal["approve", "reject"]
    comment: str = Field(default="", max_length=2000)


class ReassignIn(Body):
    to: str = Field(min_length=1, max_length=60)
    delegate: bool = False


class ItemIn(Body, ItemFields):
    default_supplier_id: PlainInt | None = Field(default=None, gt=0, le=MAX_ID)
    # What quotations are reviewed against (domain/sales/pricing.py): None, no list price; "", no item group.
    list_price: PlainDecimal | None = Field(default=None, ge=0, le=MAX_AMOUNT, decimal_places=4)
    item_group: str = Field(default="", max_length=60, pattern=r"^$|" + GROUP_PATTERN)


class CustomerIn(Body):
    name: str = Field(min_length=1, max_length=200)
    credit_limit: PlainDecimal = Field(default=Decimal(0), ge=0, le=MAX_AMOUNT, decimal_places=2)
    currency: Currency = "USD"


class SupplierIn(Body):
    name: str = Field(min_length=1, max_length=200)
    currency: Currency = "USD"


class StockAdjustmentIn(Body):
    sku: str = Field(min_length=1, max_length=60)
    qty: PlainDecimal = Field(ge=-MAX_QTY, le=MAX_QTY, decimal_places=4)
    unit_cost: PlainDecimal | None = Field(default=None, ge=0, le=MAX_AMOUNT, decimal_places=4)
    reason: str = Field(min_length=1, max_length=300)


class PolicyIn(Body):
    tiers: list[PolicyTier] = Field(min_length=1, max_length=20)


class UserIn(Body):
    username: str = Field(min_length=2, max_length=60, pattern=r"^[a-z][a-z0-9_.\-]*$")
    password: str = Field(min_length=8, max_length=200)
    full_name: str = Field(default="", max_length=120)
    email: str = Field(default="", max_length=200)
    roles: list[str] = Field(min_length=1, max_length=10)
    manager: str | None = None
