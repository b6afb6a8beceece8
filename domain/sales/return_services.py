"""Returns of a sales order in SQL: goods back into stock at the cost they left at, a return note (a delivery note
with is_return), and a credit note against the invoice of each delivery the goods came from, in one transaction,
once per key.

Postings (all through domain.accounting.ledger.post, dated the return's day): the credit note posts Dr revenue and
tax / Cr receivable (domain.cash.services.issue) and is set against the customer's open invoices at once
(apply_credit); the goods post Dr inventory / Cr cost of goods sold. The order's returned quantities rise, and its
revenue, cost and margin fall by what came back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.cash import services as cash
from domain.cash.rules import InvoiceKind
from domain.cash.tables import Invoice, InvoiceLine, PaymentAllocation
from domain.core import records as common
from domain.core.errors import NotFound
from domain.core.types import utcnow
from domain.inventory import stock
from domain.org.people import Actor
from domain.processes import services as processes
from domain.processes.rules import ProcessStatus
from domain.sales import returns as rules
from domain.sales.tables import DeliveryNote, DeliveryNoteLine, SalesOrder

ZERO = Decimal(0)


def _order(session: Session, number: str, *, lock: bool = False) -> SalesOrder:
    q = select(SalesOrder).where(SalesOrder.number == number)
    row = session.execute(q.with_for_update() if lock else q).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no sales order {number}")
    return row


def sources(session: Session, number: str) -> list[rules.Source]:
    """Every line of the order's deliveries, with what was already taken back of it (the quantities of the
    credit notes against its invoice)."""
    notes = list(session.execute(select(DeliveryNote).where(DeliveryNote.sales_order_number == number,
                                                            DeliveryNote.is_return.is_(False))).scalars())
    invoices = [n.invoice_number for n in notes if n.invoice_number]
    credited: dict[tuple[str, str], Decimal] = {}
    if invoices:
        for against, sku, qty in session.execute(
                select(Invoice.against_number, InvoiceLine.sku, func.sum(InvoiceLine.qty))
                .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
                .where(Invoice.kind == InvoiceKind.CUSTOMER, Invoice.credit_note.is_(True),
                       Invoice.against_number.in_(invoices))
                .group_by(Invoice.against_number, InvoiceLine.sku)).all():
            credited[(against or "", sku)] = Decimal(qty)
    out: list[rules.Source] = []
    for n in notes:
        for ln in n.lines:
            out.append(rules.Source(note=n.number, invoice=n.invoice_number, delivered_on=n.delivered_on, sku=ln.sku,
                                    qty=ln.qty, net=ln.net, cost=ln.cost,
                                    returned=credited.get((n.invoice_number or "", ln.sku), ZERO)))
    return out


def plan(session: Session, number: str, lines: list[rules.ReturnLineIn], reason: str,
         actor: Actor | None = None, *, lock: bool = False) -> tuple[SalesOrder, list[rules.Take]]:
    """Check a return without storing anything (the API asks this before the process starts; recording asks again
    under the order's lock): who, the lines, and not more than was delivered and not yet returned."""
    rules.check_lines(lines, reason)
    so = _order(session, number, lock=lock)
    if actor is not None:
        rules.check_may_return(actor, number, so.owner)
    ordered = {ln.sku: (ln.delivered_qty, ln.returned_qty) for ln in so.lines}
    return so, rules.plan_return(number, ordered, sources(session, number), lines)


def record_return(session: Session, draft: rules.ReturnDraft, process_id: str) -> rules.ReturnResult:
    """The return, once per process: the return note, the goods back into stock at the cost they left at, the
    credit notes against the deliveries' invoices (each set against the customer's open invoices at once), the
    order's returned quantities, revenue and margin. Refused whole (Conflict, nothing stored) above what was
    delivered and not yet returned."""
    key = f"{process_id}:return"

    def effect() -> dict[str, Any]:
        so, takes = plan(session, draft.sales_order, draft.lines, draft.reason, lock=True)
        day = draft.on or utcnow().date()
        note = DeliveryNote(number=draft.number, sales_order_number=so.number, is_return=True,
                            reason=draft.reason[:500], delivered_by=draft.by, delivered_on=day,
                            idempotency_key=f"{key}:note")
        by_sku: dict[str, list[rules.Take]] = {}
        for t in takes:
            by_sku.setdefault(t.sku, []).append(t)
        cost_back = ZERO
        lines = {ln.sku: ln for ln in so.lines}
        for sku in sorted(by_sku):  # one lock order for every return
            qty = sum((t.qty for t in by_sku[sku]), ZERO)
            net = sum((t.net for t in by_sku[sku]), ZERO)
            cost = sum((t.cost for t in by_sku[sku]), ZERO)
            entry = stock.move(session, sku, qty, unit_cost=None, value=cost, voucher_type="sales_return",
                               voucher_no=note.number, key=f"{key}:{sku}",
                               reason=f"return {note.number} of {so.number}: {draft.reason[:200]}", actor=draft.by)
            cost_back += entry.value_change
            note.lines.append(DeliveryNoteLine(sku=sku, qty=qty, unit_price=(net / qty).quantize(Decimal("0.0001")),
                                               net=net, cost=entry.value_change))
            lines[sku].returned_qty += qty
        value = sum((t.net for t in takes), ZERO)
        note.revenue, note.cost = value, cost_back
        session.add(note)
        session.flush()
        if cost_back:
            ledger.post(session, accounting.entry(f"Goods returned, {so.number} ({note.number})",
                                                  {accounting.INVENTORY: cost_back}, {accounting.COGS: cost_back}),
                        "sales_return", note.number, f"{key}:stock", on=day)
        credit_notes = _credit_notes(session, so, note, takes, draft, process_id, day, key)
        note.invoice_number = credit_notes[0].number if credit_notes else None
        _net_of_returns(so, value, cost_back)
        touched = _touched(session, [c.number for c in credit_notes])
        processes.start(session, process_id, "sales_return", note.number,
                        title=f"Return {note.number} of {so.number}", owner=so.owner,
                        amount=-sum((c.total for c in credit_notes), ZERO), first_step="returned",
                        parent_id=so.process_id)
        processes.advance(session, process_id, "returned", detail=draft.reason[:300], close=True,
                          status=ProcessStatus.COMPLETED)
        session.flush()
        return rules.ReturnResult(return_id=note.number, sales_order_id=so.number, value=value, cost=cost_back,
                                  credit_notes=credit_notes, invoices=touched).model_dump(mode="json")

    return rules.ReturnResult.model_validate(common.once(session, key, effect))


def _credit_notes(session: Session, so: SalesOrder, note: DeliveryNote, takes: list[rules.Take],
                  draft: rules.ReturnDraft, process_id: str, day: date, key: str) -> list[rules.CreditNoteRef]:
    """One credit note per invoice the goods were delivered under: the net of what came back and its share of
    the invoice's tax, in the invoice's currency."""
    by_invoice: dict[str, list[rules.Take]] = {}
    for t in takes:
        if t.invoice:
            by_invoice.setdefault(t.invoice, []).append(t)
    out: list[rules.CreditNoteRef] = []
    for number in sorted(by_invoice):
        inv = cash.by_number(session, number)
        net = sum((t.net for t in by_invoice[number]), ZERO)
        before_net, before_tax = session.execute(
            select(func.coalesce(func.sum(Invoice.subtotal), 0), func.coalesce(func.sum(Invoice.tax), 0))
            .where(Invoice.kind == InvoiceKind.CUSTOMER, Invoice.credit_note.is_(True),
                   Invoice.against_number == number)).one()
        tax = rules.credit_tax(inv.tax, inv.subtotal, -Decimal(before_net), -Decimal(before_tax), net)
        if net + tax <= 0:
            continue  # goods given away free: nothing to credit
        cn = cash.issue(session, kind=InvoiceKind.CUSTOMER, party_id=so.customer_id, credit_note=True,
                        lines=[cash.LineIn(sku=t.sku, qty=t.qty, unit_price=t.unit_price, net=t.net,
                                           description=f"returned ({note.number})") for t in by_invoice[number]],
                        tax=tax, issued_on=day, currency=inv.currency, key=f"{key}:credit:{number}",
                        process_id=process_id, owner=so.owner, created_by=draft.by, sales_order_number=so.number,
                        delivery_note_number=note.number, against_number=number, reason=draft.reason[:500])
        out.append(rules.CreditNoteRef(number=cn.number, against=number, total=cn.total, currency=cn.currency))
    return out


def _net_of_returns(so: SalesOrder, value: Decimal, cost: Decimal) -> None:
    """The order's revenue, cost and margin less what came back (material first: returned goods carry no labour
    or overhead of their own beyond their cost)."""
    so.revenue = (so.revenue or ZERO) - value
    so.cost_total = (so.cost_total or ZERO) - cost
    labour, overhead = so.cost_labour or ZERO, so.cost_overhead or ZERO
    if labour + overhead > so.cost_total:
        labour = overhead = ZERO
    so.cost_labour, so.cost_overhead, so.cost_material = labour, overhead, so.cost_total - labour - overhead
    so.margin = so.revenue - so.cost_total


def _touched(session: Session, credit_notes: list[str]) -> list[str]:
    """The process ids of the invoices the credit notes were set against."""
    if not credit_notes:
        return []
    notes = select(Invoice.id).where(Invoice.number.in_(credit_notes)).scalar_subquery()
    ids = select(PaymentAllocation.invoice_id).where(PaymentAllocation.credit_note_id.in_(notes)).scalar_subquery()
    return sorted(set(session.execute(select(Invoice.process_id).where(Invoice.id.in_(ids))).scalars()) - {""})


def returns_of(session: Session, number: str) -> list[dict[str, Any]]:
    """The order's return notes, newest first, with their credit notes."""
    notes = list(session.execute(select(DeliveryNote).where(DeliveryNote.sales_order_number == number,
                                                            DeliveryNote.is_return.is_(True))
                                 .order_by(DeliveryNote.id.desc())).scalars())
    credits: dict[str, list[dict[str, Any]]] = {}
    if notes:
        for cn in session.execute(select(Invoice).where(Invoice.credit_note.is_(True), Invoice.kind == InvoiceKind.CUSTOMER,
                                                        Invoice.delivery_note_number.in_([n.number for n in notes]))
                                  ).scalars():
            credits.setdefault(cn.delivery_note_number or "", []).append(
                {"number": cn.number, "invoice_id": cn.id, "against": cn.against_number, "total": cn.total,
                 "currency": cn.currency, "status": cn.status})
    return [{"return_id": n.number, "returned_on": n.delivered_on, "by": n.delivered_by, "reason": n.reason,
             "value": n.revenue, "cost": n.cost,
             "lines": [{"sku": ln.sku, "qty": ln.qty, "net": ln.net, "cost": ln.cost} for ln in n.lines],
             "credit_notes": credits.get(n.number, [])} for n in notes]
