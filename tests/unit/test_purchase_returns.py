"""Supplier credit notes: the rules (pure: a line on the bill, not more than it has left to credit, not above its
price, only a posted bill), and recording one in SQL on the demo company (domain/cash/purchase_return_services.py):
goods sent back leave stock at the moving average and inventory by exactly that value, a price correction goes to
purchase price variance, the credit is set against the bill it is against (or stays the supplier's credit when the
bill is paid, used by the next bill), aging shows it negative, and after every step each sub-ledger equals its
control account and the trial balance is even."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.accounting.tables import ExchangeRate, JournalEntry, Period
from domain.cash import close, reports
from domain.cash import purchase_return_services as svc
from domain.cash import purchase_returns as rules
from domain.cash import services as cash
from domain.cash.rules import Direction, InvoiceKind, InvoiceStatus, PaymentIn
from domain.cash.tables import Invoice
from domain.core.db import Database
from domain.core.errors import Conflict, Invalid, NotFound
from domain.inventory import stock
from domain.processes.tables import Process
from tests.unit.test_bills import bill_in, received_order, record

D = Decimal
ON = date(2026, 11, 25)


def line(sku: str, qty: str, price: str) -> rules.CreditLineIn:
    return rules.CreditLineIn(sku=sku, qty=D(qty), unit_price=D(price))


def billed(qty: str = "10", price: str = "200", credited: str = "0") -> dict[str, rules.BilledLine]:
    return {"MOTOR-200W": rules.BilledLine(sku="MOTOR-200W", qty=D(qty), unit_price=D(price), credited=D(credited))}


# --- the rules, pure ----------------------------------------------------------------------------------------

def test_a_credit_note_takes_lines_of_the_bill_at_their_quantity_and_price():
    [t] = rules.plan_credit("BILL-1", billed(), [line("MOTOR-200W", "2", "199.995")])
    assert (t.qty, t.unit_price, t.net) == (D(2), D("199.995"), D("399.99"))


def test_crediting_more_than_the_bill_has_left_is_a_conflict_naming_the_bill():
    with pytest.raises(Conflict, match=r"3 of MOTOR-200W is more than bill BILL-1 has left to credit \(2 of 10 billed, "
                                       r"8 credited before\)"):
        rules.plan_credit("BILL-1", billed(credited="8"), [line("MOTOR-200W", "3", "200")])
    assert rules.plan_credit("BILL-1", billed(credited="8"), [line("MOTOR-200W", "2", "200")])


def test_a_price_above_the_bills_a_line_not_on_it_or_a_zero_total_is_invalid():
    with pytest.raises(Invalid, match=r"credited at 200\.01, above the 200\.00 bill BILL-1 charged"):
        rules.plan_credit("BILL-1", billed(), [line("MOTOR-200W", "1", "200.01")])
    with pytest.raises(Invalid, match="BOLT-M8 is not on bill BILL-1"):
        rules.plan_credit("BILL-1", billed(), [line("BOLT-M8", "1", "1")])
    with pytest.raises(Invalid, match="total must be above zero"):
        rules.plan_credit("BILL-1", billed(), [line("MOTOR-200W", "1", "0")])


def test_only_a_posted_bill_is_credited():
    for status in (InvoiceStatus.OPEN, InvoiceStatus.PAID):
        rules.check_bill("BILL-1", status, False)
    for status in (InvoiceStatus.PENDING_APPROVAL, InvoiceStatus.REJECTED, InvoiceStatus.WRITTEN_OFF):
        with pytest.raises(Conflict, match="only a posted bill"):
            rules.check_bill("BILL-1", status, False)
    with pytest.raises(Conflict, match="a credit note itself"):
        rules.check_bill("DN-1", InvoiceStatus.OPEN, True)


def test_a_reason_is_needed_and_each_line_once():
    with pytest.raises(Invalid, match="needs a reason"):
        rules.check_lines([line("MOTOR-200W", "1", "1")], "  ")
    with pytest.raises(Invalid, match="named twice"):
        rules.check_lines([line("MOTOR-200W", "1", "1"), line("MOTOR-200W", "1", "1")], "x")


def test_goods_sent_back_credit_inventory_at_their_stock_value_and_the_rest_to_price_variance():
    assert rules.posting(D("400.00"), D("380.00"), True) == {accounting.INVENTORY: D("380.00"),
                                                             accounting.PRICE_VARIANCE: D("20.00")}
    assert rules.posting(D("400.00"), D("410.00"), True)[accounting.PRICE_VARIANCE] == D("-10.00")
    assert rules.posting(D("200.00"), D(0), False) == {accounting.PRICE_VARIANCE: D("200.00")}


# --- in SQL ---------------------------------------------------------------------------------------------------

def reconciled(db: Database) -> None:
    with db.read() as s:
        rec = cash.reconcile(s)
        tb = ledger.trial_balance(s)
    assert rec.balanced, rec.rows
    assert tb["debit_total"] == tb["credit_total"]


def posted_bill(db: Database, ref: str, qty: str = "10", price: str = "200") -> tuple[int, str]:
    """A matched bill from Volt Motors for `qty` motors received at 200: (supplier, bill number)."""
    sup, po = received_order(db, qty=qty, received=qty)
    inv = record(db, bill_in(sup, po, ref, qty, price), f"BILL-9{ref[-2:]}{qty}")
    assert inv.status == InvoiceStatus.OPEN
    reconciled(db)
    return sup, inv.number


def credit(db: Database, bill: str, ref: str, lines: list[rules.CreditLineIn], *, goods: bool,
           on: date = ON, reason: str = "two arrived broken") -> rules.CreditResult:
    """What the API and the process do: check, number once per reference, record under the bill's lock."""
    body = rules.CreditNoteIn(supplier_ref=ref, issued_on=on, reason=reason, lines=lines, return_goods=goods)
    with db.read() as s:
        p = svc.plan(s, bill, body)
    assert p.existing is None
    with db.write() as s:
        number = svc.reserve_number(s, p.supplier_id, ref)
    draft = rules.CreditDraft(number=number, bill=p.bill, supplier_id=p.supplier_id, supplier_ref=ref, issued_on=on,
                              reason=reason, lines=lines, return_goods=goods, by="dave")
    with db.write() as s:
        return svc.record(s, draft, f"supplier-credit-note-{number}")


def pay_all(db: Database, sup: int, amount: str, reference: str) -> None:
    with db.write() as s:
        cash.record_payment(s, PaymentIn(direction=Direction.OUT, party_id=sup, amount=D(amount), currency="USD",
                                         paid_on=date(2026, 11, 22), reference=reference), by="grace")


def entry_of(db: Database, number: str) -> list[tuple[str, Decimal, Decimal]]:
    with db.read() as s:
        entry = s.execute(select(JournalEntry).where(JournalEntry.voucher_no == number,
                                                     JournalEntry.voucher_type == "credit_note")).scalar_one()
        return sorted((ln.account_code, ln.debit, ln.credit) for ln in entry.lines)


def test_goods_sent_back_against_a_paid_bill_leave_stock_and_stay_the_suppliers_credit_used_by_the_next_bill(
        db: Database):
    sup, bill = posted_bill(db, "VM-C1")
    pay_all(db, sup, "2000", "PAY-C1")
    with db.read() as s:
        assert cash.by_number(s, bill).status == InvoiceStatus.PAID
        before = stock.levels(s, "MOTOR-200W")
    grni = ledger_balance(db, accounting.GRNI)
    out = credit(db, bill, "VM-CN-1", [line("MOTOR-200W", "2", "200")], goods=True)
    assert ledger_balance(db, accounting.GRNI) == grni  # received and billed as before: the goods leave inventory
    assert out.invoice_id.startswith("DN-") and out.against == bill and out.total == D("-400.00")
    assert out.return_goods and out.invoices == [] and out.outstanding == D("-400.00")  # nothing open to take it
    with db.read() as s:
        after = stock.levels(s, "MOTOR-200W")
        cn = cash.by_number(s, out.invoice_id)
        assert (cn.kind, cn.credit_note, cn.status, cn.supplier_ref) == ("supplier", True, "open", "VM-CN-1")
        assert cn.purchase_order_number is None  # goods received not invoiced is untouched
        aging = reports.aging(s, InvoiceKind.SUPPLIER, date(2026, 12, 1), party_id=sup)
        proc = s.get(Process, out.process_id)
        assert proc is not None and (proc.type, proc.status, proc.business_key) == (
            "purchase_return", "completed", out.invoice_id)
    assert after["on_hand"] == before["on_hand"] - 2
    assert out.stock_value == before["stock_value"] - after["stock_value"]
    variance = out.stock_value - D("400.00")  # the moving average need not be the bill's price
    assert entry_of(db, out.invoice_id) == sorted(
        [("2000", D("400.00"), D(0)), ("1200", D(0), out.stock_value)]
        + ([("5200", D(0), -variance) if variance < 0 else ("5200", variance, D(0))] if variance else []))
    assert aging["totals"]["total"] == D("-400.00")  # the supplier's credit: negative in AP
    reconciled(db)
    with db.read() as s:  # the month-end close's checks: GRNI untouched, every sub-ledger reconciles
        report = close.run_checks(s, "2026-11")
    assert [c.key for c in report.checks if not c.passed] == []
    # the next bill of the supplier uses the credit
    sup2, po = received_order(db, qty="3", received="3")
    assert sup2 == sup
    nxt = record(db, bill_in(sup, po, "VM-C1b", "3", "200"), "BILL-90101")
    with db.read() as s:
        assert cash.by_number(s, "BILL-90101").outstanding == D("200.00")
        assert cash.by_number(s, out.invoice_id).status == InvoiceStatus.PAID
    assert nxt.number == "BILL-90101"
    reconciled(db)


def test_a_price_correction_against_an_open_bill_lowers_what_it_owes_and_credits_price_variance(db: Database):
    _, older = posted_bill(db, "VM-C2a", qty="1")  # older and open: the credit goes to its own bill first
    _, bill = posted_bill(db, "VM-C2")
    ppv = ledger_balance(db, accounting.PRICE_VARIANCE)
    with db.read() as s:
        before = stock.levels(s, "MOTOR-200W")
    out = credit(db, bill, "VM-CN-2", [line("MOTOR-200W", "10", "20")], goods=False, reason="agreed discount")
    assert out.total == D("-200.00") and not out.return_goods and out.stock_value == 0
    assert out.invoices == [f"invoice-{bill}"]
    with db.read() as s:
        assert cash.by_number(s, bill).outstanding == D("1800.00")
        assert cash.by_number(s, older).outstanding == D("200.00")
        assert cash.by_number(s, out.invoice_id).status == InvoiceStatus.PAID  # all of it used
        assert stock.levels(s, "MOTOR-200W") == before
    assert entry_of(db, out.invoice_id) == [("2000", D("200.00"), D(0)), ("5200", D(0), D("200.00"))]
    assert ledger_balance(db, accounting.PRICE_VARIANCE) - ppv == D("-200.00")
    reconciled(db)
    # the bill's 10 were all credited (at a lower price): nothing is left to credit
    with pytest.raises(Conflict, match=f"more than bill {bill} has left to credit"):
        credit(db, bill, "VM-CN-3", [line("MOTOR-200W", "1", "20")], goods=False)
    with db.read() as s:
        assert svc.credit_notes_of(s, bill)[0]["number"] == out.invoice_id
        assert [c["total"] for c in svc.credit_notes_of(s, bill)] == [D("-200.00")]


def ledger_balance(db: Database, account: str) -> Decimal:
    with db.read() as s:
        return ledger.balances(s).get(account, D(0))


def test_refusals_store_nothing(db: Database):
    _, bill = posted_bill(db, "VM-C4", qty="4")
    ok = credit(db, bill, "VM-CN-4", [line("MOTOR-200W", "3", "200")], goods=True)
    with db.read() as s:
        count = s.execute(select(func.count()).select_from(Invoice)).scalar_one()
        levels = stock.levels(s, "MOTOR-200W")
    with pytest.raises(Conflict, match=f"2 of MOTOR-200W is more than bill {bill} has left"):
        credit(db, bill, "VM-CN-5", [line("MOTOR-200W", "2", "200")], goods=True)
    with pytest.raises(Invalid, match=r"above the 200\.00 bill"):
        credit(db, bill, "VM-CN-5", [line("MOTOR-200W", "1", "250")], goods=True)
    with pytest.raises(NotFound):
        credit(db, "BILL-99999", "VM-CN-5", [line("MOTOR-200W", "1", "1")], goods=False)
    with pytest.raises(Conflict, match="a credit note itself"):
        credit(db, ok.invoice_id, "VM-CN-5", [line("MOTOR-200W", "1", "1")], goods=False)
    with db.write() as s:
        s.add(Period(period="2026-10", status="closed"))
    with pytest.raises(Conflict, match="period 2026-10 is closed"):
        credit(db, bill, "VM-CN-5", [line("MOTOR-200W", "1", "200")], goods=True, on=date(2026, 10, 30))
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Invoice)).scalar_one() == count
        assert stock.levels(s, "MOTOR-200W") == levels
    reconciled(db)


def test_a_bill_awaiting_approval_cannot_be_credited(db: Database):
    sup, po = received_order(db)
    inv = record(db, bill_in(sup, po, "VM-C6", "10", "260"), "BILL-90106")
    assert inv.status == InvoiceStatus.PENDING_APPROVAL
    with pytest.raises(Conflict, match="bill BILL-90106 is pending approval"):
        credit(db, "BILL-90106", "VM-CN-6", [line("MOTOR-200W", "1", "200")], goods=False)


def test_recording_again_under_its_process_finds_the_first_and_the_same_reference_is_that_credit_note(db: Database):
    _, bill = posted_bill(db, "VM-C7")
    first = credit(db, bill, "VM-CN-7", [line("MOTOR-200W", "1", "200")], goods=True)
    draft = rules.CreditDraft(number=first.invoice_id, bill=bill, supplier_id=first.supplier_id, supplier_ref="VM-CN-7",
                              issued_on=ON, reason="x", lines=[line("MOTOR-200W", "1", "200")], return_goods=True,
                              by="dave")
    with db.write() as s:  # a retried activity
        assert svc.record(s, draft, first.process_id) == first
    body = rules.CreditNoteIn(supplier_ref="VM-CN-7", issued_on=ON, reason="again", lines=draft.lines)
    with db.read() as s:
        assert svc.plan(s, bill, body).existing == first.invoice_id
        again = svc.entered(s, first.invoice_id)
    assert again.existing and again.invoice_id == first.invoice_id and again.stock_value == first.stock_value
    reconciled(db)


def test_goods_sent_back_on_a_foreign_bill_leave_inventory_at_exactly_their_stock_value(db: Database):
    with db.write() as s:
        s.add(ExchangeRate(currency="SEK", valid_from=date(2026, 10, 1), rate=D("0.0937")))
    sup_id, _ = received_order(db, qty="1", received="1")
    with db.write() as s:  # a bill in SEK with no order behind it (its goods were taken in elsewhere)
        bill = cash.issue(s, kind=InvoiceKind.SUPPLIER, party_id=sup_id, issued_on=date(2026, 11, 2), currency="SEK",
                          key="sek-bill", process_id="", tax=D(0), other_side={"6400": D("21345")},
                          lines=[cash.LineIn(sku="MOTOR-200W", qty=D(10), unit_price=D("2134.5"), net=D("21345"))])
        number = bill.number
    reconciled(db)
    with db.read() as s:
        value_before = stock.levels(s, "MOTOR-200W")["stock_value"]
    out = credit(db, number, "SEK-CN-1", [line("MOTOR-200W", "3", "2134.5")], goods=True)
    with db.read() as s:
        assert value_before - stock.levels(s, "MOTOR-200W")["stock_value"] == out.stock_value
    assert out.total == D("-6403.50") and out.total_base == D("-600.01")  # 6403.50 × 0.0937 = 600.008
    lines = {a: (d, c) for a, d, c in entry_of(db, out.invoice_id)}
    assert lines["2000"] == (D("600.01"), D(0)) and lines["1200"] == (D(0), out.stock_value)
    reconciled(db)
