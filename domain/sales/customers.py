"""Customers as the sales and finance people keep them: the list (search, active / inactive / on credit hold),
one customer's page (credit, contacts, what happened with them, newest first, lifetime revenue and margin), its
contacts, and deactivation, refused while orders or invoices of theirs are open (a running process would be
left with a customer nobody may sell to)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.approvals import access
from domain.audit import services as audit
from domain.cash import services as cash
from domain.cash.rules import InvoiceKind, InvoiceStatus
from domain.cash.tables import Invoice, Payment
from domain.core.errors import Conflict, Invalid, NotFound
from domain.core.names import email_key, name_key
from domain.core.types import utcnow
from domain.crm.rules import EMAIL_RE, PHONE_RE
from domain.crm.tables import Contact, Lead, Opportunity
from domain.parties import master
from domain.parties.tables import Customer
from domain.sales import rules as sales
from domain.sales import services as sales_svc
from domain.sales.tables import Quotation, SalesOrder

PAGE_SIZE = 50
ACTIVITY_EACH = 50  # the latest of each kind read for the activity log...
ACTIVITY_SHOWN = 100  # ...and the newest of them shown
FILTERS = ("all", "active", "inactive", "on_hold")


def _on_hold(today: date, hold_after_days: int) -> ColumnElement[bool]:
    """The customer has an open invoice more than the dunning policy's hold days past due (cash.rules.on_hold)."""
    return exists().where(Invoice.kind == InvoiceKind.CUSTOMER, Invoice.party_id == Customer.id,
                          Invoice.status == InvoiceStatus.OPEN, Invoice.credit_note.is_(False),
                          Invoice.outstanding > 0, Invoice.due_on < today - timedelta(days=hold_after_days))


def listing(session: Session, search: str = "", status: str = "all", page: int = 1,
            today: date | None = None, size: int = PAGE_SIZE) -> dict[str, Any]:
    """A page of customers by name, with whether each is on credit hold and its open receivables."""
    if status not in FILTERS:
        raise Invalid(f"the filter is one of {', '.join(FILTERS)}")
    today = today or utcnow().date()
    held = _on_hold(today, cash.policy(session).dunning.hold_after_days)
    conds: list[ColumnElement[bool]] = []
    if search.strip():
        like = f"%{search.strip()}%"
        conds.append(or_(Customer.name.ilike(like), Customer.name_key.like(f"%{name_key(search)}%")))
    if status == "active":
        conds.append(Customer.active.is_(True))
    elif status == "inactive":
        conds.append(Customer.active.is_(False))
    elif status == "on_hold":
        conds.append(held)
    total = session.execute(select(func.count(Customer.id)).where(*conds)).scalar_one()
    page = max(1, page)
    rows = session.execute(select(Customer, held.label("held")).where(*conds).order_by(Customer.name)
                           .limit(size).offset((page - 1) * size)).all()
    return {"rows": [{**row_view(c), "on_hold": bool(h), "open_receivables": cash.open_receivables(session, c.id)}
                     for c, h in rows],
            "total": int(total), "page": page, "pages": max(1, -(-int(total) // size))}


def row_view(c: Customer) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "currency": c.currency, "credit_limit": c.credit_limit,
            "payment_terms_days": c.payment_terms_days, "active": c.active, "created_at": c.created_at}


def export_rows(session: Session) -> list[dict[str, Any]]:
    """Every customer for the CSV export (the import's columns)."""
    return [{"name": c.name, "currency": c.currency, "credit_limit": f"{c.credit_limit:f}",
             "payment_terms_days": c.payment_terms_days, "active": "yes" if c.active else "no"}
            for c in session.execute(select(Customer).order_by(Customer.name)).scalars()]


def activity(session: Session, customer_id: int) -> list[dict[str, Any]]:
    """Leads, opportunities, quotations, orders, invoices and payments of the customer, newest first."""
    out: list[dict[str, Any]] = []
    for ld in session.execute(select(Lead).where(Lead.customer_id == customer_id)
                              .order_by(Lead.id.desc()).limit(ACTIVITY_EACH)).scalars():
        out.append({"at": ld.created_at, "kind": "lead", "number": ld.number, "status": ld.status,
                    "amount": ld.estimated_value, "url": f"/leads/{ld.number}"})
    for o in session.execute(select(Opportunity).where(Opportunity.customer_id == customer_id)
                             .order_by(Opportunity.id.desc()).limit(ACTIVITY_EACH)).scalars():
        out.append({"at": o.created_at, "kind": "opportunity", "number": o.number, "status": o.stage,
                    "amount": o.amount, "url": f"/opportunities/{o.number}"})
    for q in session.execute(select(Quotation).where(Quotation.customer_id == customer_id)
                             .order_by(Quotation.id.desc()).limit(ACTIVITY_EACH)).scalars():
        out.append({"at": q.created_at, "kind": "quotation", "number": q.number, "status": q.status,
                    "amount": q.total, "url": f"/quotations/{q.number}"})
    for so in session.execute(select(SalesOrder).where(SalesOrder.customer_id == customer_id)
                              .order_by(SalesOrder.id.desc()).limit(ACTIVITY_EACH)).scalars():
        out.append({"at": so.created_at, "kind": "sales_order", "number": so.number, "status": so.status,
                    "amount": so.total, "url": f"/sales-orders/{so.number}"})
    for inv in session.execute(select(Invoice).where(Invoice.kind == InvoiceKind.CUSTOMER,
                                                     Invoice.party_id == customer_id)
                               .order_by(Invoice.id.desc()).limit(ACTIVITY_EACH)).scalars():
        out.append({"at": inv.created_at, "kind": "credit_note" if inv.credit_note else "invoice",
                    "number": inv.number, "status": inv.status, "amount": inv.total, "url": f"/invoices/{inv.number}"})
    for p in session.execute(select(Payment).where(Payment.direction == "in", Payment.party_id == customer_id)
                             .order_by(Payment.id.desc()).limit(ACTIVITY_EACH)).scalars():
        out.append({"at": p.created_at, "kind": "payment", "number": p.number, "status": "received",
                    "amount": p.amount, "url": f"/payments/{p.number}"})
    out.sort(key=lambda r: (r["at"], r["number"]), reverse=True)
    return out[:ACTIVITY_SHOWN]


def page(session: Session, customer_id: int, viewer: access.Viewer) -> dict[str, Any]:
    c = master.customer(session, customer_id)
    summary = sales_svc.customer_summary(session, c, viewer=viewer)
    contacts = session.execute(select(Contact).where(Contact.customer_id == c.id).order_by(Contact.id)
                               .limit(200)).scalars()
    return {"customer": row_view(c), **summary,
            "contacts": [{"id": k.id, "name": k.name, "email": k.email, "phone": k.phone} for k in contacts],
            "activity": activity(session, c.id), "blockers": open_business(session, c.id),
            "trail": audit.trail(session, "customer", c.id, limit=20) + audit.trail(session, "credit_limit", c.id,
                                                                                      limit=20)}


def open_business(session: Session, customer_id: int) -> list[str]:
    """What stands in the way of deactivating the customer: open orders, open invoices, quotations out."""
    orders = session.execute(select(SalesOrder.number).where(
        SalesOrder.customer_id == customer_id, SalesOrder.status.in_(sales.OPEN_ORDER_STATUSES))
        .order_by(SalesOrder.id).limit(5)).scalars().all()
    invoices = session.execute(select(Invoice.number).where(
        Invoice.kind == InvoiceKind.CUSTOMER, Invoice.party_id == customer_id,
        Invoice.status.in_((InvoiceStatus.OPEN, InvoiceStatus.PENDING_APPROVAL)), Invoice.outstanding != 0)
        .order_by(Invoice.id).limit(5)).scalars().all()
    quotes = session.execute(select(Quotation.number).where(
        Quotation.customer_id == customer_id,
        Quotation.status.in_((sales.QuotationStatus.SENT, sales.QuotationStatus.PENDING_APPROVAL,
                              sales.QuotationStatus.PENDING_CREDIT_APPROVAL)))
        .order_by(Quotation.id).limit(5)).scalars().all()
    out = []
    if orders:
        out.append(f"open sales orders {', '.join(orders)}")
    if invoices:
        out.append(f"open invoices {', '.join(invoices)}")
    if quotes:
        out.append(f"quotations out {', '.join(quotes)}")
    return out


def deactivate(session: Session, customer_id: int, actor: str) -> Customer:
    """Inactive: refused (409, saying what is open) while the customer has open orders, open invoices or
    quotations out."""
    c = master.customer(session, customer_id)
    sales_svc.lock_customer(session, c.id)
    if not c.active:
        return c
    blockers = open_business(session, c.id)
    if blockers:
        raise Conflict(f"{c.name} cannot be deactivated while it has {'; '.join(blockers)}: finish or cancel "
                       "them first")
    return master.set_active(session, c, False, actor)


def reactivate(session: Session, customer_id: int, actor: str) -> Customer:
    return master.set_active(session, master.customer(session, customer_id), True, actor)


def add_contact(session: Session, customer_id: int, name: str, email: str, phone: str, actor: str) -> Contact:
    """A person at the customer; the same name or e-mail there again is refused (409)."""
    c = master.customer(session, customer_id)
    name, email, phone = name.strip(), email.strip(), phone.strip()
    if not name:
        raise Invalid("a contact needs a name")
    if len(name) > 200:
        raise Invalid("a contact's name has at most 200 characters")
    if email and (len(email) > 254 or not re.match(EMAIL_RE, email)):
        raise Invalid("the e-mail must be an e-mail address such as name@example.com")
    if phone and not re.match(PHONE_RE, phone):
        raise Invalid("the phone must be a phone number: digits, spaces and + ( ) - . /")
    same = session.execute(select(Contact).where(Contact.customer_id == c.id, or_(
        Contact.name_key == name_key(name), *([Contact.email_key == email_key(email)] if email_key(email) else [])))
    ).scalars().first()
    if same is not None:
        raise Conflict(f"{c.name} has a contact {same.name} already")
    row = Contact(customer_id=c.id, name=name, email=email, phone=phone)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict(f"{c.name} has that contact already") from None
    audit.record(session, actor, "customer", c.id, None, {"contact": {"name": name, "email": email, "phone": phone}},
                 action="contact added")
    return row


def remove_contact(session: Session, customer_id: int, contact_id: int, actor: str) -> None:
    row = session.get(Contact, contact_id)
    if row is None or row.customer_id != customer_id:
        raise NotFound(f"no contact {contact_id} of customer {customer_id}")
    audit.record(session, actor, "customer", customer_id, {"contact": {"name": row.name, "email": row.email}},
                 None, action="contact removed")
    session.delete(row)
    session.flush()

