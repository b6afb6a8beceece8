"""The demo company's history (domain/demo.py, issue 17): settings, exchange rates, the cash policy, a customer with
invoices 95 and 45 days old (on credit hold), a receipt and a supplier's bill last month; everything posted through
the services, so the sub-ledgers equal their control accounts right after loading."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from domain import demo
from domain.accounting import ledger
from domain.accounting.tables import JournalEntry
from domain.cash import services as cash
from domain.cash.rules import InvoiceKind, InvoiceStatus
from domain.cash.tables import Invoice
from domain.core.db import Database
from domain.core.types import utcnow
from domain.org import company
from domain.parties.tables import Customer, Supplier
from domain.processes.tables import Process
from domain.sales import services as sales_svc
from domain.sales.tables import DeliveryNote, SalesOrder

D = Decimal


def test_the_books_reconcile_right_after_loading(db: Database) -> None:
    with db.read() as s:
        rec = cash.reconcile(s)
        tb = ledger.trial_balance(s)
    assert rec.balanced, rec.rows
    assert tb["debit_total"] == tb["credit_total"]


def test_settings_rates_and_the_cash_policy(db: Database) -> None:
    today = utcnow().date()
    with db.read() as s:
        settings = company.settings(s)
        assert (settings.name, settings.base_currency, settings.fiscal_year_start, settings.time_zone) == (
            "Valueloop Demo Manufacturing", "USD", 1, "Asia/Shanghai")
        for currency in ("EUR", "CNY", "GBP"):
            assert ledger.rate(s, currency, today) > 0
            assert ledger.rate(s, currency, today - timedelta(days=120)) > 0
        p = cash.policy(s)
        assert (p.dunning.reminder_days, p.dunning.levels, p.dunning.hold_after_days) == (3, [7, 14, 30], 30)
        assert (p.match.price_pct, p.match.amount) == (D(2), D(10))
        terms = dict(s.execute(select(Supplier.name, Supplier.payment_terms_days)).all())
        assert terms == demo.SUPPLIER_TERMS


def test_a_customer_with_old_open_invoices_is_on_credit_hold_and_the_others_are_not(db: Database) -> None:
    today = utcnow().date()
    with db.read() as s:
        stark = s.execute(select(Customer).where(Customer.name == demo.HISTORY_CUSTOMER[0])).scalar_one()
        invoices = list(s.execute(select(Invoice).where(Invoice.kind == InvoiceKind.CUSTOMER)
                                  .order_by(Invoice.issued_on)).scalars())
        assert [(today - i.issued_on).days for i in invoices] == [95, 45]
        assert all(i.party_id == stark.id and i.status == InvoiceStatus.OPEN for i in invoices)
        assert [i.process_id for i in invoices] == [f"invoice-{i.number}" for i in invoices]
        assert invoices[0].outstanding == invoices[0].total - demo.HISTORY_RECEIPT[1]  # part paid last month
        assert s.get(Process, invoices[0].process_id) is None  # `up --demo` starts it (invoice_collection)
        assert cash.on_credit_hold(s, stark.id, today)
        check = sales_svc.credit_position(s, stark.id, D(100))
        assert check.on_hold and check.open_receivables == sum((i.outstanding for i in invoices), D(0))
        for other, _limit in demo.CUSTOMERS:  # the tests' and the tour's customers owe nothing
            cid = s.execute(select(Customer.id).where(Customer.name == other)).scalar_one()
            assert cash.open_receivables(s, cid) == 0 and not cash.on_credit_hold(s, cid, today)
        # No order, delivery note or stock movement: the demo's numbers and stock stay as they were.
        assert s.execute(select(func.count()).select_from(SalesOrder)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(DeliveryNote)).scalar_one() == 0


def test_last_month_has_postings_and_a_supplier_bill_is_due(db: Database) -> None:
    today = utcnow().date()
    last = today.replace(day=1) - timedelta(days=1)
    with db.read() as s:
        dated = s.execute(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.posted_on >= last.replace(day=1), JournalEntry.posted_on <= last)).scalar_one()
        assert dated >= 2  # the receipt and the bill
        bill = s.execute(select(Invoice).where(Invoice.kind == InvoiceKind.SUPPLIER)).scalar_one()
    assert bill.status == InvoiceStatus.OPEN and bill.outstanding == demo.HISTORY_BILL[2]
    assert bill.issued_on.replace(day=1) == last.replace(day=1) and bill.due_on > bill.issued_on
    assert bill.supplier_ref == demo.HISTORY_BILL[0]


def test_the_history_follows_the_day_it_is_loaded_on(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path}/h.db")
    db.create_all()
    try:
        with db.write() as s:  # early in a month: the invoice 45 days old is older than last month's receipt
            demo.seed_reference(s)
            demo.load_history(s, {name: _supplier(s, name) for name in demo.SUPPLIERS}, today=date(2027, 3, 2))
        with db.read() as s:
            assert cash.reconcile(s).balanced
    finally:
        db.dispose()


def _supplier(s, name: str) -> int:
    row = Supplier(name=name, currency="USD")
    s.add(row)
    s.flush()
    return row.id


def test_a_dunning_task_says_how_late_the_invoice_is_today_and_the_amount_as_money(db: Database) -> None:
    """A level raised late (a worker down, or the demo's 95-day-old invoice at level 3) tells the days it is late
    today, not its level's threshold, and the amount as the pages write it (7,560.00, not 7560.0000)."""
    from domain.approvals.tables import Task
    from domain.cash import invoicing

    today = utcnow().date()
    with db.write() as s:
        first = s.execute(select(Invoice).where(Invoice.kind == InvoiceKind.CUSTOMER)
                          .order_by(Invoice.issued_on)).scalars().first()
        assert first is not None
        late = (today - first.due_on).days
        invoicing.raise_reminder(s, first.number, "invoice-x", 3, today, ["t-finance", "t-seller"])
        title = s.get(Task, "t-finance").title  # type: ignore[union-attr]
    assert f"is {late} days overdue" in title and late > 30, title
    assert f"{first.outstanding:,.2f} {first.currency} outstanding" in title and "," in title, title
