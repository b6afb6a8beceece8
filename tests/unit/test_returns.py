"""Returns of a sales order (domain/sales/returns.py and return_services.py), on the demo company: goods back into
stock at the cost they left at, a credit note against each delivery's invoice set against what the customer owes,
the order net of returns, and the sub-ledgers still equal to their control accounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.cash import services as cash
from domain.cash.rules import InvoiceKind, InvoiceStatus
from domain.cash.tables import Invoice
from domain.core import records as common
from domain.core.db import Database
from domain.core.errors import Conflict, Forbidden, Invalid
from domain.core.money import money
from domain.inventory import stock
from domain.org.people import Actor
from domain.parties.tables import Customer
from domain.sales import return_services as svc
from domain.sales import returns as rules
from domain.sales import rules as sales
from domain.sales import services as sales_svc
from domain.sales.tables import DeliveryNote, DeliveryNoteLine, SalesOrder

D = Decimal
DAY = date(2026, 12, 1)


def order(db: Database, number: str = "SO-00001", qty: str = "6", price: str = "260") -> str:
    """A direct order of MOTOR-200W (30 on hand at 200.00) for Umbrella Retail, 10 % tax on its invoices."""
    with db.write() as s:
        cid = s.execute(select(Customer.id).where(Customer.name == "Umbrella Retail")).scalar_one()
        so = sales_svc.record_direct_order(s, sales.OrderRef(number=number, owner="alice", customer_id=cid, lines=[
            sales.OrderLineIn(sku="MOTOR-200W", qty=D(qty), unit_price=D(price))]), f"sales-order-{number}")
        so.status = sales.SalesOrderStatus.IN_FULFILMENT
        return so.number


def deliver(db: Database, number: str, qty: str, on: date = DAY) -> str:
    """One delivery as the delivery service records it: stock out at moving average, a delivery note, cost of goods
    sold, the invoice (net + 10 % tax). Answers the invoice's number."""
    with db.write() as s:
        so = s.execute(select(SalesOrder).where(SalesOrder.number == number)).scalar_one()
        ln = so.lines[0]
        note_no = common.next_number(s, "DEL")
        entry = stock.move(s, ln.sku, -D(qty), unit_cost=None, voucher_type="delivery", voucher_no=note_no,
                           key=f"test:{note_no}", reason="delivery")
        cost, net = -entry.value_change, D(qty) * ln.unit_price
        ledger.post(s, accounting.entry("COGS", {accounting.COGS: cost}, {accounting.INVENTORY: cost}), "delivery",
                    number, f"test:{note_no}:cogs", on=on)
        note = DeliveryNote(number=note_no, sales_order_number=number, delivered_by="ivan", delivered_on=on,
                            revenue=net, cost=cost, idempotency_key=f"test:{note_no}")
        note.lines.append(DeliveryNoteLine(sku=ln.sku, qty=D(qty), unit_price=ln.unit_price, net=net, cost=cost))
        s.add(note)
        inv = cash.issue(s, kind=InvoiceKind.CUSTOMER, party_id=so.customer_id, tax=money(net / 10), issued_on=on,
                         currency="USD", key=f"test:{note_no}:invoice", process_id=f"invoice-{note_no}",
                         lines=[cash.LineIn(sku=ln.sku, qty=D(qty), unit_price=ln.unit_price, net=net)],
                         sales_order_number=number, delivery_note_number=note_no, owner="alice")
        note.invoice_number = inv.number
        ln.delivered_qty += D(qty)
        so.revenue, so.cost_total = (so.revenue or 0) + net, (so.cost_total or 0) + cost
        so.margin = so.revenue - so.cost_total
        return inv.number


def draft(number: str, lines: dict[str, str], reason: str = "damaged in transit", ret: str = "RET-00001"
          ) -> rules.ReturnDraft:
    return rules.ReturnDraft(number=ret, sales_order=number, reason=reason, by="alice", on=DAY,
                             lines=[rules.ReturnLineIn(sku=k, qty=D(v)) for k, v in lines.items()])


def reconciled(db: Database) -> None:
    with db.read() as s:
        rec = cash.reconcile(s)
    assert rec.balanced, rec.rows


def on_hand(db: Database, sku: str = "MOTOR-200W") -> tuple[Decimal, Decimal]:
    with db.read() as s:
        lv = stock.levels(s, sku)
    return lv["on_hand"], lv["stock_value"]


def test_returning_two_of_six_credits_them_against_the_invoice_and_takes_them_back_into_stock(db: Database) -> None:
    number = order(db)
    inv = deliver(db, number, "6")  # 1,560 + 156 tax; 6 motors left at 200 each
    before = on_hand(db)
    with db.write() as s:
        res = svc.record_return(s, draft(number, {"MOTOR-200W": "2"}), "sales-return-RET-00001")
    assert (res.return_id, res.value, res.cost) == ("RET-00001", D("520.00"), D("400.00"))
    assert [(c.against, c.total) for c in res.credit_notes] == [(inv, D("-572.00"))]  # 2 × 260 + 10 %
    assert res.invoices == ["invoice-DEL-00001"]
    assert on_hand(db) == (before[0] + 2, before[1] + D("400.00"))
    with db.read() as s:
        invoice = cash.by_number(s, inv)
        note = cash.by_number(s, res.credit_notes[0].number)
        so = s.execute(select(SalesOrder).where(SalesOrder.number == number)).scalar_one()
        ret = s.execute(select(DeliveryNote).where(DeliveryNote.number == "RET-00001")).scalar_one()
    assert invoice.outstanding == D("1144.00") and invoice.status == InvoiceStatus.OPEN  # 1,716 − 572
    assert note.outstanding == 0 and note.status == InvoiceStatus.PAID and note.against_number == inv
    assert note.reason == "damaged in transit" and note.delivery_note_number == "RET-00001"
    assert so.lines[0].returned_qty == 2 and (so.revenue, so.cost_total, so.margin) == (
        D("1040.00"), D("800.00"), D("240.00"))
    assert ret.is_return and ret.invoice_number == note.number and ret.lines[0].qty == 2
    reconciled(db)
    with db.write() as s:  # the activity retried: the first result, nothing twice
        again = svc.record_return(s, draft(number, {"MOTOR-200W": "2"}), "sales-return-RET-00001")
    assert again == res and on_hand(db) == (before[0] + 2, before[1] + D("400.00"))
    with db.read() as s:
        assert svc.returns_of(s, number)[0]["credit_notes"][0]["total"] == D("-572.00")


def test_returning_more_than_was_delivered_and_not_yet_returned_stores_nothing(db: Database) -> None:
    number = order(db)
    deliver(db, number, "6")
    with db.write() as s:
        svc.record_return(s, draft(number, {"MOTOR-200W": "2"}), "p-1")
    before = on_hand(db)
    with db.write() as s, pytest.raises(Conflict, match="4 of 6 delivered"):
        svc.record_return(s, draft(number, {"MOTOR-200W": "5"}, ret="RET-00002"), "p-2")
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(DeliveryNote).where(DeliveryNote.is_return)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(Invoice).where(Invoice.credit_note)).scalar_one() == 1
    assert on_hand(db) == before
    with db.write() as s:
        for lines, reason, err in (({"MOTOR-200W": "1"}, " ", Invalid), ({"FAN-200": "1"}, "x", Invalid)):
            with pytest.raises(err):
                svc.record_return(s, draft(number, lines, reason=reason, ret="RET-00003"), "p-3")
        with pytest.raises(Forbidden):
            svc.plan(s, number, [rules.ReturnLineIn(sku="MOTOR-200W", qty=D(1))], "x",
                     Actor(username="carol", roles=frozenset({"planner"})))
        svc.plan(s, number, [rules.ReturnLineIn(sku="MOTOR-200W", qty=D(1))], "x",
                 Actor(username="ivan", roles=frozenset({"warehouse"})))


def test_a_return_over_two_deliveries_credits_each_invoice_most_recent_first_and_tax_to_the_cent(db: Database):
    number = order(db, qty="7", price="99.99")
    first = deliver(db, number, "4")
    second = deliver(db, number, "3")
    with db.write() as s:  # 3 from the second delivery, 2 from the first
        res = svc.record_return(s, draft(number, {"MOTOR-200W": "5"}), "p-1")
    got = {c.against: c.total for c in res.credit_notes}
    assert got == {second: D("-329.97"), first: D("-219.98")}  # 299.97 + 30.00 tax; 199.98 + 20.00
    with db.write() as s:  # the rest of the first: its last credit note takes the rest of its tax to the cent
        res2 = svc.record_return(s, draft(number, {"MOTOR-200W": "2"}, ret="RET-00002"), "p-2")
        inv1 = cash.by_number(s, first)
        credited = s.execute(select(func.sum(Invoice.total)).where(Invoice.against_number == first)).scalar_one()
    assert [c.against for c in res2.credit_notes] == [first] and credited == -inv1.total
    assert inv1.status == InvoiceStatus.PAID and inv1.outstanding == 0
    reconciled(db)


def test_a_credit_note_for_a_paid_invoice_is_the_customers_credit(db: Database) -> None:
    number = order(db)
    inv = deliver(db, number, "6")
    with db.write() as s:
        so = s.execute(select(SalesOrder).where(SalesOrder.number == number)).scalar_one()
        cash.record_payment(s, cash.PaymentIn(direction="in", party_id=so.customer_id, amount=D("1716.00"),
                                              currency="USD", paid_on=DAY, reference="TT-1"), by="grace")
        res = svc.record_return(s, draft(number, {"MOTOR-200W": "1"}), "p-1")
        note = cash.by_number(s, res.credit_notes[0].number)
        assert cash.by_number(s, inv).status == InvoiceStatus.PAID
    assert note.status == InvoiceStatus.OPEN and note.outstanding == D("-286.00") and res.invoices == []
    reconciled(db)


def test_shares_add_up_to_the_whole() -> None:
    parts = [rules.share(D("100.00"), D(3), D(i), D(1)) for i in range(3)]
    assert sum(parts) == D("100.00") and parts == [D("33.33"), D("33.34"), D("33.33")]
    assert rules.credit_tax(D("10.00"), D("100.00"), D(0), D(0), D("33.33")) == D("3.33")
    assert rules.credit_tax(D("10.00"), D("100.00"), D("66.67"), D("6.67"), D("33.33")) == D("3.33")
    with pytest.raises(Invalid, match="twice"):
        rules.check_lines([rules.ReturnLineIn(sku="A", qty=D(1))] * 2, "why")
    with pytest.raises(ValueError, match="reason"):
        rules.ReturnIn.model_validate({"lines": [{"sku": "A", "qty": "1"}], "reason": "  "})
