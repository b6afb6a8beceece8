"""Payments as the API and the pages read them: invoices named by number or id, the payments list and one
payment with its allocations and postings, and a party's open invoices for the allocation preview. Recording
and allocating are in services.py (one transaction)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from domain.accounting.tables import JournalEntry
from domain.cash import rules
from domain.cash.rules import Direction, InvoiceStatus
from domain.cash.tables import Invoice, Payment, PaymentAllocation
from domain.core import records as common
from domain.core.errors import Invalid, NotFound
from domain.core.money import MAX_AMOUNT

MAX_REFERENCE = 100


def invoice_ids(session: Session, refs: list[int | str]) -> list[int]:
    """Invoices named by number (INV-00001) or by id (an integer, or its digits), as ids; an unknown one is
    NotFound."""
    numbers = sorted({r for r in refs if isinstance(r, str) and not (r.isascii() and r.isdigit())})
    found: dict[str, int] = {r.number: r.id for r in session.execute(
        select(Invoice.number, Invoice.id).where(Invoice.number.in_(numbers)))} if numbers else {}
    out = []
    for r in refs:
        if isinstance(r, int) or (r.isascii() and r.isdigit()):
            out.append(int(r))
        elif r in found:
            out.append(found[r])
        else:
            raise NotFound(f"no invoice {r[:30]}")
    return out


def payment_in(session: Session, *, direction: str, party_id: int, amount: Any, currency: str, paid_on: Any,
               reference: str, allocations: list[tuple[int | str, Any]] | None) -> rules.PaymentIn:
    """A payment as the API or a page names it (invoices by number or id) as the domain records it."""
    amount = Decimal(amount)
    if amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")) or any(
            Decimal(a) != Decimal(a).quantize(Decimal("0.01")) or Decimal(a) > MAX_AMOUNT for _, a in allocations or []):
        raise Invalid(f"an amount is in cents and at most {MAX_AMOUNT:,}")
    reference = reference.strip()
    if not reference:
        raise Invalid("a payment needs its reference (the bank's or the payer's), so the same one is never "
                      "recorded twice")
    allocs = None
    if allocations is not None:
        ids = invoice_ids(session, [ref for ref, _ in allocations])
        allocs = [rules.AllocationIn(invoice_id=i, amount=amt) for i, (_, amt) in zip(ids, allocations, strict=True)]
    return rules.PaymentIn(direction=Direction(direction), party_id=party_id, amount=amount, currency=currency,
                           paid_on=paid_on, reference=reference[:MAX_REFERENCE], allocations=allocs)


def by_number(session: Session, number: str) -> Payment:
    return common.one(session, Payment, Payment.number == number, f"no payment {number[:30]}")


def summary(p: Payment) -> dict[str, Any]:
    return {"payment_id": p.number, "number": p.number, "direction": p.direction, "party_id": p.party_id,
            "party_name": p.party_name, "amount": p.amount, "currency": p.currency, "amount_base": p.amount_base,
            "paid_on": p.paid_on, "reference": p.reference, "unallocated": p.unallocated,
            "process_id": p.process_id, "created_by": p.created_by}


def listing(session: Session, *, direction: str | None = None, party_id: int | None = None, limit: int = 50,
            offset: int = 0) -> list[dict[str, Any]]:
    q = select(Payment)
    if direction:
        q = q.where(Payment.direction == direction)
    if party_id is not None:
        q = q.where(Payment.party_id == party_id)
    q = q.order_by(Payment.paid_on.desc(), Payment.id.desc()).limit(limit).offset(offset)
    return [summary(p) for p in session.execute(q).scalars()]


def view(session: Session, number: str) -> dict[str, Any]:
    """One payment: what it is, each allocation (at recording, and of its credit later) with the invoice by
    number, and the journal entries that posted it and its credit."""
    p = by_number(session, number)
    rows = session.execute(select(PaymentAllocation, Invoice.number, Invoice.process_id)
                           .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
                           .where(PaymentAllocation.payment_id == p.id).order_by(PaymentAllocation.id)).all()
    allocations = [{"invoice_id": inv_number, "number": inv_number, "amount": a.amount,
                    "cleared_base": a.cleared_base, "exchange_difference": a.exchange_difference,
                    "allocated_on": a.allocated_on, "process_id": pid} for a, inv_number, pid in rows]
    entries = session.execute(select(JournalEntry).where(or_(
        JournalEntry.idempotency_key == f"payment:{p.number}", JournalEntry.idempotency_key.like(f"%:{p.number}:%")))
        .order_by(JournalEntry.id)).scalars()
    journal = [{"entry_id": e.id, "posted_on": e.posted_on, "memo": e.memo, "lines": [
        {"account": ln.account_code, "debit": ln.debit, "credit": ln.credit} for ln in e.lines]} for e in entries]
    return {**summary(p), "rate": p.rate, "unallocated_base": p.unallocated_base, "allocations": allocations,
            "journal": journal, "created_at": p.created_at}


def result_view(result: rules.PaymentResult) -> dict[str, Any]:
    """The API's answer to a recorded payment: invoices named by their number (as GET /api/invoices does)."""
    return {"payment_id": result.payment_id,
            "allocations": [{"invoice_id": a.number, "number": a.number, "amount": a.amount}
                            for a in result.allocations],
            "unallocated": result.unallocated}


def open_for_party(session: Session, direction: str, party_id: int, limit: int = 500) -> list[dict[str, Any]]:
    """A party's open invoices (not credit notes), oldest first, as the allocation preview lists them; columns
    only."""
    kind = rules.kind_of(direction)
    q = (select(Invoice.number, Invoice.issued_on, Invoice.due_on, Invoice.total, Invoice.outstanding,
                Invoice.currency)
         .where(Invoice.kind == kind, Invoice.party_id == party_id, Invoice.status == InvoiceStatus.OPEN,
                Invoice.credit_note.is_(False), Invoice.outstanding > 0)
         .order_by(Invoice.due_on, Invoice.issued_on, Invoice.number).limit(limit))
    return [{"invoice_id": r.number, "number": r.number, "issued_on": r.issued_on, "due_on": r.due_on,
             "total": r.total, "outstanding": r.outstanding, "currency": r.currency} for r in session.execute(q)]
