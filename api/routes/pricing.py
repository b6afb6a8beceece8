"""Pricing policies (admin): how far under list a quotation line may go, and the margins below which the sales
manager and then the cfo approve a quotation (domain/sales/pricing.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from api.auth import Principal
from api.deps import PlatformDep, require
from api.encoding import ok
from api.schemas import Body
from domain.permissions import Action
from domain.sales import pricing_policies as pricing
from domain.sales.pricing import PricingPolicy

router = APIRouter(prefix="/api", tags=["master data"])

Admin = Annotated[Principal, Depends(require(Action.PRICING_EDIT))]
Reader = Annotated[Principal, Depends(require(Action.PRICING_READ))]


class PricingPoliciesIn(Body):
    """All of them at once: the company's (item_group null, at most one) and the item groups'."""

    policies: list[PricingPolicy] = Field(max_length=500)


@router.get("/pricing-policies")
async def get_policies(user: Reader, platform: PlatformDep) -> Any:
    found = await platform.read(pricing.policies)
    return ok({"policies": [p.model_dump() for p in found]})


@router.put("/pricing-policies")
async def put_policies(body: PricingPoliciesIn, user: Admin, platform: PlatformDep) -> Any:
    await platform.write(lambda s: pricing.replace_policies(s, body.policies))
    return await get_policies(user, platform)
