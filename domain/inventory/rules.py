"""Stock rules: on-hand never negative; moving-average valuation. Pure."""

from __future__ import annotations

from decimal import Decimal

from domain.core.errors import Conflict, Invalid
from domain.core.money import MAX_VALUE, money, qty_str


def after_move(sku: str, on_hand: Decimal, stock_value: Decimal, qty: Decimal,
               unit_cost: Decimal | None, value: Decimal | None = None) -> tuple[Decimal, Decimal, Decimal]:
    """(new on_hand, new stock value, unit cost used) for a move of `qty` (+ in, - out).

    Receipts come in at their own cost (or at an exact total `value`, as finished goods do at their actual
    cost); issues go out at the current moving average. The value a move changes is rounded to the cent here and
    nowhere else (the last one out takes what is left), so the stock value is always whole cents."""
    if value is not None and qty > 0:
        if value < 0:
            raise Invalid("stock coming in needs a value of zero or more")
        unit_cost = (value / qty).quantize(Decimal("0.0001"))
    if qty == 0:
        raise Invalid("a stock move needs a quantity other than zero")
    if abs(qty) * (unit_cost or Decimal(0)) > MAX_VALUE or abs(qty) > MAX_VALUE:
        raise Invalid(f"a stock move of {qty_str(qty)} {sku} is over the limit of {MAX_VALUE}")
    new_on_hand = on_hand + qty
    if new_on_hand < 0:
        raise Conflict(f"not enough {sku} on hand: {qty_str(on_hand)} on hand, {qty_str(-qty)} asked")
    if qty > 0:
        if unit_cost is None or unit_cost < 0:
            raise Invalid("stock coming in needs a unit cost of zero or more")
        cost = unit_cost
        new_value = stock_value + (money(value) if value is not None else money(qty * cost))
    else:
        cost = (stock_value / on_hand) if on_hand else Decimal(0)
        new_value = Decimal(0) if new_on_hand == 0 else stock_value - money(-qty * cost)
    return new_on_hand, new_value, cost


def one_line_per_sku(skus: list[str], document: str) -> None:
    """A document lists each SKU once; two lines of one SKU are a typo or belong together."""
    if len(set(skus)) != len(skus):
        raise Invalid(f"each SKU may appear once per {document}; add the quantities together")
