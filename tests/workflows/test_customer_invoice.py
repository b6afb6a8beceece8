"""Partial deliveries and the CustomerInvoice process on the time-skipping server, activities real against the
database: two deliveries of one order (two notes, two invoices, each its collection process), refusals that store
nothing, the reminder before due and the dunning levels as inbox tasks (durable timers), a payment that ends the
process, and a write-off the cfo approves (or rejects)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from api.platform import Platform
from api.starters import approval, customer_invoice, order_fulfilment
from domain.accounting.tables import JournalEntry, JournalLine
from domain.approvals.tables import Task
from domain.cash import services as cash
from domain.cash.rules import Direction, InvoiceStatus
from domain.cash.tables import Invoice
from domain.core.errors import Conflict, Forbidden, Invalid, NotFound
from domain.inventory import stock
from domain.parties.tables import Customer
from domain.processes import ids
from domain.processes.tables import Process
from domain.sales import services as sales_svc
from domain.sales.delivery import DeliveryLineIn
from domain.sales.rules import OrderLineIn
from domain.sales.tables import DeliveryNote
from tests.helpers import actor, assert_books_reconcile, eventually
from workflows.customer_invoice import CustomerInvoice
from workflows.order_fulfilment import OrderFulfilment

MOTOR = "MOTOR-200W"
D = Decimal


def globex(db: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one())


async def ready_order(p: Platform, db: Any, qty: str = "10", price: str = "260") -> str:
    out = await order_fulfilment.create(p, "alice", globex(db), [OrderLineIn(sku=MOTOR, qty=D(qty),
                                                                            unit_price=D(price))], None)
    so = str(out["sales_order_id"])
    handle = p.client.get_workflow_handle(ids.sales_order(so, p.id_prefix))
    for _ in range(200):
        if await handle.query(OrderFulfilment.current_status) == "ready to deliver":
            return so
        await asyncio.sleep(0.05)
    raise AssertionError(f"{so} never got ready to deliver")


def part(qty: str, sku: str = MOTOR) -> list[DeliveryLineIn]:
    return [DeliveryLineIn(sku=sku, qty=D(qty))]


def account(s: Any, voucher_type: str, code: str) -> Decimal:
    debit, credit = s.execute(
        select(func.coalesce(func.sum(JournalLine.debit), 0), func.coalesce(func.sum(JournalLine.credit), 0))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalEntry.voucher_type == voucher_type, JournalLine.account_code == code)).one()
    return D(debit) - D(credit)


def invoices_of(s: Any, so: str) -> list[Invoice]:
    return list(s.execute(select(Invoice).where(Invoice.sales_order_number == so).order_by(Invoice.id)).scalars())


async def status_of(p: Platform, process_id: str) -> str:
    return str(await p.client.get_workflow_handle(process_id).query(CustomerInvoice.current_status))


async def test_six_then_four_of_ten_two_notes_two_invoices_and_the_order_completes(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    so = await ready_order(p, db)
    ivan = actor(db, "ivan")
    with db.read() as s:
        on_hand = stock.levels(s, MOTOR)["on_hand"]
    assert await order_fulfilment.deliver(p, ivan, so, part("6")) == "partially delivered"
    with db.read() as s:
        order = sales_svc.order(s, so)
        assert order.status == "in_fulfilment" and order.lines[0].delivered_qty == D(6)
        assert order.lines[0].reserved_qty == D(4) and stock.levels(s, MOTOR)["on_hand"] == on_hand - 6
        [first] = invoices_of(s, so)
        assert first.total == D(1560) and first.status == InvoiceStatus.OPEN and first.owner == "alice"
        assert first.process_id == ids.invoice(first.number, p.id_prefix)
    assert await status_of(p, first.process_id) == "collecting"
    # What is left is checked in the delivery's transaction: more than is left is refused, nothing stored.
    with pytest.raises(Conflict, match="more than is left"):
        await order_fulfilment.deliver(p, ivan, so, part("5"))
    with pytest.raises(Invalid, match="not on sales order"):
        await order_fulfilment.deliver(p, ivan, so, part("1", "BOLT-M8"))
    with pytest.raises(Forbidden):
        await order_fulfilment.deliver(p, actor(db, "bob"), so, part("1"))
    with pytest.raises(Conflict, match="being delivered"):  # after a delivery, the order is no longer cancelled
        await p.update(p.client.get_workflow_handle(ids.sales_order(so, p.id_prefix)), OrderFulfilment.cancel,
                       actor(db, "alice"))
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(DeliveryNote)
                         .where(DeliveryNote.sales_order_number == so)).scalar_one() == 1
    assert await order_fulfilment.deliver(p, ivan, so) == "completed"  # no lines: the rest
    with db.read() as s:
        order = sales_svc.order(s, so)
        view = sales_svc.order_view(s, order)
        assert order.status == "completed" and order.lines[0].delivered_qty == D(10)
        notes = list(s.execute(select(DeliveryNote).where(DeliveryNote.sales_order_number == so)
                               .order_by(DeliveryNote.id)).scalars())
        assert [n.lines[0].qty for n in notes] == [D(6), D(4)] and all(n.number.startswith("DEL-") for n in notes)
        first, second = invoices_of(s, so)
        assert [first.total, second.total] == [D(1560), D(1040)]
        assert [n.invoice_number for n in notes] == [first.number, second.number]
        assert view["revenue"] == D(2600) and view["margin"] == D(2600) - view["cost"]["total"]
        assert -account(s, "customer_invoice", "4000") >= D(2600)
        assert s.execute(select(Process.status).where(Process.process_id == order.process_id)).scalar_one() == \
            "completed"
    with pytest.raises(Conflict):
        await order_fulfilment.deliver(p, ivan, so, part("1"))
    assert await status_of(p, second.process_id) == "collecting"
    assert_books_reconcile(db)


async def test_part_of_an_order_waiting_for_supply_is_delivered_from_what_is_reserved(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    out = await order_fulfilment.create(p, "alice", globex(db), [OrderLineIn(sku="FAN-200", qty=D(8),
                                                                            unit_price=D(450))], None)
    so = str(out["sales_order_id"])
    await eventually(db, lambda s: sales_svc.order(s, so).lines[0].reserved_qty == D(5))
    handle = p.client.get_workflow_handle(ids.sales_order(so, p.id_prefix))
    for _ in range(200):
        if await handle.query(OrderFulfilment.current_status) == "waiting for supply":
            break
        await asyncio.sleep(0.05)
    ivan = actor(db, "ivan")
    with pytest.raises(Conflict, match="waiting for supply"):  # the whole order is not in stock
        await order_fulfilment.deliver(p, ivan, so)
    with pytest.raises(Conflict, match="only 5 of FAN-200 is reserved"):
        await order_fulfilment.deliver(p, ivan, so, part("6", "FAN-200"))
    assert await order_fulfilment.deliver(p, ivan, so, part("5", "FAN-200")) == "waiting for supply"
    with db.read() as s:
        line = sales_svc.order(s, so).lines[0]
        assert line.delivered_qty == D(5) and line.reserved_qty == 0
        [inv] = invoices_of(s, so)
        assert inv.total == D(2250)
    assert_books_reconcile(db)


async def _one_delivered_invoice(p: Platform, db: Any) -> Invoice:
    so = await ready_order(p, db, "2")
    await order_fulfilment.deliver(p, actor(db, "ivan"), so)
    with db.read() as s:
        [inv] = invoices_of(s, so)
    return inv


def dunning_tasks(s: Any, inv: Invoice, level: int) -> list[Task]:
    return list(s.execute(select(Task).where(Task.workflow_id == f"{inv.process_id}:dunning-{level}")
                          .order_by(Task.id)).scalars())


async def test_reminders_and_dunning_levels_are_inbox_tasks_and_a_payment_ends_the_process(worker, db, task_queue,
                                                                                           time_env):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    inv = await _one_delivered_invoice(p, db)
    assert inv.due_on == inv.issued_on + timedelta(days=30)
    await time_env.sleep(timedelta(days=28))  # the reminder 3 days before due
    await eventually(db, lambda s: len(dunning_tasks(s, inv, 0)) == 2)
    with db.read() as s:
        to = {(t.candidate_user, t.candidate_role) for t in dunning_tasks(s, inv, 0)}
        assert to == {("alice", None), (None, "finance")}
        assert all(t.kind == "alert" and "Reminder" in t.title for t in dunning_tasks(s, inv, 0))
    await time_env.sleep(timedelta(days=9))  # 7 days past due: dunning level 1
    await eventually(db, lambda s: len(dunning_tasks(s, inv, 1)) == 2)
    with db.read() as s:
        assert all(t.status == "completed" for t in dunning_tasks(s, inv, 0))  # superseded
        assert cash.by_number(s, inv.number).dunning_level == 1
        assert "Dunning level 1" in dunning_tasks(s, inv, 1)[0].title
    with db.write() as s:
        cash.record_payment(s, cash.PaymentIn(direction=Direction.IN, party_id=inv.party_id, amount=inv.total,
                                              currency=inv.currency, paid_on=date.today(), reference="TT-77"),
                            by="grace")
    handle = p.client.get_workflow_handle(inv.process_id)
    await handle.signal(CustomerInvoice.payment_allocated)
    assert await handle.result() == "paid"
    with db.read() as s:
        assert all(t.status == "completed" for t in dunning_tasks(s, inv, 1))
        assert s.get(Process, inv.process_id).status == "completed"
    assert_books_reconcile(db)


async def test_a_payment_without_its_signal_is_seen_at_the_next_timer(worker, db, task_queue, time_env):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    so = await ready_order(p, db, "4")
    # Partly delivered, so its order's process is still running when the invoice's ends (the time-skipping test
    # server stops skipping once a child ends after its parent closed: not so on a real server).
    await order_fulfilment.deliver(p, actor(db, "ivan"), so, part("2"))
    with db.read() as s:
        [inv] = invoices_of(s, so)
    h = p.client.get_workflow_handle(inv.process_id)
    await _read_once(h)
    with db.write() as s:  # its signal is lost
        cash.record_payment(s, cash.PaymentIn(direction=Direction.IN, party_id=inv.party_id, amount=inv.total,
                                              currency=inv.currency, paid_on=date.today(), reference="TT-78"),
                            by="grace")
    await time_env.sleep(timedelta(days=28))  # past the reminder's day, where the process looks again and ends
    assert await h.result() == "paid"
    with db.read() as s:
        assert dunning_tasks(s, inv, 0) == []  # read before raising: a paid invoice is not reminded


async def _read_once(h: Any) -> None:
    """Until the process has read its invoice (and waits for the reminder's day)."""
    for _ in range(200):
        async for e in h.fetch_history_events():
            if e.event_type == 12:  # EVENT_TYPE_ACTIVITY_TASK_COMPLETED
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the invoice's process never read its invoice")


async def test_a_write_off_goes_to_the_cfo_rejected_then_approved_posts_to_bad_debts(worker, db, task_queue):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    inv = await _one_delivered_invoice(p, db)
    grace, heidi = actor(db, "grace"), actor(db, "heidi")
    with pytest.raises(Forbidden):
        await customer_invoice.write_off(p, actor(db, "alice"), inv.number, "they went bust")
    with pytest.raises(Invalid):
        await customer_invoice.write_off(p, grace, inv.number, "  ")
    assert await customer_invoice.write_off(p, grace, inv.number, "they went bust") == "write-off pending approval"
    with pytest.raises(Conflict, match="already asked"):
        await customer_invoice.write_off(p, grace, inv.number, "again")
    task = await eventually(db, lambda s: s.execute(select(Task).where(
        Task.business_key == inv.number, Task.kind == "approval", Task.status == "open")).scalar_one_or_none())
    assert task.candidate_role == "cfo"
    await approval.decide(p, heidi, task.id, "reject", "call them first")
    for _ in range(100):
        if await status_of(p, inv.process_id) == "collecting":
            break
        await asyncio.sleep(0.05)
    assert await status_of(p, inv.process_id) == "collecting"
    await customer_invoice.write_off(p, grace, inv.number, "called; they went bust")
    task = await eventually(db, lambda s: s.execute(select(Task).where(
        Task.business_key == inv.number, Task.kind == "approval", Task.status == "open")).scalar_one_or_none())
    await approval.decide(p, heidi, task.id, "approve", "ok")
    assert await p.client.get_workflow_handle(inv.process_id).result() == "written_off"
    with db.read() as s:
        row = cash.by_number(s, inv.number)
        assert row.status == InvoiceStatus.WRITTEN_OFF and row.outstanding == 0
        assert account(s, "write_off", "6800") == inv.total_base
    with pytest.raises((Conflict, NotFound)):
        await customer_invoice.write_off(p, grace, inv.number, "twice")
    assert_books_reconcile(db)
