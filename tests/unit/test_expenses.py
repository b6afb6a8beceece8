"""Expense claims: line validation, exact totals, and their journal entries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.accounting import rules as accounting
from domain.core.errors import Invalid
from domain.expenses.rules import (
    CATEGORY_ACCOUNTS,
    ClaimDraft,
    ExpenseLineIn,
    accrual_entry,
    payment_entry,
    total_of,
)

DAY = date(2026, 11, 2)


def line(amount: str, category: str = "travel", currency: str = "USD") -> ExpenseLineIn:
    return ExpenseLineIn(category=category, amount=Decimal(amount), currency=currency, date=DAY)  # type: ignore[arg-type]


def claim(*lines: ExpenseLineIn, number: str = "EC-00001") -> ClaimDraft:
    total, currency = total_of(list(lines))
    return ClaimDraft(number=number, requester="erin", currency=currency, total=total, lines=list(lines))


def by_account(draft: accounting.JournalDraft) -> dict[str, tuple[Decimal, Decimal]]:
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for p in draft.postings:
        assert p.account not in out, "one posting per account"
        out[p.account] = (p.debit, p.credit)
    return out


# --- total_of ----------------------------------------------------------------------------------------


def test_total_is_exact_decimal() -> None:
    total, currency = total_of([line("0.10"), line("0.20")])
    assert total == Decimal("0.30")
    assert str(total) == "0.30"
    assert currency == "USD"


def test_total_of_many_cents_is_exact() -> None:
    total, _ = total_of([line("0.01")] * 300)
    assert total == Decimal("3.00")


def test_total_keeps_the_currency() -> None:
    assert total_of([line("5", currency="EUR"), line("7.5", currency="EUR")]) == (Decimal("12.50"), "EUR")


def test_mixed_currencies_are_invalid() -> None:
    with pytest.raises(Invalid, match="one currency, got EUR, USD"):
        total_of([line("1", currency="USD"), line("1", currency="EUR")])


def test_empty_claim_is_invalid() -> None:
    with pytest.raises(Invalid, match="at least one line"):
        total_of([])


# --- ExpenseLineIn ------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["0", "0.00", "-0.01", "-5", "1000000000.01", "2e9", "1.234", "0.001"])
def test_line_refuses_bad_amounts(amount: str) -> None:
    with pytest.raises(ValidationError) as err:
        line(amount)
    assert err.value.errors()[0]["loc"] == ("amount",)


@pytest.mark.parametrize("amount", ["0.01", "1", "12.5", "1000000000"])
def test_line_accepts_good_amounts(amount: str) -> None:
    assert line(amount).amount == Decimal(amount)


@pytest.mark.parametrize("currency", ["usd", "US", "USDD", "12A", ""])
def test_line_refuses_bad_currency(currency: str) -> None:
    with pytest.raises(ValidationError) as err:
        line("1", currency=currency)
    assert err.value.errors()[0]["loc"] == ("currency",)


def test_line_refuses_unknown_category_and_long_description() -> None:
    with pytest.raises(ValidationError):
        line("1", category="yacht")
    with pytest.raises(ValidationError):
        ExpenseLineIn(category="travel", amount=Decimal(1), date=DAY, description="x" * 501)


def test_every_category_has_an_account_in_the_chart() -> None:
    chart = {code for code, _name, _type in accounting.CHART}
    assert set(CATEGORY_ACCOUNTS.values()) <= chart


# --- journal entries -----------------------------------------------------------------------------


def test_accrual_debits_each_category_account_and_credits_employee_payable() -> None:
    c = claim(line("100.10", "travel"), line("20.05", "transport"), line("35.00", "meals"),
              line("210.00", "lodging"), line("0.01", "other"))
    draft = accrual_entry(c)
    assert by_account(draft) == {
        "6100": (Decimal("120.15"), Decimal(0)),  # travel + transport share one account
        "6200": (Decimal("35.00"), Decimal(0)),
        "6300": (Decimal("210.00"), Decimal(0)),
        "6900": (Decimal("0.01"), Decimal(0)),
        accounting.EMPLOYEE_PAYABLE: (Decimal(0), Decimal("365.16")),
    }
    assert accounting.EMPLOYEE_PAYABLE == "2200"
    assert sum(p.debit for p in draft.postings) == sum(p.credit for p in draft.postings) == c.total
    assert "EC-00001" in draft.memo


def test_accrual_refuses_a_total_that_does_not_match_the_lines() -> None:
    c = claim(line("10.00"))
    tampered = c.model_copy(update={"total": Decimal("11.00")})
    with pytest.raises(Invalid, match="does not balance"):
        accrual_entry(tampered)


def test_payment_moves_employee_payable_to_bank() -> None:
    draft = payment_entry("EC-00007", Decimal("365.16"))
    assert by_account(draft) == {
        accounting.EMPLOYEE_PAYABLE: (Decimal("365.16"), Decimal(0)),
        accounting.BANK: (Decimal(0), Decimal("365.16")),
    }
    assert "EC-00007" in draft.memo
