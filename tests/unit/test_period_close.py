"""Month-end close: its rules (pure), its checks over the demo company (domain/cash/close.py,
domain/sales/month_end.py), the period's row through a close, and the lock every posting path meets."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.accounting.tables import JournalEntry, Period
from domain.cash import close
from domain.cash import services as cash
from domain.cash.close_rules import (
    CloseEnd,
    CloseReport,
    check_may_close,
    check_may_reopen,
    check_reason,
)
from domain.cash.rules import Direction, InvoiceKind, InvoiceStatus, PaymentIn
from domain.cash.tables import Payment
from domain.core import records as common
from domain.core.db import Database
from domain.core.errors import Conflict, Invalid
from domain.core.types import utcnow
from domain.inventory import stock
from domain.inventory.tables import StockLedgerEntry
from domain.parties import master
from domain.parties.tables import Customer, Supplier
from domain.processes.tables import Process
from domain.purchasing import rules as purchasing
from domain.purchasing import services as purchasing_svc
from domain.sales import month_end
from domain.sales.tables import DeliveryNote

D = Decimal
PERIOD = "2026-10"
TODAY = date(2026, 12, 15)


# --- rules -----------------------------------------------------------------------------------------------

def test_a_month_that_has_not_ended_or_is_closed_may_not_be_closed():
    check_may_close("2026-11", None, TODAY)
    check_may_close("2026-11", "open", date(2026, 11, 30))  # its last day: it has ended
    with pytest.raises(Conflict, match="has not ended yet"):
        check_may_close("2026-12", None, TODAY)
    with pytest.raises(Conflict, match="already closed"):
        check_may_close("2026-11", "closed", TODAY)
    with pytest.raises(Invalid, match="YYYY-MM"):
        check_may_close("2026-13", None, TODAY)
    with pytest.raises(Invalid, match="YYYY-MM"):
        check_may_close("26-11", None, TODAY)


def test_reopening_needs_a_closed_period_and_a_reason():
    assert check_reason("  a late supplier bill  ") == "a late supplier bill"
    with pytest.raises(Invalid, match="reason"):
        check_reason("   ")
    check_may_reopen("2026-11", "closed")
    with pytest.raises(Conflict, match="only a closed period"):
        check_may_reopen("2026-11", None)
    with pytest.raises(Conflict, match="only a closed period"):
        check_may_reopen("2026-11", "closing")


def test_the_periods_listed_are_the_last_months_and_say_which_may_be_closed(db: Database):
    with db.read() as s:
        rows = close.listing(s, TODAY, months=3)
    assert [r["period"] for r in rows] == ["2026-12", "2026-11", "2026-10"]
    assert [r["may_close"] for r in rows] == [False, True, True]
    assert all(r["status"] == "open" for r in rows)


# --- the checks ----------------------------------------------------------------------------------------------

def checks(db: Database, period: str = PERIOD) -> CloseReport:
    with db.read() as s:
        return month_end.checks(s, period)


def by_key(report: CloseReport) -> dict[str, bool]:
    return {c.key: c.passed for c in report.checks}


def test_on_the_demo_company_every_check_passes(db: Database):
    report = checks(db)
    assert report.passed, report.failed
    assert list(by_key(report)) == ["unposted", "subledger:1100", "subledger:2000", "subledger:2400",
                                    "subledger:1400", "subledger:1200", "subledger:2100", "trial_balance"]
    # the sub-ledgers are compared as the books stand when the checks run (a past month's close says so)
    today = utcnow().date().isoformat()
    assert all(f"balances on {today}" in c.detail for c in report.checks if c.key.startswith("subledger:"))


def supplier_id(db: Database) -> int:
    with db.read() as s:
        return s.execute(select(Supplier.id).order_by(Supplier.id)).scalars().first()  # type: ignore[return-value]


def customer_id(db: Database) -> int:
    with db.read() as s:
        return s.execute(select(Customer.id).order_by(Customer.id)).scalars().first()  # type: ignore[return-value]


def test_a_bill_awaiting_approval_dated_in_the_period_fails_the_unposted_check(db: Database):
    with db.write() as s:
        bill = cash.issue(s, kind=InvoiceKind.SUPPLIER, party_id=supplier_id(db), issued_on=date(2026, 10, 20),
                          currency="USD", key="bill-1", process_id="p-bill-1", tax=D(0),
                          status=InvoiceStatus.PENDING_APPROVAL,
                          lines=[cash.LineIn(sku="MOTOR-200W", qty=D(2), unit_price=D(50), net=D(100))])
    report = checks(db)
    assert by_key(report)["unposted"] is False
    assert by_key(report)["subledger:2000"] is True  # unposted: in neither side yet
    unposted = report.checks[0]
    assert [(u.number, u.kind, u.on) for u in unposted.items] == [
        (bill.number, "supplier bill awaiting approval", date(2026, 10, 20))]
    assert checks(db, "2026-09").passed  # dated in October: September's close does not see it


def test_a_delivery_not_yet_invoiced_in_the_period_fails_the_unposted_check(db: Database):
    with db.write() as s:
        s.add(DeliveryNote(number="DN-00001", sales_order_number="SO-00001", delivered_by="ivan",
                           delivered_on=date(2026, 10, 5), revenue=D(500), idempotency_key="dn-1"))
    report = checks(db)
    assert [(u.number, u.kind) for u in report.checks[0].items] == [("DN-00001", "delivery not yet invoiced")]
    with db.write() as s:
        s.execute(select(DeliveryNote)).scalar_one().invoice_number = "INV-00001"
    assert checks(db).passed


def received_order(db: Database, qty: str, price: str) -> tuple[int, str]:
    with db.write() as s:
        sup = s.execute(select(Supplier).where(Supplier.name == "Volt Motors")).scalar_one()
        number = common.next_number(s, "PR")
        draft = purchasing.RequisitionDraft(
            number=number, requester="dave", supplier_id=sup.id, justification="", total=D(qty) * D(price),
            lines=[purchasing.RequisitionLineIn(sku="MOTOR-200W", qty=D(qty), est_unit_price=D(price))])
        purchasing_svc.record_requisition(s, draft, f"p-{number}")
        po = purchasing_svc.create_order(s, number, buyer="dave", today=date(2026, 10, 1), key=f"po-{number}")
        purchasing_svc.receive(s, po.number, [purchasing.ReceiptLineIn(sku="MOTOR-200W", qty=D(qty))], actor="ivan",
                               key=f"gr-{number}")
        return sup.id, po.number


def grni_row(db: Database) -> dict[str, object]:
    with db.read() as s:
        return next(r for r in cash.reconcile(s).rows if r["account"] == accounting.GRNI)


def test_goods_received_not_invoiced_is_what_purchase_orders_received_and_their_posted_bills_did_not_bill(
        db: Database):
    sup, po = received_order(db, "10", "20.50")
    assert grni_row(db)["subledger"] == grni_row(db)["control"] == D("205.00")
    with db.write() as s:  # a bill for 4 of the 10, posted: GRNI is cleared of 4 × the order's price
        cash.issue(s, kind=InvoiceKind.SUPPLIER, party_id=sup, issued_on=date(2026, 10, 20), currency="USD",
                   key="bill-a", process_id="p-a", tax=D(0), purchase_order_number=po,
                   other_side={accounting.GRNI: D("82.00")},
                   lines=[cash.LineIn(sku="MOTOR-200W", qty=D(4), unit_price=D("20.50"), net=D("82.00"))])
        # one for 6 more awaiting approval: posted nothing, billed nothing yet
        cash.issue(s, kind=InvoiceKind.SUPPLIER, party_id=sup, issued_on=date(2026, 10, 21), currency="USD",
                   key="bill-b", process_id="p-b", tax=D(0), purchase_order_number=po,
                   status=InvoiceStatus.PENDING_APPROVAL,
                   lines=[cash.LineIn(sku="MOTOR-200W", qty=D(6), unit_price=D("21"), net=D("126.00"))])
    row = grni_row(db)
    assert row["subledger"] == row["control"] == D("123.00") and row["difference"] == 0
    with db.read() as s:
        assert cash.received_not_billed_by_order(s) == {po: D("123.00")}
    report = checks(db)
    assert by_key(report)["subledger:2100"] and not by_key(report)["unposted"]


def test_a_posting_that_skips_a_sub_ledger_fails_its_check_but_not_the_trial_balance(db: Database):
    with db.write() as s:  # revenue straight to receivables with no invoice behind it
        ledger.post(s, accounting.entry("stray", {accounting.RECEIVABLES: D(70)}, {accounting.REVENUE: D(70)}),
                    "manual", "X-1", "stray-1", on=date(2026, 10, 3))
    report = checks(db)
    assert by_key(report)["subledger:1100"] is False and by_key(report)["trial_balance"] is True
    bad = next(c for c in report.checks if c.key == "subledger:1100")
    assert bad.difference == D(70) and bad.control == bad.subledger + D(70)  # type: ignore[operator]


# --- the period through a close, and the lock ----------------------------------------------------------------

def test_a_close_records_its_checks_then_closes_and_every_posting_dated_in_it_is_refused(db: Database):
    pid = "period-close-2026-10"
    with db.write() as s:
        close.begin(s, PERIOD, pid, "grace", month_end.checks(s, PERIOD), TODAY)
    with db.read() as s:
        row = s.get(Period, PERIOD)
        assert row is not None and row.status == "closing" and row.process_id == pid
        assert CloseReport.model_validate(row.checks).passed
        assert s.get(Process, pid).stage == "checks"  # type: ignore[union-attr]
        cash.reconcile(s)
    with db.write() as s:
        assert close.finish(s, PERIOD, pid, "heidi", month_end.checks(s, PERIOD)) == CloseEnd.CLOSED
        assert close.finish(s, PERIOD, pid, "heidi", month_end.checks(s, PERIOD)) == CloseEnd.CLOSED  # a retry
    with db.read() as s:
        row = s.get(Period, PERIOD)
        assert row is not None and row.status == "closed" and row.closed_by == "heidi"
        assert isinstance(row.closed_at, datetime)
        assert s.get(Process, pid).status == "completed"  # type: ignore[union-attr]
        entries = s.execute(select(func.count()).select_from(JournalEntry)).scalar_one()
        payments = s.execute(select(func.count()).select_from(Payment)).scalar_one()
    cid = customer_id(db)
    with pytest.raises(Conflict, match="period 2026-10 is closed"), db.write() as s:
        cash.record_payment(s, PaymentIn(direction=Direction.IN, party_id=cid, amount=D(100), currency="USD",
                                              paid_on=date(2026, 10, 31), reference="TT-late"), by="grace")
    with pytest.raises(Conflict, match="closed"), db.write() as s:
        cash.issue(s, kind=InvoiceKind.CUSTOMER, party_id=cid, issued_on=date(2026, 10, 2), currency="USD",
                   key="late-inv", process_id="p-late", tax=D(0),
                   lines=[cash.LineIn(sku="FAN-200", qty=D(1), unit_price=D(10), net=D(10))])
    with pytest.raises(Conflict, match="closed"), db.write() as s:
        ledger.post(s, accounting.entry("adjust", {accounting.INVENTORY: D(5)}, {accounting.STOCK_ADJUSTMENTS: D(5)}),
                    "stock_adjustment", "ADJ", "adj-late", on=date(2026, 10, 15))
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == entries
        assert s.execute(select(func.count()).select_from(Payment)).scalar_one() == payments
    with db.write() as s:  # the day after the period: open
        cash.record_payment(s, PaymentIn(direction=Direction.IN, party_id=cid, amount=D(100), currency="USD",
                                              paid_on=date(2026, 11, 1), reference="TT-nov"), by="grace")
    with pytest.raises(Conflict, match="already closed"), db.write() as s:
        close.begin(s, PERIOD, pid, "grace", month_end.checks(s, PERIOD), TODAY)

    with pytest.raises(Invalid, match="reason"), db.write() as s:
        close.reopen(s, PERIOD, "heidi", " ")
    with db.write() as s:
        view = close.reopen(s, PERIOD, "heidi", "a supplier bill of October came late")
    assert view["status"] == "open" and view["reopened_by"] == "heidi"
    with db.write() as s:
        cash.record_payment(s, PaymentIn(direction=Direction.IN, party_id=cid, amount=D(100), currency="USD",
                                              paid_on=date(2026, 10, 31), reference="TT-late"), by="grace")
    with pytest.raises(Conflict, match="only a closed period"), db.write() as s:
        close.reopen(s, PERIOD, "heidi", "again")


def test_checks_that_fail_leave_the_period_open_and_a_run_again_restarts_the_process_row(db: Database):
    pid = "period-close-2026-10"
    with db.write() as s:
        ledger.post(s, accounting.entry("stray", {accounting.RECEIVABLES: D(70)}, {accounting.REVENUE: D(70)}),
                    "manual", "X-1", "stray-1", on=date(2026, 10, 3))
        close.begin(s, PERIOD, pid, "grace", month_end.checks(s, PERIOD), TODAY)
    with db.read() as s:
        row = s.get(Period, PERIOD)
        assert row is not None and row.status == "open" and not CloseReport.model_validate(row.checks).passed
        proc = s.get(Process, pid)
        assert proc is not None and (proc.status, proc.stage) == ("completed", "checks_failed")
    with db.write() as s:  # fixed, and run again under the same process id
        ledger.post(s, accounting.entry("reversal", {accounting.REVENUE: D(70)}, {accounting.RECEIVABLES: D(70)}),
                    "manual", "X-1", "stray-1-reversal", on=date(2026, 10, 3))
        close.begin(s, PERIOD, pid, "grace", month_end.checks(s, PERIOD), TODAY)
    with db.read() as s:
        proc = s.get(Process, pid)
        assert proc is not None and (proc.status, proc.stage) == ("running", "checks")
        assert [(st.name, st.detail) for st in proc.steps] == [("checks", "all 8 checks passed")]
    with db.write() as s:
        close.rejected(s, PERIOD, pid, "heidi", "not yet")
    with db.read() as s:
        assert close.status_of(s, PERIOD) == "open"
        assert s.get(Process, pid).stage == "rejected"  # type: ignore[union-attr]


def test_a_check_that_fails_at_the_approval_leaves_the_period_open(db: Database):
    pid = "period-close-2026-10"
    with db.write() as s:
        close.begin(s, PERIOD, pid, "grace", month_end.checks(s, PERIOD), TODAY)
    with db.write() as s:  # something dated in October is recorded while the cfo decides
        cash.issue(s, kind=InvoiceKind.SUPPLIER, party_id=supplier_id(db), issued_on=date(2026, 10, 30),
                   currency="USD", key="bill-late", process_id="p-late", tax=D(0),
                   status=InvoiceStatus.PENDING_APPROVAL,
                   lines=[cash.LineIn(sku="MOTOR-200W", qty=D(1), unit_price=D(50), net=D(50))])
    with db.write() as s:
        assert close.finish(s, PERIOD, pid, "heidi", month_end.checks(s, PERIOD)) == CloseEnd.CHECKS_FAILED
    with db.read() as s:
        assert close.status_of(s, PERIOD) == "open"


def test_the_cfo_task_shows_the_checks(db: Database):
    class FakeTask:
        business_key = PERIOD

    with db.write() as s:
        close.begin(s, PERIOD, "p", "grace", month_end.checks(s, PERIOD), TODAY)
    with db.read() as s:
        ctx = close.task_context(s, FakeTask())
    assert ctx is not None and ctx["kind"] == "period_close" and ctx["passed"] is True
    assert len(ctx["checks"]) == 8


def test_paths_that_post_today_are_refused_when_today_is_in_a_closed_period_and_store_nothing(db: Database):
    """Stock adjustments (like deliveries, receipts, production, expenses) post today: with today's period closed
    (here by hand: a close refuses a month that has not ended) they are refused, their stock move undone too."""
    today = utcnow().date()
    with db.write() as s:
        s.add(Period(period=accounting.period_of(today), status="closed", closed_by="heidi", reopen_reason=""))
    with db.read() as s:
        moves = s.execute(select(func.count()).select_from(StockLedgerEntry)).scalar_one()
        on_hand = stock.item_by_sku(s, "FAN-200")
    with pytest.raises(Conflict, match="is closed"), db.write() as s:
        master.adjust_stock(s, "FAN-200", D(1), None, reason="count", actor="ivan", key="adj-1")
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(StockLedgerEntry)).scalar_one() == moves
        assert stock.item_by_sku(s, "FAN-200").id == on_hand.id
    with db.write() as s:
        close.reopen(s, accounting.period_of(today), "heidi", "the test is over")
        master.adjust_stock(s, "FAN-200", D(1), None, reason="count", actor="ivan", key="adj-1")
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(StockLedgerEntry)).scalar_one() == moves + 1
        assert cash.reconcile(s).balanced
