"""Units of measure (issue 15): a unit says whether it is whole (counted: ea, box) or not (measured: kg, m);
a quantity of a whole unit is an integer. Pure: the table is domain.tables, its service
domain.inventory.uoms."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from domain.core.errors import Invalid
from domain.core.money import qty_str

# code → (name, whole): what every company starts with (seeded by the demo, and read when the table lacks a code).
DEFAULT_UOMS: dict[str, tuple[str, bool]] = {
    "ea": ("each", True),
    "pcs": ("pieces", True),
    "set": ("set", True),
    "box": ("box", True),
    "kg": ("kilogram", False),
    "g": ("gram", False),
    "m": ("metre", False),
    "l": ("litre", False),
    "h": ("hour", False),
    "m2": ("square metre", False),
}


def check_quantity(qty: Decimal, uom_whole: bool, *, uom: str = "", what: str = "the quantity") -> None:
    """A quantity of a whole unit is an integer: 0.5 ea is refused; 0.5 kg is fine."""
    if uom_whole and qty != qty.to_integral_value():
        unit = f" {uom}" if uom else ""
        raise Invalid(f"{what} {qty_str(qty)}{unit} is not a whole number: {uom or 'this unit'} is counted in "
                      f"whole units")


def whole_lots(min_order_qty: Decimal, order_multiple: Decimal) -> tuple[Decimal, Decimal]:
    """An item of a whole unit's lot sizing in whole units: the minimum raised to a whole number, the multiple
    to a whole number of at least 1 (0, "any quantity", becomes 1)."""
    up = min_order_qty.to_integral_value(rounding=ROUND_CEILING)
    multiple = order_multiple.to_integral_value(rounding=ROUND_CEILING)
    return up, multiple if multiple >= 1 else Decimal(1)
