"""Pricing policies in SQL, and the price review of a quotation with the data it needs."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import permissions
from domain.approvals import services as approvals
from domain.approvals.rules import ChainStep, PolicyTier, StepSpec, resolve_chain, select_tier
from domain.core.errors import Invalid
from domain.inventory import stock
from domain.org import services as org
from domain.sales import pricing
from domain.sales.rules import QuotationLineIn
from domain.sales.tables import PricingPolicyRow

MARGIN_KIND = "quotation_discount"  # the sales manager's chain: the discount's, which the price review extends
CFO_ROLE = permissions.DEFAULT_DUTIES[permissions.Duty.PRICE_REVIEW_SECOND]


def policies(session: Session) -> list[pricing.PricingPolicy]:
    """The company's policy first, then the item groups' by name."""
    rows = session.execute(select(PricingPolicyRow)).scalars()
    found = [pricing.PricingPolicy(item_group=r.item_group, max_below_list_pct=r.max_below_list_pct,
                                   min_margin_pct=r.min_margin_pct, cfo_margin_pct=r.cfo_margin_pct) for r in rows]
    return sorted(found, key=lambda p: (p.item_group is not None, p.item_group or ""))


def replace_policies(session: Session, new: Sequence[pricing.PricingPolicy]) -> None:
    """Admin edits the pricing policies as a whole, in one transaction (an empty list: none)."""
    pricing.check_policies(new)
    for row in session.execute(select(PricingPolicyRow)).scalars():
        session.delete(row)
    session.flush()
    for p in new:
        session.add(PricingPolicyRow(item_group=p.item_group, max_below_list_pct=p.max_below_list_pct,
                                     min_margin_pct=p.min_margin_pct, cfo_margin_pct=p.cfo_margin_pct))
    session.flush()


def review(session: Session, lines: Sequence[QuotationLineIn]) -> pricing.Review:
    """The price review of the lines against the items' standard costs, list prices and groups today."""
    items = stock.items_by_sku(session, [ln.sku for ln in lines])
    return pricing.quotation_review(
        lines, {sku: i.standard_cost for sku, i in items.items()}, {sku: i.list_price for sku, i in items.items()},
        {sku: i.item_group for sku, i in items.items()}, policies(session))


def chain(session: Session, verdict: pricing.Review, amount: Decimal, requester: str) -> list[ChainStep]:
    """Who approves: the sales manager's chain (the discount policy's tier for the amount), then the cfo when the
    margin is under the second threshold. Raises Invalid when nobody but the requester could approve."""
    if not verdict.needs_approval:
        return []
    found = approvals.tiers(session, MARGIN_KIND)
    if not found:
        raise Invalid(f"no approval policy is set for {MARGIN_KIND}")
    tier = select_tier(found, amount)
    if verdict.needs_cfo and not any(s.kind == "role" and s.value == CFO_ROLE for s in tier.steps):
        tier = PolicyTier.model_construct(above=tier.above, steps=[*tier.steps, StepSpec(kind="role", value=CFO_ROLE)])
    return resolve_chain(tier, requester, org.people(session))
