"""Partial deliveries and collection as pure rules (domain/sales/delivery.py, domain/cash/collection.py), and one
delivery's transaction on the demo company (domain/production/services.deliver): the tax split to the cent,
over-deliveries refused with nothing stored, the invoice posted with revenue, the books reconciled."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.cash import collection
from domain.cash import services as cash
from domain.cash.rules import DunningPolicy, InvoiceStatus, schedule
from domain.cash.tables import Invoice
from domain.core.errors import Conflict, Forbidden, Invalid
from domain.core.tables import IdempotencyRecord
from domain.org.people import Actor
from domain.production import services as production
from domain.sales import delivery
from domain.sales.delivery import DeliveryLineIn, LineState
from domain.sales.rules import OrderRef
from domain.sales.tables import DeliveryNote
from tests.helpers import assert_books_reconcile

D = Decimal


def lines(*specs: tuple[str, str, str, str, str]) -> list[LineState]:
    return [LineState(sku=s, qty=D(q), net=D(n), delivered_qty=D(d), reserved_qty=D(r)) for s, q, n, d, r in specs]


def want(*specs: tuple[str, str]) -> list[DeliveryLineIn]:
    return [DeliveryLineIn(sku=s, qty=D(q)) for s, q in specs]


def test_everything_still_to_deliver_when_no_lines_are_named_and_only_when_it_is_all_reserved():
    order = lines(("A", "10", "100", "6", "4"), ("B", "2", "50", "0", "2"))
    takes = delivery.plan_delivery("SO-1", order, None)
    assert [(t.sku, t.qty, t.net) for t in takes] == [("A", D(4), D(40)), ("B", D(2), D(50))]
    assert delivery.completes(order, takes)
    with pytest.raises(Conflict, match="cannot be delivered in full yet: B"):
        delivery.plan_delivery("SO-1", lines(("A", "10", "100", "0", "10"), ("B", "2", "50", "0", "1")), [])
    with pytest.raises(Conflict, match="delivered in full"):
        delivery.plan_delivery("SO-1", lines(("A", "10", "100", "10", "0")), None)


def test_named_lines_are_the_orders_once_above_zero_within_what_is_left_and_reserved():
    order = lines(("A", "10", "100", "6", "4"), ("B", "5", "50", "0", "2"))
    with pytest.raises(Invalid, match="not on sales order"):
        delivery.plan_delivery("SO-1", order, want(("C", "1")))
    with pytest.raises(Invalid, match="twice"):
        delivery.plan_delivery("SO-1", order, want(("A", "1"), ("A", "1")))
    with pytest.raises(Conflict, match="more than is left"):
        delivery.plan_delivery("SO-1", order, want(("A", "5")))
    with pytest.raises(Conflict, match="only 2 of B is reserved"):  # a line partly in stock ships its reserved part
        delivery.plan_delivery("SO-1", order, want(("B", "3")))
    takes = delivery.plan_delivery("SO-1", order, want(("B", "2")))
    assert [(t.sku, t.qty, t.net, t.unit_price) for t in takes] == [("B", D(2), D(20), D(10))]
    assert not delivery.completes(order, takes)
    with pytest.raises(ValueError):
        DeliveryLineIn(sku="A", qty=D(0))
    with pytest.raises(Invalid, match="above zero"):
        delivery.check_lines_shape([DeliveryLineIn.model_construct(sku="A", qty=D(-1))])


def test_a_lines_deliveries_add_up_to_its_net_and_the_last_takes_the_tax_left_to_the_cent():
    line = LineState(sku="A", qty=D(3), net=D(100))
    first = delivery.line_net(line, D(1))
    second = delivery.line_net(line.model_copy(update={"delivered_qty": D(1)}), D(1))
    third = delivery.line_net(line.model_copy(update={"delivered_qty": D(2)}), D(1))
    assert (first, second, third) == (D("33.33"), D("33.34"), D("33.33")) and first + second + third == D(100)
    taxes = [delivery.tax_share(D("13.00"), D(100), D("33.33"), D(0), False)]
    taxes.append(delivery.tax_share(D("13.00"), D(100), D("33.34"), sum(taxes, D(0)), False))
    taxes.append(delivery.tax_share(D("13.00"), D(100), D("33.33"), sum(taxes, D(0)), True))
    assert taxes == [D("4.33"), D("4.33"), D("4.34")] and sum(taxes, D(0)) == D(13)
    assert delivery.tax_share(D(0), D(100), D(60), D(0), False) == 0


def test_who_may_deliver_and_when_a_part_may_go():
    alice, bob, ivan = Actor(username="alice", roles=["sales"]), Actor(username="bob", roles=["sales"]), Actor(
        username="ivan", roles=["warehouse"])
    kw = {"cancel_by": None, "short": {"A": "2"}, "done": False}
    delivery.check_may_deliver_part(alice, "SO-1", "alice", "ready to deliver", lines=None, **kw)  # type: ignore[arg-type]
    delivery.check_may_deliver_part(ivan, "SO-1", "alice", "waiting for supply", lines=want(("A", "1")), **kw)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        delivery.check_may_deliver_part(bob, "SO-1", "alice", "ready to deliver", lines=None, **kw)  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="A short 2"):
        delivery.check_may_deliver_part(ivan, "SO-1", "alice", "waiting for supply", lines=None, **kw)  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="planning"):
        delivery.check_may_deliver_part(ivan, "SO-1", "alice", "planning", lines=want(("A", "1")), **kw)  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="in full"):
        delivery.check_may_deliver_part(ivan, "SO-1", "alice", "partially delivered", lines=None, cancel_by=None,
                                        short={}, done=True)


def test_the_dunning_schedule_raises_the_highest_level_due_and_skips_a_reminder_before_the_invoice():
    due = date(2026, 12, 31)
    plan = schedule(due, DunningPolicy())
    issued = due - timedelta(days=30)
    assert [(r.level, r.on) for r in collection.pending(plan, collection.NONE_RAISED, issued)] == [
        (0, date(2026, 12, 28)), (1, date(2027, 1, 7)), (2, date(2027, 1, 14)), (3, date(2027, 1, 30))]
    assert collection.due_now(plan, -1, issued, date(2026, 12, 1)) is None
    assert collection.next_reminder(plan, -1, issued, date(2026, 12, 1)).level == 0  # type: ignore[union-attr]
    late = collection.due_now(plan, 0, issued, date(2027, 1, 20))  # a worker was down: level 2 only, not 1 then 2
    assert late is not None and late.level == 2
    assert collection.next_reminder(plan, 2, issued, date(2027, 1, 20)).level == 3  # type: ignore[union-attr]
    assert collection.next_reminder(plan, 3, issued, date(2027, 2, 1)) is None
    short_terms = collection.pending(plan, -1, due - timedelta(days=1))  # its reminder day is before its date
    assert [r.level for r in short_terms] == [1, 2, 3]
    title = collection.reminder_title("INV-1", "Globex", D(100), "USD", due, 2, 14, True)
    assert "Dunning level 2" in title and "14 days overdue" in title and "credit hold" in title


def test_who_may_ask_for_a_write_off():
    grace, alice = Actor(username="grace", roles=["finance"]), Actor(username="alice", roles=["sales"])
    collection.check_may_write_off(grace, "INV-1", "collecting", None, "bankrupt")
    with pytest.raises(Forbidden):
        collection.check_may_write_off(alice, "INV-1", "collecting", None, "bankrupt")
    with pytest.raises(Invalid):
        collection.check_may_write_off(grace, "INV-1", "collecting", None, " ")
    with pytest.raises(Conflict, match="already asked"):
        collection.check_may_write_off(grace, "INV-1", "write-off pending approval", "grace", "again")
    with pytest.raises(Conflict, match="paid"):
        collection.check_may_write_off(grace, "INV-1", "paid", None, "late")


# --- one delivery's transaction, on the demo company -------------------------------------------------------

def _order_with_tax(db, qty: str = "3") -> str:  # type: ignore[no-untyped-def]
    """A motor order of `qty` at 100.00, with 13.00 of tax per 100 on top (as a quotation's order carries it),
    reserved in full."""
    from domain.parties.tables import Customer
    from domain.sales import services as sales
    from domain.sales.rules import OrderLineIn

    with db.write() as s:
        cid = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
        ref = OrderRef(number="SO-T1", owner="alice", customer_id=cid,
                       lines=[OrderLineIn(sku="MOTOR-200W", qty=D(qty), unit_price=D(100))])
        order = sales.record_direct_order(s, ref, "p-so-t1")
        order.total = order.total * D("1.13")
        sales.reserve_order(s, "SO-T1", "p-so-t1:reserve")
    return "SO-T1"


def test_three_deliveries_invoice_the_orders_net_and_tax_to_the_cent_and_the_books_reconcile(db):
    so = _order_with_tax(db)
    for i in (1, 2, 3):
        with db.write() as s:
            out = production.deliver(s, so, actor="ivan", key=f"d{i}", lines=want(("MOTOR-200W", "1")),
                                     on=date.today(), id_prefix="t/")
        assert out.completed == (i == 3) and out.note and out.invoice
    with db.read() as s:
        invs = list(s.execute(select(Invoice).where(Invoice.sales_order_number == so).order_by(Invoice.id)).scalars())
        assert [i.subtotal for i in invs] == [D("100.00")] * 3
        assert [i.tax for i in invs] == [D("13.00")] * 3 and sum(i.total for i in invs) == D("339.00")
        assert all(i.process_id == f"t/invoice-{i.number}" and i.status == InvoiceStatus.OPEN for i in invs)
        assert [i.delivery_note_number for i in invs] == [n.number for n in s.execute(
            select(DeliveryNote).where(DeliveryNote.sales_order_number == so).order_by(DeliveryNote.id)).scalars()]
        from domain.sales import services as sales
        order = sales.order(s, so)
        assert order.status == "completed" and order.revenue == D(300)
    assert_books_reconcile(db)


def test_a_delivery_refused_stores_nothing_and_a_retry_returns_the_first(db):
    so = _order_with_tax(db, "2")

    def count(model):  # type: ignore[no-untyped-def]
        with db.read() as s:
            return s.execute(select(func.count()).select_from(model)).scalar_one()

    before = (count(DeliveryNote), count(Invoice), count(IdempotencyRecord))
    with db.write() as s, pytest.raises(Conflict):
        production.deliver(s, so, actor="ivan", key="x", lines=want(("MOTOR-200W", "3")))
    assert (count(DeliveryNote), count(Invoice), count(IdempotencyRecord)) == before
    with db.write() as s:
        first = production.deliver(s, so, actor="ivan", key="y", lines=want(("MOTOR-200W", "1")))
    with db.write() as s:
        again = production.deliver(s, so, actor="ivan", key="y", lines=want(("MOTOR-200W", "1")))
    assert first == again and count(DeliveryNote) == before[0] + 1
    with db.read() as s:
        assert cash.by_number(s, first.invoice or "").total == D("113.00")
