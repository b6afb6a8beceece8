"""Decimal helpers: money and quantities are Decimal end to end, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000000")  # a single line above a billion is a typo, not a claim
MAX_VALUE = Decimal("100000000000")  # no document or stock move is worth more than 100 billion
MAX_ID = 2**31 - 1


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def qty_str(value: Decimal) -> str:
    """A quantity for a sentence: 30.0000 → "30", 2.5000 → "2.5" (never "3E+1")."""
    return format(Decimal(value).normalize(), "f")
