"""Stock rules: never negative, moving-average valuation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.core.errors import Conflict, Invalid
from domain.inventory.rules import after_move

D = Decimal


def test_receipts_then_issue_at_moving_average() -> None:
    on_hand, value, cost = after_move("X", D(0), D(0), D(10), D(2))
    assert (on_hand, value, cost) == (D(10), D(20), D(2))
    on_hand, value, cost = after_move("X", on_hand, value, D(10), D(4))
    assert (on_hand, value) == (D(20), D(60))
    assert value / on_hand == D(3)
    on_hand, value, cost = after_move("X", on_hand, value, D(-5), None)
    assert (on_hand, value, cost) == (D(15), D(45), D(3))


def test_issue_ignores_a_given_unit_cost() -> None:
    assert after_move("X", D(10), D(30), D(-1), D(100)) == (D(9), D(27), D(3))


def test_issuing_everything_leaves_no_value_behind() -> None:
    # 10 / 3 is not exact in cents: the last issue takes what is left, value goes to exactly 0.
    on_hand, value, _ = after_move("X", D(3), D(10), D(-1), None)
    assert (on_hand, value) == (D(2), D("6.67"))
    on_hand, value, _ = after_move("X", on_hand, value, D(-2), None)
    assert (on_hand, value) == (D(0), D(0))


def test_never_negative() -> None:
    with pytest.raises(Conflict, match="not enough MOTOR-200W on hand: 3 on hand, 4 asked"):
        after_move("MOTOR-200W", D(3), D(600), D(-4), None)
    with pytest.raises(Conflict):
        after_move("X", D(0), D(0), D("-0.0001"), None)


def test_exact_issue_of_everything_is_allowed() -> None:
    assert after_move("X", D(3), D(600), D(-3), None) == (D(0), D(0), D(200))


def test_zero_quantity_is_invalid() -> None:
    with pytest.raises(Invalid, match="other than zero"):
        after_move("X", D(5), D(5), D(0), D(1))


def test_receipt_needs_a_non_negative_cost() -> None:
    with pytest.raises(Invalid, match="unit cost"):
        after_move("X", D(0), D(0), D(1), None)
    with pytest.raises(Invalid, match="unit cost"):
        after_move("X", D(0), D(0), D(1), D("-0.01"))
    assert after_move("X", D(0), D(0), D(5), D(0)) == (D(5), D(0), D(0))


def test_receipt_value_rounds_to_cents() -> None:
    assert after_move("X", D(0), D(0), D(3), D("0.3333")) == (D(3), D("1.00"), D("0.3333"))


def test_refusal_message_reads_plain_numbers_for_database_scale() -> None:
    with pytest.raises(Conflict) as err:
        after_move("MOTOR-200W", D("30.0000"), D("6000.0000"), D("-100"), None)
    assert str(err.value) == "not enough MOTOR-200W on hand: 30 on hand, 100 asked"


def test_finished_goods_come_in_at_an_exact_value_not_a_rounded_unit_cost() -> None:
    # 3 units worth 100.00 in all: a unit cost of 33.3333 would book 99.9999.
    on_hand, value, cost = after_move("FAN-200", Decimal(0), Decimal(0), Decimal(3), None, Decimal("100.00"))
    assert (on_hand, value, cost) == (Decimal(3), Decimal("100.00"), Decimal("33.3333"))
    with pytest.raises(Invalid):
        after_move("FAN-200", Decimal(0), Decimal(0), Decimal(3), None, Decimal("-1"))
