"""Customer invoices in SQL beyond their issue (domain.cash.services.issue, with the delivery): what their
collection reads and raises (reminders and dunning levels as inbox tasks, the cfo's chain for a write-off, the
end of the process), and invoices as the API and the pages show them, to whoever may see them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from domain import permissions
from domain.accounting.tables import JournalEntry
from domain.approvals import rules as approval_rules
from domain.approvals import services as approvals
from domain.approvals.tables import Task
from domain.cash import collection
from domain.cash import rules as cash_rules
from domain.cash import services as cash
from domain.cash.rules import InvoiceKind, InvoiceStatus
from domain.cash.tables import Invoice, Payment, PaymentAllocation
from domain.core.errors import Invalid, NotFound
from domain.core.types import utcnow
from domain.org import services as org
from domain.processes import services as processes
from domain.processes.rules import ProcessStatus

ZERO = Decimal(0)
DUNNING = ":dunning-"  # a reminder's tasks are grouped under `<process id>:dunning-<level>`
STATUS_FILTERS = ("open", "paid", "overdue", "written_off", "pending_approval", "rejected")


# --- collection ------------------------------------------------------------------------------------------

def collection_state(session: Session, number: str, today: date) -> collection.CollectionState:
    inv = cash.by_number(session, number)
    return collection.CollectionState(
        number=inv.number, status=inv.status, outstanding=inv.outstanding, currency=inv.currency,
        issued_on=inv.issued_on, due_on=inv.due_on,
        schedule=cash_rules.schedule(inv.due_on, cash.policy(session).dunning),
        on_hold=cash.on_credit_hold(session, inv.party_id, today))


def raise_reminder(session: Session, number: str, process_id: str, level: int, today: date,
                   task_ids: list[str]) -> collection.CollectionState:
    """The reminder (level 0) or dunning level `level` of an open invoice: an inbox task for its salesperson and
    one for finance (Duty.DUNNING), the earlier level's tasks closed (superseded), the level on the invoice and
    the process's monitor. An invoice closed meanwhile raises nothing. Idempotent: the task ids come from the
    workflow."""
    state = collection_state(session, number, today)
    if state.closed:
        return state
    inv = cash.by_number(session, number)
    days = (today - inv.due_on).days  # how late it is today (a level raised late is later than its threshold)
    title = collection.reminder_title(inv.number, inv.party_name, inv.outstanding, inv.currency, inv.due_on, level,
                                      days, state.on_hold)
    for earlier in range(level):
        approvals.close_open_tasks(session, f"{process_id}{DUNNING}{earlier}", approval_rules.TaskStatus.COMPLETED,
                                   f"superseded by {'the reminder' if level == 0 else f'dunning level {level}'}")
    workflow_id = f"{process_id}{DUNNING}{level}"
    spec = {"workflow_id": workflow_id, "process_id": process_id, "process_type": "customer_invoice",
            "kind": "alert", "title": title, "business_key": inv.number, "amount": inv.outstanding,
            "priority": 60 if level == 0 else 70 + min(level, 3) * 5, "due_hours": 72}
    finance_id, seller_id = task_ids
    approvals.open_task(session, approval_rules.TaskSpec(
        task_id=finance_id, candidate_role=permissions.duty_role(permissions.Duty.DUNNING), **spec))
    if inv.owner:
        approvals.open_task(session, approval_rules.TaskSpec(task_id=seller_id, candidate_user=inv.owner, **spec))
    inv.dunning_level = max(inv.dunning_level, level)
    processes.advance(session, process_id, "reminder" if level == 0 else f"dunning level {level}", detail=title)
    session.flush()
    return state


def close_reminders(session: Session, process_id: str, reason: str) -> None:
    """The open reminder tasks of an invoice's process close (paid or written off)."""
    rows = session.execute(select(Task.workflow_id).where(
        Task.process_id == process_id, Task.workflow_id.like(f"{process_id}{DUNNING}%"),
        Task.status == approval_rules.TaskStatus.OPEN).distinct()).scalars().all()
    for wid in rows:
        approvals.close_open_tasks(session, wid, approval_rules.TaskStatus.COMPLETED, reason)


def end_collection(session: Session, number: str, process_id: str, status: str) -> None:
    """The invoice's process ends (paid or written off): its reminders close, its monitor says so."""
    close_reminders(session, process_id, f"invoice {number} is {status.replace('_', ' ')}")
    processes.advance(session, process_id, status, detail=f"invoice {number} {status.replace('_', ' ')}", close=True,
                      status=ProcessStatus.COMPLETED)


def write_off_steps(session: Session, requester: str) -> list[approval_rules.ChainStep]:
    """The cfo's step (Duty.WRITE_OFF_APPROVER) for a write-off asked by `requester`."""
    tier = approval_rules.PolicyTier(above=ZERO, steps=[approval_rules.StepSpec(
        kind="role", value=permissions.duty_role(permissions.Duty.WRITE_OFF_APPROVER))])
    return approval_rules.resolve_chain(tier, requester, org.people(session))


def note_write_off(session: Session, process_id: str, step: str, detail: str) -> None:
    processes.advance(session, process_id, step, detail=detail[:300])


# --- who sees what ---------------------------------------------------------------------------------------

def visible_to(username: str, roles: list[str] | frozenset[str]) -> ColumnElement[bool] | None:
    """Every invoice to whoever may see them all (finance, the cfo, admin); otherwise those one owns: a
    salesperson the customer invoices of their orders, a buyer the supplier bills they entered or own."""
    if permissions.may(roles, permissions.Action.INVOICE_SEE_ALL):
        return None
    return Invoice.owner == username


def visible_invoice(session: Session, number: str, username: str, roles: list[str] | frozenset[str]) -> Invoice:
    """The invoice `number` (INV-00001; or its integer id, as payments' allocations take either) that the user may
    see; NotFound otherwise."""
    where = Invoice.id == int(number) if number.isascii() and number.isdigit() and len(number) < 10 \
        else Invoice.number == number
    row = session.execute(select(Invoice).where(where)).scalar_one_or_none()
    if row is None or (visible_to(username, roles) is not None and row.owner != username):
        raise NotFound(f"no invoice {number}")
    return row


# --- what a reminder's or a write-off's task shows --------------------------------------------------------

def task_context(session: Session, task: Task) -> dict[str, Any] | None:
    """The invoice a dunning reminder (or a write-off's approval) is about, as its reader needs it: the customer,
    the dates and days overdue, what is owed, the level reached, the customer's whole balance and credit hold."""
    inv = session.execute(select(Invoice).where(Invoice.number == task.business_key,
                                                Invoice.kind == InvoiceKind.CUSTOMER)).scalar_one_or_none()
    if inv is None:
        return None
    today = utcnow().date()
    return {"kind": "customer_invoice", "number": inv.number, "status": shown_status(inv, today),
            "customer_id": inv.party_id, "customer": inv.party_name, "issued_on": inv.issued_on,
            "due_on": inv.due_on, "days_overdue": max(0, (today - inv.due_on).days), "total": inv.total,
            "outstanding": inv.outstanding, "currency": inv.currency, "dunning_level": inv.dunning_level,
            "owner": inv.owner, "sales_order_id": inv.sales_order_number,
            "customer_owes": cash.open_receivables(session, inv.party_id),
            "on_hold": cash.on_credit_hold(session, inv.party_id, today)}


# --- views -------------------------------------------------------------------------------------------------

def shown_status(inv: Invoice, today: date) -> str:
    """The status a list shows: open and past due with something owed is overdue."""
    if inv.status == InvoiceStatus.OPEN and inv.outstanding > 0 and inv.due_on < today:
        return "overdue"
    return inv.status


def summary(inv: Invoice, today: date) -> dict[str, Any]:
    return {"invoice_id": inv.number, "kind": inv.kind, "party_id": inv.party_id, "party_name": inv.party_name,
            "number": inv.number, "issued_on": inv.issued_on, "due_on": inv.due_on, "total": inv.total,
            "outstanding": inv.outstanding, "currency": inv.currency, "status": shown_status(inv, today),
            "process_id": inv.process_id, "credit_note": inv.credit_note,
            "sales_order_id": inv.sales_order_number, "purchase_order_id": inv.purchase_order_number,
            "owner": inv.owner}


def invoices(session: Session, username: str, roles: list[str] | frozenset[str], today: date, *,
             kind: str | None = None, status: str | None = None, party_id: int | None = None,
             limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """The invoices one may see, newest first; `status` overdue is open and past due."""
    q = select(Invoice)
    if (visible := visible_to(username, roles)) is not None:
        q = q.where(visible)
    if kind:
        if kind not in (InvoiceKind.CUSTOMER, InvoiceKind.SUPPLIER):
            raise Invalid(f"kind must be customer or supplier, not {kind!r}")
        q = q.where(Invoice.kind == kind)
    if status:
        if status not in STATUS_FILTERS:
            raise Invalid(f"status must be one of {', '.join(STATUS_FILTERS)}, not {status!r}")
        if status == "overdue":
            q = q.where(Invoice.status == InvoiceStatus.OPEN, Invoice.outstanding > 0, Invoice.due_on < today)
        else:
            q = q.where(Invoice.status == status)
    if party_id is not None:
        q = q.where(Invoice.party_id == party_id)
    q = q.order_by(Invoice.id.desc()).limit(limit).offset(offset)
    return [summary(r, today) for r in session.execute(q).scalars()]


def payments_of(session: Session, inv: Invoice) -> list[dict[str, Any]]:
    """What was set against the invoice: payments (their number) and credit notes, oldest first."""
    rows = session.execute(
        select(PaymentAllocation, Payment.number, Payment.reference, Invoice.number)
        .outerjoin(Payment, Payment.id == PaymentAllocation.payment_id)
        .outerjoin(Invoice, Invoice.id == PaymentAllocation.credit_note_id)
        .where(PaymentAllocation.invoice_id == inv.id).order_by(PaymentAllocation.id)).all()
    return [{"payment_id": pay or None, "credit_note_id": note or None, "reference": ref or "",
             "amount": a.amount, "date": a.allocated_on, "cleared_base": a.cleared_base,
             "exchange_difference": a.exchange_difference} for a, pay, ref, note in rows]


def reminders_of(session: Session, inv: Invoice) -> list[dict[str, Any]]:
    """The reminders raised on the invoice (its dunning tasks), level by level: when, to whom, what they said."""
    if not inv.process_id:
        return []
    tasks = session.execute(select(Task).where(Task.process_id == inv.process_id,
                                               Task.workflow_id.like(f"{inv.process_id}{DUNNING}%"))
                            .order_by(Task.created_at, Task.id)).scalars().all()
    by_level: dict[int, dict[str, Any]] = {}
    for t in tasks:
        level = int(t.workflow_id.rsplit("-", 1)[1])
        r = by_level.setdefault(level, {"level": level, "kind": "reminder" if level == 0 else "dunning",
                                        "raised_at": t.created_at, "title": t.title, "to": [], "open": False})
        r["to"].append(t.candidate_user or f"role {t.candidate_role}")
        r["open"] = r["open"] or t.status == approval_rules.TaskStatus.OPEN
    return [by_level[k] for k in sorted(by_level)]


def journal_of(session: Session, number: str) -> list[dict[str, Any]]:
    """The journal entries posted under the invoice's number (its posting, allocations, a write-off)."""
    rows = session.execute(select(JournalEntry).where(JournalEntry.voucher_no == number)
                           .order_by(JournalEntry.id)).scalars().all()
    return [{"entry_id": e.id, "memo": e.memo, "voucher_type": e.voucher_type, "voucher_no": e.voucher_no,
             "posted_on": e.posted_on,
             "lines": [{"account": ln.account_code, "debit": ln.debit, "credit": ln.credit} for ln in e.lines]}
            for e in rows]


def view(session: Session, inv: Invoice, today: date) -> dict[str, Any]:
    """One invoice: its header in both currencies, lines, payments, reminders and journal entries."""
    return {
        **summary(inv, today), "stored_status": inv.status, "subtotal": inv.subtotal, "tax": inv.tax,
        "rate": inv.rate, "total_base": inv.total_base, "outstanding_base": inv.outstanding_base,
        "delivery_note_id": inv.delivery_note_number, "purchase_order_id": inv.purchase_order_number,
        "supplier_ref": inv.supplier_ref, "against": inv.against_number, "reason": inv.reason,
        "dunning_level": inv.dunning_level, "closed_on": inv.closed_on, "created_by": inv.created_by,
        "lines": [{"sku": ln.sku, "description": ln.description, "qty": ln.qty, "unit_price": ln.unit_price,
                   "net": ln.net} for ln in inv.lines],
        "payments": (paid := payments_of(session, inv)),
        "paid": sum((p["amount"] for p in paid), ZERO),
        "reminders": reminders_of(session, inv),
        "journal": journal_of(session, inv.number),
    }


def of_sales_order(session: Session, so_number: str, today: date) -> list[dict[str, Any]]:
    """The customer invoices (and credit notes) of a sales order, oldest first."""
    rows = session.execute(select(Invoice).where(Invoice.sales_order_number == so_number,
                                                 Invoice.kind == InvoiceKind.CUSTOMER)
                           .order_by(Invoice.id)).scalars().all()
    return [summary(r, today) for r in rows]


def paid_on_sales_order(session: Session, so_number: str) -> Decimal:
    """What the customer paid (payments and credit notes set against) on the order's invoices."""
    ids_ = select(Invoice.id).where(Invoice.sales_order_number == so_number, Invoice.kind == InvoiceKind.CUSTOMER,
                                    Invoice.credit_note.is_(False))
    rows = session.execute(select(PaymentAllocation.amount).where(
        and_(PaymentAllocation.invoice_id.in_(ids_), or_(PaymentAllocation.payment_id.is_not(None),
                                                         PaymentAllocation.credit_note_id.is_not(None))))).scalars()
    return sum(rows, ZERO)
