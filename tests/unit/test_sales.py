"""Quotation pricing, discount approval, margin, validity and the credit check (domain/sales/rules.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.core.errors import Conflict, Invalid
from domain.sales.rules import (
    QuotationLineIn,
    check_acceptable,
    credit_check,
    margin_at_standard,
    needs_discount_approval,
    price,
    reminder_date,
    valid_until,
)

D = Decimal


def line(sku: str = "FAN-200", qty: str = "10", unit_price: str = "500", discount: str = "0") -> QuotationLineIn:
    return QuotationLineIn(sku=sku, qty=D(qty), unit_price=D(unit_price), discount_pct=D(discount))


def test_pricing_line_by_line_then_tax_on_the_net():
    p = price([line(discount="5"), line("MOTOR-200W", "3", "199.99", "12.5")], tax_rate=D("8.25"))
    fan, motor = p.lines
    assert (fan.gross, fan.discount, fan.net) == (D("5000.00"), D("250.00"), D("4750.00"))
    assert motor.gross == D("599.97") and motor.discount == D("75.00") and motor.net == D("524.97")
    assert p.subtotal == D("5599.97") and p.discount_total == D("325.00") and p.net_total == D("5274.97")
    assert p.tax == D("435.19")  # 5274.97 × 8.25 % = 435.185… rounded half up
    assert p.total == D("5710.16")


def test_cents_never_drift():
    p = price([line(qty="3", unit_price="0.10"), line("B", qty="1", unit_price="0.20")])
    assert p.total == D("0.50")


@pytest.mark.parametrize("bad", [[], [line(), line()]])
def test_empty_or_repeated_lines_are_refused(bad):
    with pytest.raises(Invalid):
        price(bad)


def test_tax_rate_out_of_range_is_refused():
    with pytest.raises(Invalid, match="tax rate"):
        price([line()], tax_rate=D("101"))


@pytest.mark.parametrize("field,value", [("qty", "0"), ("qty", "-1"), ("unit_price", "-0.01"),
                                         ("discount_pct", "100.01"), ("discount_pct", "-1"),
                                         ("discount_pct", "5.555"), ("sku", "")])
def test_bad_lines_are_refused_at_the_edge(field, value):
    data = {"sku": "FAN-200", "qty": "1", "unit_price": "1", "discount_pct": "0", field: value}
    with pytest.raises(ValidationError) as err:
        QuotationLineIn.model_validate(data)
    assert err.value.errors()[0]["loc"] == (field,)


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError):
        QuotationLineIn.model_validate({"sku": "X", "qty": 1, "unit_price": 1, "status": "accepted"})


def test_absurd_totals_are_refused():
    with pytest.raises(Invalid, match="limit"):
        price([line(qty="100000000", unit_price="1000000000")])


def test_discount_above_ten_percent_needs_the_sales_manager():
    assert not needs_discount_approval([line(discount="5")])
    assert not needs_discount_approval([line(discount="10")])  # the limit itself is fine
    assert needs_discount_approval([line(discount="5"), line("B", discount="10.01")])
    assert needs_discount_approval([line(discount="25")])
    assert not needs_discount_approval([line(discount="25")], limit=D("30"))


def test_margin_at_standard_cost():
    p = price([line(qty="10", unit_price="500", discount="25")])  # net 3750
    m = margin_at_standard(p, {"FAN-200": D("320")})
    assert (m.revenue, m.cost, m.margin, m.margin_pct) == (D("3750.00"), D("3200.00"), D("550.00"), D("14.7"))
    free = price([line(unit_price="0")])
    assert margin_at_standard(free, {"FAN-200": D("1")}).margin_pct is None
    with pytest.raises(Invalid, match="FAN-200"):
        margin_at_standard(p, {})


def test_validity_and_the_reminder_two_days_before():
    until = valid_until(date(2026, 11, 23), 14)
    assert until == date(2026, 12, 7)
    assert reminder_date(date(2026, 11, 23), until) == date(2026, 12, 5)
    assert reminder_date(date(2026, 11, 23), valid_until(date(2026, 11, 23), 2)) is None
    for days in (0, 366):
        with pytest.raises(Invalid):
            valid_until(date(2026, 11, 23), days)


def test_only_a_sent_unexpired_quotation_can_be_accepted():
    until = date(2026, 12, 7)
    check_acceptable("QT-1", "sent", until, date(2026, 12, 7))  # the last valid day
    with pytest.raises(Conflict, match="expired on 2026-12-07"):
        check_acceptable("QT-1", "sent", until, date(2026, 12, 8))
    with pytest.raises(Conflict, match="already accepted"):
        check_acceptable("QT-1", "accepted", until, date(2026, 12, 1))
    with pytest.raises(Conflict, match="pending approval"):
        check_acceptable("QT-1", "pending_approval", until, date(2026, 12, 1))
    for status in ("rejected", "expired"):
        with pytest.raises(Conflict):
            check_acceptable("QT-1", status, until, date(2026, 12, 1))


def test_credit_check_counts_receivables_open_orders_and_this_order():
    ok = credit_check(D("50000"), D("10000"), D("15000"), D("25000"))
    assert ok.exposure == D("50000") and not ok.over_limit and ok.available == D("25000")
    over = credit_check(D("50000"), D("10000"), D("15000"), D("25000.01"))
    assert over.over_limit
    beyond = credit_check(D("20000"), D("30000"), D("0"), D("1"))
    assert beyond.over_limit and beyond.available == D("0")
    with pytest.raises(Invalid, match="order value"):
        credit_check(D("1"), D("0"), D("0"), D("-1"))
