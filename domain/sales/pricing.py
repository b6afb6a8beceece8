"""Price review of a quotation as pure rules: what the company gives away, not only the discount field.

A quotation goes to the sales manager before it is sent when any line is discounted beyond the limit
(the discount rule), when a line's net price is under the item's standard cost (the floor that holds
with or without a pricing policy), when a line's net price is further under the item's list price than
the policy allows, or when the margin at standard cost is under the policy's minimum. Under the policy's
second, lower margin threshold the cfo approves after the sales manager.

Policies are data (one row for the company, one per item group that has its own): a group's row decides
for the lines of its items; the company's row for the rest. No I/O: workflows import this."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.core.errors import Invalid
from domain.core.money import money
from domain.core.numbers import PlainDecimal
from domain.sales.rules import DEFAULT_DISCOUNT_LIMIT, HUNDRED, QuotationLineIn, margin_of, price

GROUP_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._/-]*$"


class PricingPolicy(BaseModel):
    """How far under list a line may be priced (net of its discount), and the margins below which the sales
    manager (`min_margin_pct`) and then also the cfo (`cfo_margin_pct`) approve. None: no such limit."""

    model_config = ConfigDict(extra="forbid")

    item_group: str | None = Field(default=None, min_length=1, max_length=60, pattern=GROUP_PATTERN,
                                   description="None: the company's policy; otherwise the item group's")
    max_below_list_pct: PlainDecimal | None = Field(default=None, ge=0, le=100, decimal_places=2)
    min_margin_pct: PlainDecimal | None = Field(default=None, ge=-100, le=100, decimal_places=2)
    cfo_margin_pct: PlainDecimal | None = Field(default=None, ge=-100, le=100, decimal_places=2)

    @model_validator(mode="after")
    def _cfo_below_minimum(self) -> PricingPolicy:
        if self.cfo_margin_pct is not None:
            if self.min_margin_pct is None:
                raise ValueError("a cfo margin threshold needs a minimum margin (the sales manager's) above it")
            if self.cfo_margin_pct > self.min_margin_pct:
                raise ValueError("the cfo margin threshold must be at or below the minimum margin")
        return self


def check_policies(policies: Sequence[PricingPolicy]) -> None:
    """One policy for the company and at most one per item group."""
    seen: set[str | None] = set()
    for p in policies:
        if p.item_group in seen:
            raise Invalid("two pricing policies for " + (f"item group {p.item_group!r}" if p.item_group
                                                          else "the company"))
        seen.add(p.item_group)


class Review(BaseModel):
    """The verdict on a quotation's prices, with what its approver reads: the margin and the reasons."""

    needs_approval: bool
    needs_cfo: bool = False
    reasons: list[str] = []
    margin: Decimal  # at standard cost, on the net total
    margin_pct: Decimal | None  # None when there is no revenue


def _pct(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.1')).normalize():f}"


def quotation_review(lines: Sequence[QuotationLineIn], costs: Mapping[str, Decimal],
                     list_prices: Mapping[str, Decimal | None], groups: Mapping[str, str],
                     policies: Sequence[PricingPolicy],
                     discount_limit: Decimal = DEFAULT_DISCOUNT_LIMIT) -> Review:
    """The price review of a quotation's lines: `costs` the items' standard costs, `list_prices` their list
    prices (None or missing: no list price), `groups` their item groups ("" or missing: none)."""
    priced = price(list(lines))
    company = next((p for p in policies if p.item_group is None), None)
    by_group = {p.item_group: p for p in policies if p.item_group is not None}
    reasons: list[str] = []
    for ln in lines:
        if ln.discount_pct > discount_limit:
            reasons.append(f"line {ln.sku} discounted {_pct(ln.discount_pct)}%, over the {_pct(discount_limit)}% limit")
    # Margins are judged per policy: a group with a margin policy of its own on its lines, the company on the rest.
    scopes: dict[str | None, list[tuple[str, Decimal, Decimal]]] = {}
    for p in priced.lines:
        group = groups.get(p.sku) or None
        own = by_group.get(group) if group else None
        cost = money(p.qty * costs[p.sku])
        if p.net < cost:
            reasons.append(f"line {p.sku} priced under its standard cost ({money(p.net / p.qty)} a unit, "
                           f"cost {money(costs[p.sku])})")
        listed = list_prices.get(p.sku)
        below_list = own.max_below_list_pct if own and own.max_below_list_pct is not None else (
            company.max_below_list_pct if company else None)
        if listed and below_list is not None:
            under = (Decimal(1) - p.net / (p.qty * listed)) * HUNDRED
            if under > below_list:
                reasons.append(f"line {p.sku} {_pct(under)}% under list price (at most {_pct(below_list)}%)")
        scope = group if own is not None and own.min_margin_pct is not None else None
        scopes.setdefault(scope, []).append((p.sku, p.qty, p.net))
    needs_cfo = False
    for scope, scoped in scopes.items():
        policy = by_group[scope] if scope is not None else company
        if policy is None or policy.min_margin_pct is None:
            continue
        m = margin_of(sum((net for *_, net in scoped), Decimal(0)), [(sku, qty) for sku, qty, _ in scoped],
                      dict(costs))
        pct = m.margin / m.revenue * HUNDRED if m.revenue else None
        if pct is None and m.margin >= 0:
            continue  # nothing sold, nothing spent
        shown = f"{_pct(pct)}%" if pct is not None else f"{m.margin} on no revenue"
        where = f"margin on item group {scope}" if scope is not None else "margin"
        if pct is None or pct < policy.min_margin_pct:
            reasons.append(f"{where} {shown} under the {_pct(policy.min_margin_pct)}% minimum")
        if policy.cfo_margin_pct is not None and (pct is None or pct < policy.cfo_margin_pct):
            needs_cfo = True
            reasons.append(f"{where} {shown} under the cfo's {_pct(policy.cfo_margin_pct)}% threshold")
    total = margin_of(priced.net_total, [(p.sku, p.qty) for p in priced.lines], dict(costs))
    return Review(needs_approval=bool(reasons), needs_cfo=needs_cfo, reasons=reasons, margin=total.margin,
                  margin_pct=total.margin_pct)
