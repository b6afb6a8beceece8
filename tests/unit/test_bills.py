"""Supplier bills: the three-way match (pure), and recording, approving and posting a bill against a received
purchase order (domain/cash/bills.py) on the demo company: goods received not invoiced clears to zero, the price
difference goes to purchase price variance, and the sub-ledgers equal their control accounts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.accounting.tables import JournalEntry, JournalLine
from domain.approvals.rules import ChainStep
from domain.cash import bills
from domain.cash import services as cash
from domain.cash.rules import (
    BillLineIn,
    Direction,
    InvoiceStatus,
    MatchPolicy,
    OrderedLine,
    PaymentIn,
    three_way_match,
)
from domain.cash.tables import Invoice
from domain.core import records as common
from domain.core.db import Database
from domain.core.errors import Conflict, Invalid, NotFound
from domain.org.people import Person
from domain.parties.tables import Supplier
from domain.purchasing import rules as purchasing
from domain.purchasing import services as purchasing_svc

D = Decimal
POLICY = MatchPolicy(price_pct=D(2), amount=D(10))


def line(sku: str, qty: str, price: str) -> BillLineIn:
    return BillLineIn(sku=sku, qty=D(qty), unit_price=D(price))


def ordered(sku: str = "MOTOR-200W", price: str = "200", received: str = "10", billed: str = "0") -> OrderedLine:
    return OrderedLine(sku=sku, unit_price=D(price), received_qty=D(received), billed_qty=D(billed))


# --- the match, pure --------------------------------------------------------------------------------------

def test_a_bill_within_the_price_tolerance_and_the_amount_tolerance_matches():
    m = three_way_match([line("MOTOR-200W", "10", "200.50")], [ordered()], POLICY)
    assert m.matched and m.reasons == []
    assert (m.billed, m.expected, m.variance) == (D("2005.00"), D("2000.00"), D("5.00"))


def test_a_price_above_the_tolerance_is_a_mismatch_naming_the_line():
    m = three_way_match([line("MOTOR-200W", "10", "210")], [ordered()], POLICY)
    assert not m.matched
    assert any("MOTOR-200W" in r and "+5.0 %" in r for r in m.reasons)
    assert any("billed at 210.00, ordered at 200.00" in r for r in m.reasons), m.reasons  # not 200.0000
    assert m.lines[0].order_price == D(200) and m.lines[0].variance == D("100.00")


def test_a_total_above_the_amount_tolerance_is_a_mismatch_even_with_each_price_within_its_own():
    m = three_way_match([line("MOTOR-200W", "100", "203")], [ordered(received="100")], POLICY)
    assert not m.matched
    assert len(m.reasons) == 1 and "differs from ordered price × received quantity" in m.reasons[0]
    assert "total 20,300.00" in m.reasons[0] and "20,000.00 by 300.00" in m.reasons[0], m.reasons


def test_billing_more_than_was_received_is_refused_outright():
    with pytest.raises(Conflict, match="only 6 was received and not yet billed"):
        three_way_match([line("MOTOR-200W", "7", "200")], [ordered(received="6")], POLICY)


def test_a_second_bill_may_take_only_the_rest_of_what_was_received():
    with pytest.raises(Conflict, match="only 4 was received"):
        three_way_match([line("MOTOR-200W", "5", "200")], [ordered(billed="6")], POLICY)
    rest = three_way_match([line("MOTOR-200W", "4", "200")], [ordered(billed="6")], POLICY)
    assert rest.matched and rest.billed == D("800.00")


def test_a_line_not_on_the_order_or_twice_on_the_bill_is_refused():
    with pytest.raises(Conflict, match="not on the purchase order"):
        three_way_match([line("BOLT-M8", "1", "1")], [ordered()], POLICY)
    with pytest.raises(Invalid, match="twice"):
        three_way_match([line("MOTOR-200W", "1", "200"), line("MOTOR-200W", "1", "200")], [ordered()], POLICY)


def test_a_price_under_the_order_beyond_the_tolerance_is_a_mismatch_too():
    m = three_way_match([line("MOTOR-200W", "10", "180")], [ordered()], POLICY)
    assert not m.matched and m.variance == D("-200.00")


# --- who approves a mismatch -------------------------------------------------------------------------------

PEOPLE = {p.username: p for p in [
    Person(username="heidi", roles=frozenset({"cfo", "manager"})),
    Person(username="frank", roles=frozenset({"manager"}), manager="heidi"),
    Person(username="grace", roles=frozenset({"finance"}), manager="heidi"),
    Person(username="dave", roles=frozenset({"buyer"}), manager="frank"),
]}
ESCALATION = {"buyer": "manager", "manager": "cfo", "finance": "cfo", "cfo": None}


def eligible(steps: list[ChainStep]) -> list[tuple[str, list[str]]]:
    return [(s.label, s.eligible) for s in steps]


def test_the_buyer_then_finance_approve_a_mismatch_never_the_one_who_entered_it():
    # grace (finance) entered it: dave checks the price, and finance's step, which only grace holds, goes where
    # finance's tasks escalate (the cfo).
    assert eligible(bills.mismatch_chain("grace", PEOPLE, ESCALATION)) == [
        ("buyer", ["dave"]), ("finance → cfo", ["heidi"])]


def test_the_only_buyer_entering_a_bill_has_its_buyer_step_taken_where_buyer_tasks_escalate():
    assert eligible(bills.mismatch_chain("dave", PEOPLE, ESCALATION)) == [
        ("buyer → manager", ["frank", "heidi"]), ("finance", ["grace"])]


def test_a_mismatch_nobody_else_could_approve_is_refused():
    alone = {"dave": PEOPLE["dave"], "grace": PEOPLE["grace"]}
    with pytest.raises(Invalid, match="nobody but dave"):
        bills.mismatch_chain("dave", alone, {"buyer": None, "finance": None})


# --- recording and posting, in SQL ---------------------------------------------------------------------------

def received_order(db: Database, qty: str = "10", price: str = "200", received: str = "10",
                   sku: str = "MOTOR-200W") -> tuple[int, str]:
    """A purchase order from Volt Motors (dave's), of which `received` came in."""
    with db.write() as s:
        sup = s.execute(select(Supplier).where(Supplier.name == "Volt Motors")).scalar_one()
        number = common.next_number(s, "PR")
        draft = purchasing.RequisitionDraft(
            number=number, requester="dave", supplier_id=sup.id, justification="", total=D(qty) * D(price),
            lines=[purchasing.RequisitionLineIn(sku=sku, qty=D(qty), est_unit_price=D(price))])
        purchasing_svc.record_requisition(s, draft, f"p-{number}")
        po = purchasing_svc.create_order(s, number, buyer="dave", today=date(2026, 11, 1), key=f"po-{number}")
        if D(received):
            purchasing_svc.receive(s, po.number, [purchasing.ReceiptLineIn(sku=sku, qty=D(received))], actor="ivan",
                                   key=f"gr-{number}")
        return sup.id, po.number


def bill_in(sup: int, po: str | int, ref: str, qty: str, price: str, sku: str = "MOTOR-200W") -> bills.BillIn:
    return bills.BillIn(supplier_id=sup, purchase_order_id=str(po), supplier_ref=ref, issued_on=date(2026, 11, 20),
                        lines=[line(sku, qty, price)])


def record(db: Database, bill: bills.BillIn, number: str, by: str = "dave") -> Invoice:
    with db.write() as s:
        c = bills.check(s, bill)
        assert c.match is not None
        draft = bills.BillDraft(number=number, supplier_id=c.supplier_id, supplier=c.supplier,
                                purchase_order_number=c.purchase_order_number, supplier_ref=bill.supplier_ref,
                                issued_on=bill.issued_on, currency=c.currency, lines=bill.lines, entered_by=by,
                                owner=c.owner, match=c.match)
        inv = bills.record(s, draft, f"invoice-{number}")
        s.expunge(inv)
        return inv


def grni_of(db: Database, po: str) -> Decimal:
    """Goods received not invoiced posted for the order: its receipts and its bills."""
    with db.read() as s:
        bill_numbers = list(s.execute(select(Invoice.number).where(Invoice.purchase_order_number == po)).scalars())
        debit, credit = s.execute(
            select(func.coalesce(func.sum(JournalLine.debit), 0), func.coalesce(func.sum(JournalLine.credit), 0))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalLine.account_code == accounting.GRNI,
                   JournalEntry.voucher_no.like(f"{po}-R%") | JournalEntry.voucher_no.in_(bill_numbers or [""]))
        ).one()
        return D(debit) - D(credit)


def balance(db: Database, account: str) -> Decimal:
    with db.read() as s:
        return ledger.balances(s).get(account, D(0))


def reconciled(db: Database) -> None:
    with db.read() as s:
        rec = cash.reconcile(s)
        tb = ledger.trial_balance(s)
    assert rec.balanced, rec.rows
    assert tb["debit_total"] == tb["credit_total"]


def test_a_matched_bill_posts_grni_against_payables_with_its_small_variance_and_clears_grni(db: Database):
    sup, po = received_order(db)
    assert grni_of(db, po) == D("-2000.00")
    ppv, payables = balance(db, accounting.PRICE_VARIANCE), balance(db, accounting.PAYABLES)
    inv = record(db, bill_in(sup, po, "VM-1", "10", "200.50"), "BILL-90001")
    assert inv.status == InvoiceStatus.OPEN and inv.total == D("2005.00") and inv.owner == "dave"
    with db.read() as s:  # due on the supplier's terms
        assert inv.due_on == date(2026, 11, 20) + timedelta(days=s.get_one(Supplier, sup).payment_terms_days)
    assert grni_of(db, po) == 0
    assert balance(db, accounting.PRICE_VARIANCE) - ppv == D("5.00")
    assert balance(db, accounting.PAYABLES) - payables == D("-2005.00")
    reconciled(db)


def test_a_bill_under_the_order_price_credits_the_variance(db: Database):
    sup, po = received_order(db)
    with db.write() as s:  # a wider tolerance, so that it matches and posts at once
        cash.save_policy(s, cash.rules.CashPolicy(match=MatchPolicy(price_pct=D(10), amount=D(500))), by="admin")
    ppv = balance(db, accounting.PRICE_VARIANCE)
    inv = record(db, bill_in(sup, po, "VM-2", "10", "190"), "BILL-90002")
    assert inv.status == InvoiceStatus.OPEN
    assert balance(db, accounting.PRICE_VARIANCE) - ppv == D("-100.00")
    assert grni_of(db, po) == 0
    reconciled(db)


def test_a_mismatch_is_recorded_unposted_then_approved_posts_it_and_paid_closes_it(db: Database):
    sup, po = received_order(db)
    ppv = balance(db, accounting.PRICE_VARIANCE)
    inv = record(db, bill_in(sup, po, "VM-3", "10", "210"), "BILL-90003")
    assert inv.status == InvoiceStatus.PENDING_APPROVAL
    assert grni_of(db, po) == D("-2000.00")
    reconciled(db)  # pending bills are not payables yet
    with db.write() as s:
        bills.approve(s, "BILL-90003")
        bills.approve(s, "BILL-90003")  # a retried activity posts nothing twice
    assert grni_of(db, po) == 0
    assert balance(db, accounting.PRICE_VARIANCE) - ppv == D("100.00")
    reconciled(db)
    with db.write() as s:
        cash.record_payment(s, PaymentIn(direction=Direction.OUT, party_id=sup, amount=D("2100"),
                                              currency="USD", paid_on=date(2026, 12, 1), reference="PAY-VM-3"),
                            by="grace")
    with db.read() as s:
        assert cash.by_number(s, "BILL-90003").status == InvoiceStatus.PAID
    reconciled(db)


def test_a_rejected_bill_posts_nothing_and_frees_its_goods_for_another_bill(db: Database):
    sup, po = received_order(db)
    record(db, bill_in(sup, po, "VM-4", "10", "250"), "BILL-90004")
    with db.read() as s, pytest.raises(Conflict, match="only 0 was received and not yet billed"):
        bills.check(s, bill_in(sup, po, "VM-5", "1", "200"))
    with db.write() as s:
        bills.reject(s, "BILL-90004", "wrong price")
    with db.read() as s:
        assert cash.by_number(s, "BILL-90004").status == InvoiceStatus.REJECTED
        assert bills.check(s, bill_in(sup, po, "VM-5", "10", "200")).match is not None
    assert grni_of(db, po) == D("-2000.00")
    reconciled(db)


def test_two_bills_share_what_was_received_and_a_third_is_refused(db: Database):
    sup, po = received_order(db, received="6")
    with db.write() as s:
        purchasing_svc.receive(s, po, [purchasing.ReceiptLineIn(sku="MOTOR-200W", qty=D(4))], actor="ivan", key="r2")
    record(db, bill_in(sup, po, "VM-6", "6", "200"), "BILL-90006")
    with db.read() as s:
        po_row = bills.find_order(s, po)
        assert bills.order_bills(s, po)["billed_qty"] == {"MOTOR-200W": D("6.00")}
        assert [ln["unbilled_qty"] for ln in bills.to_bill(s, po_row)] == [D("4.00")]
    record(db, bill_in(sup, po_row.id, "VM-7", "4", "200"), "BILL-90007")  # the order by its id
    with db.read() as s, pytest.raises(Conflict, match="only 0 was received"):
        bills.check(s, bill_in(sup, po, "VM-8", "1", "200"))
    assert grni_of(db, po) == 0
    reconciled(db)


def test_the_same_supplier_reference_finds_the_first_bill(db: Database):
    sup, po = received_order(db)
    record(db, bill_in(sup, po, "VM-9", "5", "200"), "BILL-90009")
    with db.read() as s:
        assert bills.check(s, bill_in(sup, po, "VM-9", "5", "200")).existing == "BILL-90009"
    with db.write() as s:
        assert bills.reserve_number(s, sup, "X-1") == bills.reserve_number(s, sup, "X-1")


def test_unknown_supplier_or_order_and_someone_elses_order_are_refused(db: Database):
    sup, po = received_order(db)
    with db.read() as s:
        other = s.execute(select(Supplier.id).where(Supplier.name == "Acme Metals")).scalar_one()
        with pytest.raises(NotFound, match="no supplier"):
            bills.check(s, bill_in(99999, po, "A", "1", "200"))
        with pytest.raises(NotFound, match="no purchase order"):
            bills.check(s, bill_in(sup, "PO-99999", "A", "1", "200"))
        with pytest.raises(Conflict, match="not from Acme Metals"):
            bills.check(s, bill_in(other, po, "A", "1", "200"))


def test_a_bill_taking_goods_another_bill_took_meanwhile_is_refused_when_recorded(db: Database):
    sup, po = received_order(db)
    first = bill_in(sup, po, "VM-10", "10", "200")
    with db.read() as s:
        c = bills.check(s, first)
    record(db, bill_in(sup, po, "VM-11", "10", "200"), "BILL-90011")  # got in between the check and recording
    assert c.match is not None
    draft = bills.BillDraft(number="BILL-90010", supplier_id=sup, supplier=c.supplier, purchase_order_number=po,
                            supplier_ref="VM-10", issued_on=first.issued_on, currency="USD", lines=first.lines,
                            entered_by="dave", owner="dave", match=c.match)
    with db.write() as s, pytest.raises(Conflict, match="not yet billed"):
        bills.record(s, draft, "invoice-BILL-90010")
    with db.read() as s:
        assert bills.by_number_or_none(s, "BILL-90010") is None
