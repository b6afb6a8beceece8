"""Invoices, payments and their allocation in SQL (domain/cash/services.py), on the demo company: every effect
posts a balanced entry, and the sub-ledgers always equal their control accounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.accounting import ledger
from domain.accounting.tables import ExchangeRate, Period
from domain.cash import rules
from domain.cash import services as cash
from domain.cash.rules import Direction, InvoiceKind, InvoiceStatus
from domain.core.db import Database
from domain.core.errors import Conflict, Invalid, NotFound
from domain.parties.tables import Customer

D = Decimal


def customer_id(db: Database) -> int:
    with db.read() as s:
        return s.execute(select(Customer.id).order_by(Customer.id)).scalars().first()  # type: ignore[return-value]


def invoice(db: Database, cid: int, amount: str, issued: date, key: str, currency: str = "USD") -> str:
    with db.write() as s:
        row = cash.issue(s, kind=InvoiceKind.CUSTOMER, party_id=cid, issued_on=issued, currency=currency, key=key,
                         process_id=f"p-{key}", tax=D(0),
                         lines=[cash.LineIn(sku="FAN-200", qty=D(1), unit_price=D(amount), net=D(amount))])
        return row.number


def pay(db: Database, cid: int, amount: str, reference: str, on: date = date(2026, 11, 30), currency: str = "USD",
        allocations: list[rules.AllocationIn] | None = None) -> cash.PaymentResult:
    with db.write() as s:
        return cash.record_payment(s, cash.PaymentIn(direction=Direction.IN, party_id=cid, amount=D(amount),
                                                     currency=currency, paid_on=on, reference=reference,
                                                     allocations=allocations), by="grace")


def reconciled(db: Database) -> None:
    with db.read() as s:
        rec = cash.reconcile(s)
        tb = ledger.trial_balance(s)
    assert rec.balanced, rec.rows
    assert tb["debit_total"] == tb["credit_total"]


def test_a_payment_goes_to_the_oldest_invoice_first_and_the_rest_is_credit_used_by_the_next_invoice(db: Database):
    cid = customer_id(db)
    first = invoice(db, cid, "600", date(2026, 10, 1), "a")
    second = invoice(db, cid, "400", date(2026, 11, 1), "b")
    res = pay(db, cid, "800", "TT-1")
    assert [(a.number, a.amount) for a in res.allocations] == [(first, D("600")), (second, D("200"))]
    assert res.unallocated == 0
    with db.read() as s:
        assert cash.by_number(s, first).status == InvoiceStatus.PAID
        assert cash.by_number(s, second).outstanding == D("200")
    over = pay(db, cid, "500", "TT-2")
    assert over.unallocated == D("300")
    with db.read() as s:
        assert cash.by_number(s, second).status == InvoiceStatus.PAID
        assert cash.open_receivables(s, cid) == 0
    reconciled(db)
    third = invoice(db, cid, "1000", date(2026, 12, 1), "c")  # the 300 of credit is used at once
    with db.read() as s:
        assert cash.by_number(s, third).outstanding == D("700")
        assert cash.open_receivables(s, cid) == D("700")
    reconciled(db)


def test_the_same_reference_from_the_same_party_is_one_payment(db: Database):
    cid = customer_id(db)
    invoice(db, cid, "600", date(2026, 10, 1), "a")
    one = pay(db, cid, "100", "TT-9")
    again = pay(db, cid, "100", "TT-9")
    assert again.existing and again.payment_id == one.payment_id
    with db.read() as s:
        assert cash.open_receivables(s, cid) == D("500")
    reconciled(db)


@pytest.mark.parametrize(("amount", "alloc", "error"), [
    ("100", "150", Conflict),  # above the payment
    ("1000", "700", Conflict),  # above the invoice's outstanding
    ("0", "0", Invalid),
])
def test_bad_allocations_store_nothing(db: Database, amount: str, alloc: str, error: type[Exception]):
    cid = customer_id(db)
    number = invoice(db, cid, "600", date(2026, 10, 1), "a")
    with db.read() as s:
        inv_id = cash.by_number(s, number).id
    with pytest.raises((error, ValueError)):
        pay(db, cid, amount, "TT-X", allocations=[rules.AllocationIn(invoice_id=inv_id, amount=D(alloc))])
    with db.read() as s:
        assert cash.find_payment(s, Direction.IN, cid, "TT-X") is None
        assert cash.by_number(s, number).outstanding == D("600")


def test_an_unknown_invoice_or_party_is_not_found(db: Database):
    cid = customer_id(db)
    with pytest.raises(NotFound):
        pay(db, cid, "10", "TT-Y", allocations=[rules.AllocationIn(invoice_id=99999, amount=D(1))])
    with pytest.raises(NotFound):
        pay(db, 99999, "10", "TT-Z")


def test_a_foreign_invoice_posts_at_its_rate_and_the_payment_realises_the_difference(db: Database):
    cid = customer_id(db)
    with db.write() as s:  # SEK: the demo company has rates of its own for EUR, CNY and GBP (demo.RATES)
        s.add_all([ExchangeRate(currency="SEK", valid_from=date(2026, 10, 1), rate=D("1.10")),
                   ExchangeRate(currency="SEK", valid_from=date(2026, 11, 15), rate=D("1.05"))])
    number = invoice(db, cid, "1000", date(2026, 10, 20), "eur", currency="SEK")
    with db.read() as s:
        inv = cash.by_number(s, number)
        assert (inv.total, inv.total_base) == (D("1000"), D("1100.00"))
    pay(db, cid, "400", "EUR-1", currency="SEK")  # at 1.05: 420 received for 440 of receivable
    pay(db, cid, "600", "EUR-2", currency="SEK")
    with db.read() as s:
        inv = cash.by_number(s, number)
        assert inv.status == InvoiceStatus.PAID and inv.outstanding_base == 0
        assert ledger.balances(s)["7000"] == D("50.00")  # 1100 booked, 1050 received: a loss of 50
    reconciled(db)


def test_a_missing_rate_is_refused_naming_the_currency_and_date(db: Database):
    cid = customer_id(db)
    with pytest.raises(Invalid, match=r"NOK on or before 2026-10-20"):  # the demo has rates for EUR, CNY, GBP
        invoice(db, cid, "10", date(2026, 10, 20), "gbp", currency="NOK")


def test_a_posting_into_a_closed_period_is_refused_and_nothing_is_stored(db: Database):
    cid = customer_id(db)
    number = invoice(db, cid, "600", date(2026, 10, 1), "a")
    with db.write() as s:
        s.add(Period(period="2026-10", status="closed"))
    with pytest.raises(Conflict, match="period 2026-10 is closed"):
        pay(db, cid, "100", "TT-C", on=date(2026, 10, 31))
    with pytest.raises(Conflict, match="period 2026-10 is closed"):
        invoice(db, cid, "10", date(2026, 10, 5), "late")
    with db.read() as s:
        assert cash.find_payment(s, Direction.IN, cid, "TT-C") is None
        assert cash.by_number(s, number).outstanding == D("600")
    reconciled(db)


def test_a_write_off_clears_the_invoice_to_bad_debts(db: Database):
    cid = customer_id(db)
    number = invoice(db, cid, "600", date(2026, 10, 1), "a")
    pay(db, cid, "100", "TT-1")
    with db.write() as s:
        cash.write_off(s, number, by="heidi", reason="customer insolvent", on=date(2026, 12, 1), key="wo")
        cash.write_off(s, number, by="heidi", reason="customer insolvent", on=date(2026, 12, 1), key="wo")
    with db.read() as s:
        assert cash.by_number(s, number).status == InvoiceStatus.WRITTEN_OFF
        assert ledger.balances(s)["6800"] == D("500.00")
    reconciled(db)
