"""Double entry: a journal draft exists only balanced, with non-negative amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.accounting import rules as accounting
from domain.accounting.rules import JournalDraft, Posting, entry, sum_by
from domain.core.errors import Invalid


def test_balanced_entry() -> None:
    draft = entry("x", {"6100": Decimal("10.00"), "6200": Decimal("5.50")}, {"2200": Decimal("15.50")})
    assert [(p.account, p.debit, p.credit) for p in draft.postings] == [
        ("6100", Decimal("10.00"), Decimal(0)),
        ("6200", Decimal("5.50"), Decimal(0)),
        ("2200", Decimal(0), Decimal("15.50")),
    ]


def test_zero_amounts_are_dropped() -> None:
    draft = entry("x", {"1000": Decimal(5), "1200": Decimal(0)}, {"3000": Decimal(5)})
    assert [p.account for p in draft.postings] == ["1000", "3000"]


def test_unbalanced_entry_is_invalid() -> None:
    with pytest.raises(Invalid, match=r"does not balance: debit 10.00 != credit 9.99"):
        entry("x", {"1000": Decimal("10.00")}, {"3000": Decimal("9.99")})


def test_one_sided_entry_is_invalid() -> None:
    with pytest.raises(Invalid, match="does not balance"):
        entry("x", {"1000": Decimal(1)}, {})


def test_negative_amounts_are_invalid_even_when_balanced() -> None:
    with pytest.raises(Invalid, match="never negative"):
        entry("x", {"1000": Decimal(-5), "1200": Decimal(10)}, {"3000": Decimal(5)})
    with pytest.raises(Invalid, match="never negative"):
        entry("x", {"1000": Decimal(-5)}, {"3000": Decimal(-5)})


def test_all_zero_entry_is_invalid() -> None:
    with pytest.raises(Invalid, match="at least one line"):
        entry("x", {"1000": Decimal(0)}, {"3000": Decimal(0)})


def test_journal_draft_needs_lines() -> None:
    with pytest.raises(ValidationError, match="at least one line"):
        JournalDraft(memo="x", postings=[])


def test_journal_draft_checks_balance_directly() -> None:
    with pytest.raises(ValidationError, match="does not balance"):
        JournalDraft(memo="x", postings=[Posting(account="1000", debit=Decimal(1))])
    ok = JournalDraft(memo="x", postings=[Posting(account="1000", debit=Decimal(1)),
                                         Posting(account="3000", credit=Decimal("1.00"))])
    assert len(ok.postings) == 2


def test_sum_by_adds_per_key() -> None:
    assert sum_by([("a", Decimal("0.10")), ("b", Decimal(1)), ("a", Decimal("0.20"))]) == {
        "a": Decimal("0.30"), "b": Decimal(1)}
    assert sum_by([]) == {}


def test_chart_codes_are_unique_and_named_accounts_exist() -> None:
    codes = [c for c, _n, _t in accounting.CHART]
    assert len(codes) == len(set(codes))
    for code in (accounting.BANK, accounting.INVENTORY, accounting.GRNI, accounting.EMPLOYEE_PAYABLE,
                 accounting.OPENING_EQUITY, accounting.STOCK_ADJUSTMENTS):
        assert code in codes
