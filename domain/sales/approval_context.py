"""What an approver needs beside a task's title and amount: the numbers of the document it is about.

A quotation's discount or credit approval shows the customer, the priced lines (those above the discount
limit marked), the totals, the margin at standard cost, the reasons of its price review (a line under cost
or under list, a margin under the policy) and the customer's credit position; a sales order's
credit approval the same for the order. Other processes have no context here yet (the task page shows their
document). Everything is read, nothing written; amounts stay Decimal (the API writes them as strings)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Select, and_, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from domain.approvals.tables import Task
from domain.cash import bills, close, invoicing
from domain.cash.rules import Direction, InvoiceKind, InvoiceStatus
from domain.cash.tables import Invoice, Payment
from domain.core.errors import DomainError
from domain.core.money import money
from domain.core.types import Amount, utcnow
from domain.inventory import stock
from domain.parties.tables import Customer
from domain.sales import pricing, promises
from domain.sales import rules as sales
from domain.sales import services as sales_svc
from domain.sales.tables import Quotation, SalesOrder

Context = dict[str, Any]

# The Approval child's workflow id ends in what it approves (workflows/quotation.py, order_fulfilment.py).
APPROVAL_FOR = {"discount-approval": "discount", "credit-approval": "credit"}


def task_context(session: Session, task: Task) -> Context | None:
    """The numbers behind a task, by the kind of process it belongs to; None where there are none."""
    build = CONTEXTS.get(task.process_type)
    return build(session, task) if build else None


def approval_for(task: Task) -> str | None:
    """discount | credit: which decision an approval task asks for; None for other tasks."""
    return APPROVAL_FOR.get(task.workflow_id.rsplit("/", 1)[-1]) if task.kind == "approval" else None


def _quotation(session: Session, task: Task) -> Context | None:
    q = session.execute(select(Quotation).where(Quotation.number == task.business_key)).scalar_one_or_none()
    if q is None:
        return None
    limit = sales.DEFAULT_DISCOUNT_LIMIT
    return {
        "kind": "quotation", "approval_for": approval_for(task), "number": q.number, "status": q.status,
        **_customer(session, q.customer_id), "currency": q.currency, "issued_on": q.issued_on,
        "valid_until": q.valid_until, "subtotal": q.subtotal, "discount_total": q.discount_total,
        "net_total": q.net_total, "tax_rate": q.tax_rate, "tax": q.tax, "total": q.total,
        "discount_limit_pct": limit, "max_discount_pct": q.max_discount_pct,
        # When each line could ship, as promised when it was recorded; late: after the customer's requested date.
        "requested_date": q.requested_date,
        "late": any(promises.is_late(q.requested_date, ln.promise_date) for ln in q.lines),
        "lines": [{"sku": ln.sku, "qty": ln.qty, "unit_price": ln.unit_price, "discount_pct": ln.discount_pct,
                   "net": ln.net, "over_limit": ln.discount_pct > limit, **promises.line_view(q.requested_date, ln)}
                  for ln in q.lines],
        "margin": _or_none(lambda: sales_svc.margin(session, q)),
        # Why it needs approval, as its price review said when it was recorded (None before reviews existed).
        "review": pricing.Review.model_validate(q.price_review).model_dump() if q.price_review else None,
        # Once accepted the quotation is an order of its own: counted once, as this order, not again as an open one.
        "credit": credit(session, q.customer_id, q.total, excluding=q.sales_order_number, excluding_quotation=q.number),
    }


def _sales_order(session: Session, task: Task) -> Context | None:
    o = session.execute(select(SalesOrder).where(SalesOrder.number == task.business_key)).scalar_one_or_none()
    if o is None:
        return None
    return {
        "kind": "sales_order", "approval_for": approval_for(task), "number": o.number, "status": o.status,
        **_customer(session, o.customer_id), "currency": o.currency, "requested_date": o.requested_date,
        "quotation_id": o.quotation_number, "total": o.total,
        "lines": [{"sku": ln.sku, "qty": ln.qty, "unit_price": ln.unit_price, "net": ln.net} for ln in o.lines],
        "margin": _or_none(lambda: _order_margin(session, o)),
        "credit": credit(session, o.customer_id, o.total, excluding=o.number),
    }


CONTEXTS: dict[str, Callable[[Session, Task], Context | None]] = {
    "supplier_invoice": bills.bill_context,
    "quotation": _quotation,
    "sales_order": _sales_order,
    close.PROCESS_TYPE: close.task_context,
    "customer_invoice": invoicing.task_context,
}


def credit(session: Session, customer_id: int, order_value: Decimal, excluding: str | None,
           excluding_quotation: str | None = None) -> Context:
    """The credit check, with what an approver reads first: by how much the order goes over the limit,
    or how much room is left after it."""
    check = sales_svc.credit_position(session, customer_id, order_value, excluding=excluding,
                                      excluding_quotation=excluding_quotation)
    return {**check.model_dump(), "over_by": _over_by(check),
            "headroom": max(Decimal(0), check.credit_limit - check.exposure)}


def _over_by(check: sales.CreditCheck) -> Decimal:
    return max(Decimal(0), check.exposure - check.credit_limit)


def _order_margin(session: Session, o: SalesOrder) -> sales.Margin:
    """At the lines' net value (an order from a quotation carries its tax in the total, not in the lines)."""
    items = stock.items_by_sku(session, [ln.sku for ln in o.lines])
    revenue = sum((ln.net for ln in o.lines), Decimal(0))
    return sales.margin_of(revenue, [(ln.sku, ln.qty) for ln in o.lines],
                           {sku: item.standard_cost for sku, item in items.items()})


def _or_none(compute: Callable[[], sales.Margin]) -> Context | None:
    """A margin that cannot be computed (an item without a standard cost, or gone) is unknown, not an error
    that hides the rest of the task from its approver."""
    try:
        return compute().model_dump()
    except DomainError:
        return None


def _customer(session: Session, customer_id: int) -> Context:
    c = session.get(Customer, customer_id)
    return {"customer_id": customer_id, "customer": c.name if c else None}


# --- the inbox list: one line per row, read in the list's own query ---------------------------------------

_OpenOrder = aliased(SalesOrder)
_Accepted = aliased(Quotation)


def with_summaries(q: Select[Any], today: date | None = None) -> Select[Any]:
    """A task query with each row's customer, largest discount and credit position beside it, in the same
    statement (outer joins on unique keys, correlated sums on the indexed customer), so the inbox stays one
    query however many rows it shows. Rows: (Task, *the columns `summary` takes). The open orders, the
    accepted quotations not yet orders and the open receivables (open invoices less unused payments) are
    counted as `credit` counts them (sales.credit_position), and the due date of the oldest overdue invoice
    beside them for the credit hold; a unit test holds the two together."""
    today = today or utcnow().date()
    customer_id = func.coalesce(Quotation.customer_id, SalesOrder.customer_id)
    open_orders = (select(func.coalesce(func.sum(_OpenOrder.total), 0))
                   .where(_OpenOrder.customer_id == customer_id, _OpenOrder.status.in_(sales.OPEN_ORDER_STATUSES),
                          _OpenOrder.number != func.coalesce(Quotation.sales_order_number, SalesOrder.number, ""))
                   .correlate(Quotation, SalesOrder).scalar_subquery())
    accepted = (select(func.coalesce(func.sum(_Accepted.total), 0))
                .where(_Accepted.customer_id == customer_id, _Accepted.status.in_(sales.ANSWERED),
                       _Accepted.sales_order_number.is_(None), _Accepted.number != func.coalesce(Quotation.number, ""))
                .correlate(Quotation, SalesOrder).scalar_subquery())
    owed = (select(func.coalesce(func.sum(Invoice.outstanding_base), 0))
            .where(Invoice.kind == InvoiceKind.CUSTOMER, Invoice.party_id == customer_id,
                   Invoice.status == InvoiceStatus.OPEN)
            .correlate(Quotation, SalesOrder).scalar_subquery())
    unused = (select(func.coalesce(func.sum(Payment.unallocated_base), 0))
              .where(Payment.direction == Direction.IN, Payment.party_id == customer_id)
              .correlate(Quotation, SalesOrder).scalar_subquery())
    overdue = (select(func.min(Invoice.due_on))
               .where(Invoice.kind == InvoiceKind.CUSTOMER, Invoice.party_id == customer_id,
                      Invoice.status == InvoiceStatus.OPEN, Invoice.credit_note.is_(False), Invoice.outstanding > 0,
                      Invoice.due_on < today)
               .correlate(Quotation, SalesOrder).scalar_subquery())
    return (q.outerjoin(Quotation, and_(Task.process_type == "quotation", Quotation.number == Task.business_key))
            .outerjoin(SalesOrder, and_(Task.process_type == "sales_order", SalesOrder.number == Task.business_key))
            .outerjoin(Customer, Customer.id == customer_id)
            .add_columns(Customer.name, Customer.credit_limit, func.coalesce(Quotation.total, SalesOrder.total),
                         Quotation.max_discount_pct, type_coerce(open_orders, Amount), type_coerce(accepted, Amount),
                         type_coerce(owed - unused, Amount), type_coerce(overdue, Date)))


def summary(customer: str | None, credit_limit: Decimal | None, total: Decimal | None,
            max_discount_pct: Decimal | None, open_orders: Decimal | None, accepted: Decimal | None = None,
            receivables: Decimal | None = None, oldest_overdue_due: date | None = None, *,
            today: date | None = None, hold_after_days: int | None = None) -> Context | None:
    """The columns `with_summaries` adds, as the inbox row shows them; None for tasks without a context.
    `hold_after_days`: the dunning policy's (domain.cash.services.policy), for the credit hold."""
    if customer is None or credit_limit is None or total is None or open_orders is None:
        return None
    today = today or utcnow().date()
    overdue = (None if oldest_overdue_due is None
               else sales.Overdue(number="", due_on=oldest_overdue_due, days=(today - oldest_overdue_due).days))
    check = sales.credit_check(credit_limit, max(Decimal(0), money(receivables or Decimal(0))), open_orders, total,
                               accepted_quotations=accepted or Decimal(0), oldest_overdue=overdue,
                               hold_after_days=hold_after_days)
    return {"customer": customer, "max_discount_pct": max_discount_pct,
            "over_discount_limit": max_discount_pct is not None and max_discount_pct > sales.DEFAULT_DISCOUNT_LIMIT,
            "over_credit_by": _over_by(check), "on_credit_hold": check.on_hold}
