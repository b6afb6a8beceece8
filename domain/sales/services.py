"""Quotations and sales orders in SQL: recording, status, the customer's credit position, the order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from domain import permissions
from domain.approvals import access
from domain.approvals import services as approvals
from domain.approvals.rules import ChainStep
from domain.approvals.tables import Task
from domain.cash import services as cash
from domain.cash.rules import InvoiceKind, InvoiceStatus
from domain.cash.tables import Invoice
from domain.core import records as common
from domain.core.errors import Conflict, NotFound
from domain.core.money import money
from domain.core.types import utcnow
from domain.crm import rules as crm
from domain.crm import services as crm_svc
from domain.crm.tables import Contact, Opportunity
from domain.inventory import stock
from domain.parties.tables import Customer
from domain.permissions import Action
from domain.sales import access as sales_access
from domain.sales import pricing_policies as pricing
from domain.sales import promises
from domain.sales import rules as sales
from domain.sales.rules import QuotationStatus, SalesOrderStatus
from domain.sales.tables import Quotation, QuotationLine, SalesOrder, SalesOrderLine


def opportunity(session: Session, number: str) -> Opportunity:
    return common.one(session, Opportunity, Opportunity.number == number, f"no opportunity {number}")


def quotation(session: Session, number: str) -> Quotation:
    return common.one(session, Quotation, Quotation.number == number, f"no quotation {number}")


def record_quotation(session: Session, draft: sales.QuotationDraft, process_id: str) -> Quotation:
    """The priced quotation on an open opportunity; `pending_approval` when its price review asks for approval
    (a discount over the limit, a line under cost or too far under list, a margin under the policy's minimum),
    `sent` otherwise. The review is kept on it. Retried activities find it by number."""
    existing = session.execute(select(Quotation).where(Quotation.number == draft.number)).scalar_one_or_none()
    if existing is not None:
        return existing
    opp = opportunity(session, draft.opportunity)
    if opp.stage in crm.CLOSED_STAGES:
        raise Conflict(f"opportunity {opp.number} is {opp.stage}; no more quotations on it")
    items = stock.items_by_sku(session, [ln.sku for ln in draft.lines])
    priced = sales.price(draft.lines, draft.tax_rate)
    # A line promised after the customer's requested date is one more reason for approval.
    review = promises.with_lateness(pricing.review(session, draft.lines), draft.requested_date, draft.promises)
    customer = session.get(Customer, opp.customer_id)
    assert customer is not None
    row = Quotation(number=draft.number, opportunity_id=opp.id, customer_id=opp.customer_id,
                    status=QuotationStatus.PENDING_APPROVAL if review.needs_approval else QuotationStatus.SENT,
                    currency=customer.currency, issued_on=draft.issued_on,
                    valid_until=sales.valid_until(draft.issued_on, draft.valid_days), subtotal=priced.subtotal,
                    discount_total=priced.discount_total, net_total=priced.net_total, tax_rate=draft.tax_rate,
                    tax=priced.tax, total=priced.total,
                    max_discount_pct=max(ln.discount_pct for ln in draft.lines), process_id=process_id,
                    created_by=draft.created_by, price_review=review.model_dump(mode="json"),
                    requested_date=draft.requested_date)
    promised = draft.promises if len(draft.promises) == len(priced.lines) else []
    row.lines = [QuotationLine(item_id=items[p.sku].id, sku=p.sku, qty=p.qty, unit_price=p.unit_price,
                               discount_pct=p.discount_pct, net=p.net) for p in priced.lines]
    for line, kept in zip(row.lines, promised, strict=False):
        line.promise_date, line.promise_basis = kept.promise_date, kept.basis
        line.constrained_by, line.promise_constraint = kept.constrained_by, kept.constraint
    session.add(row)
    if opp.stage == crm.Stage.QUALIFICATION:  # a quotation out means the opportunity is at the proposal stage
        opp.stage, opp.probability = crm.Stage.PROPOSAL, crm.DEFAULT_PROBABILITY[crm.Stage.PROPOSAL]
        opp.expected_value = crm.expected_value(opp.amount, opp.probability)
    session.flush()
    return row


QUOTATIONS_OUT = (QuotationStatus.SENT, QuotationStatus.PENDING_APPROVAL)


def move_opportunity(session: Session, number: str, stage: str) -> None:
    """crm's stage move, and sales' rule on it: an opportunity with a quotation out (sent, or waiting for its
    approval) is at the proposal stage or beyond, so moving it back to qualification is refused (409)."""
    if stage == crm.Stage.QUALIFICATION:
        opp = crm_svc.locked_opportunity(session, number)
        out = session.execute(select(Quotation.number).where(
            Quotation.opportunity_id == opp.id, Quotation.status.in_(QUOTATIONS_OUT)).order_by(Quotation.id)
            .limit(3)).scalars().all()
        if out and opp.stage != crm.Stage.QUALIFICATION:
            raise Conflict(f"opportunity {number} has quotation {', '.join(out)} out, so it stays at the proposal "
                           "stage or beyond: withdraw or settle the quotation first")
    crm_svc.move_opportunity(session, number, stage)


def set_quotation_status(session: Session, number: str, status: QuotationStatus, reason: str = "") -> None:
    row = quotation(session, number)
    row.status = status
    if reason:
        row.reason = reason
    if status in (QuotationStatus.SENT, QuotationStatus.REJECTED, QuotationStatus.ACCEPTED, QuotationStatus.EXPIRED):
        row.decided_at = row.decided_at or utcnow()
    session.flush()


def record_acceptance(session: Session, number: str, requester: str) -> sales.CreditDecision:
    """The customer accepts the quotation. Decided under the opportunity's lock, so it cannot cross the
    opportunity being lost or another of its quotations being accepted: `pending_credit_approval` with
    finance's chain when the order would take the customer over their credit or the customer is on credit
    hold, `accepted` otherwise
    (the order follows). A retry finds it answered and gets the chain again."""
    q = quotation(session, number)
    opp = session.execute(select(Opportunity).where(Opportunity.id == q.opportunity_id).with_for_update()
                          ).scalar_one()
    if q.status not in sales.ANSWERED:
        if opp.stage in crm.CLOSED_STAGES:
            raise Conflict(f"opportunity {opp.number} is {opp.stage}; quotation {number} can no longer be accepted")
        other = session.execute(select(Quotation.number).where(
            Quotation.opportunity_id == opp.id, Quotation.status.in_(sales.ANSWERED), Quotation.id != q.id)
        ).scalars().first()
        if other is not None:
            raise Conflict(f"the customer already accepted quotation {other} of opportunity {opp.number}")
        if q.status != QuotationStatus.SENT:
            raise Conflict(f"quotation {number} is {q.status.replace('_', ' ')}; only a sent quotation can be "
                           "accepted")
    lock_customer(session, q.customer_id)
    decision = credit_decision(session, credit_position(session, q.customer_id, q.total,
                                                        excluding_quotation=q.number), q.total, requester)
    q.status = QuotationStatus.PENDING_CREDIT_APPROVAL if decision.steps else QuotationStatus.ACCEPTED
    session.flush()
    return decision


def credit_decision(session: Session, check: sales.CreditCheck, amount: Decimal, requester: str
                    ) -> sales.CreditDecision:
    """Finance's chain when the check needs approval (over the limit, or on credit hold), and why."""
    steps: list[ChainStep] = (approvals.chain_for(session, "sales_credit", amount, requester)
                              if check.needs_approval else [])
    return sales.CreditDecision(steps=steps, over_limit=check.over_limit, on_hold=check.on_hold)


def margin(session: Session, row: Quotation) -> sales.Margin:
    """The margin at standard cost an approver sees beside the discount."""
    items = stock.items_by_sku(session, [ln.sku for ln in row.lines])
    return sales.margin_of(row.net_total, [(ln.sku, ln.qty) for ln in row.lines],
                           {sku: item.standard_cost for sku, item in items.items()})


def credit_position(session: Session, customer_id: int, order_value: Decimal, excluding: str | None = None,
                    excluding_quotation: str | None = None, today: date | None = None) -> sales.CreditCheck:
    """The customer's exposure with this order: open receivables (domain.cash: open invoices less credit notes
    and unused payments), open orders, and quotations the customer has accepted whose order is not created yet
    (waiting for finance, or a moment from it); and the credit hold (an invoice past due longer than the
    dunning policy allows). `excluding` and `excluding_quotation`: the order or quotation being checked (its
    value is `order_value`)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    open_orders = session.execute(
        select(func.coalesce(func.sum(SalesOrder.total), 0))
        .where(SalesOrder.customer_id == customer_id, SalesOrder.status.in_(sales.OPEN_ORDER_STATUSES),
               SalesOrder.number != (excluding or ""))
    ).scalar_one()
    accepted = session.execute(
        select(func.coalesce(func.sum(Quotation.total), 0))
        .where(Quotation.customer_id == customer_id, Quotation.status.in_(sales.ANSWERED),
               Quotation.sales_order_number.is_(None), Quotation.number != (excluding_quotation or ""))
    ).scalar_one()
    today = today or utcnow().date()
    return sales.credit_check(customer.credit_limit, cash.open_receivables(session, customer_id), Decimal(open_orders),
                              order_value, accepted_quotations=Decimal(accepted),
                              oldest_overdue=oldest_overdue(session, customer_id, today),
                              hold_after_days=cash.policy(session).dunning.hold_after_days)


def oldest_overdue(session: Session, customer_id: int, today: date) -> sales.Overdue | None:
    """The customer's open invoice longest past due (as domain.cash.services.oldest_overdue), with its number."""
    row = session.execute(
        select(Invoice.number, Invoice.due_on)
        .where(Invoice.kind == InvoiceKind.CUSTOMER, Invoice.party_id == customer_id,
               Invoice.status == InvoiceStatus.OPEN, Invoice.credit_note.is_(False), Invoice.outstanding > 0,
               Invoice.due_on < today)
        .order_by(Invoice.due_on, Invoice.number).limit(1)).first()
    return None if row is None else sales.Overdue(number=row[0], due_on=row[1], days=(today - row[1]).days)


def lock_customer(session: Session, customer_id: int) -> None:
    """Credit decisions for one customer are taken one at a time (`FOR UPDATE` on PostgreSQL; SQLite
    writers are serial already): two acceptances at once cannot both see the room only one of them fits."""
    session.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update()).first()


def create_order(session: Session, quotation_number: str, *, owner: str, process_id: str, key: str) -> SalesOrder:
    """The sales order of an accepted quotation (lines at their net prices), once per key."""
    existing = session.execute(select(SalesOrder).where(SalesOrder.idempotency_key == key)).scalar_one_or_none()
    if existing is not None:
        return existing
    q = quotation(session, quotation_number)
    order = SalesOrder(number=common.next_number(session, "SO"), customer_id=q.customer_id, quotation_number=q.number,
                       status=SalesOrderStatus.OPEN, currency=q.currency, total=q.total, owner=owner,
                       process_id=process_id,
                       idempotency_key=key)
    order.lines = [SalesOrderLine(item_id=ln.item_id, sku=ln.sku, qty=ln.qty, unit_price=(ln.net / ln.qty),
                                  net=ln.net) for ln in q.lines]
    session.add(order)
    q.status, q.sales_order_number, q.decided_at = QuotationStatus.ACCEPTED, order.number, q.decided_at or utcnow()
    opp = session.get(Opportunity, q.opportunity_id)
    if opp is not None and opp.stage not in crm.CLOSED_STAGES:
        opp.stage, opp.probability, opp.closed_at = crm.Stage.WON, 100, utcnow()
        opp.expected_value = crm.expected_value(opp.amount, 100)
    session.flush()
    return order


def quotation_view(session: Session, row: Quotation) -> dict[str, Any]:
    opp = session.get(Opportunity, row.opportunity_id)
    return {
        "id": row.number, "quotation_id": row.number, "opportunity_id": opp.number if opp else None,
        "customer_id": row.customer_id, "status": row.status, "currency": row.currency, "issued_on": row.issued_on,
        "valid_until": row.valid_until, "subtotal": row.subtotal, "discount_total": row.discount_total,
        "net_total": row.net_total, "tax_rate": row.tax_rate, "tax": row.tax, "total": row.total,
        "max_discount_pct": row.max_discount_pct, "sales_order_id": row.sales_order_number,
        "reason": row.reason or None, "requested_date": row.requested_date,
        "late": any(promises.is_late(row.requested_date, ln.promise_date) for ln in row.lines),
        "process_id": row.process_id, "created_by": row.created_by, "created_at": row.created_at,
        "lines": [{"sku": ln.sku, "qty": ln.qty, "unit_price": ln.unit_price, "discount_pct": ln.discount_pct,
                   "net": ln.net, **promises.line_view(row.requested_date, ln)} for ln in row.lines],
    }


def order(session: Session, number: str) -> SalesOrder:
    return common.one(session, SalesOrder, SalesOrder.number == number, f"no sales order {number}")


def reserve_order(session: Session, number: str, key: str) -> sales.Reservation:
    """Reserve each line's stock as far as it is available, once per key; says what is short."""

    def effect() -> dict[str, Any]:
        row = order(session, number)
        short = {}
        for ln in sorted(row.lines, key=lambda x: x.sku):  # one lock order for every order
            left = ln.qty - ln.delivered_qty  # what partial deliveries have not taken yet
            ln.reserved_qty += stock.reserve(session, ln.sku, max(left - ln.reserved_qty, Decimal(0)))
            if ln.reserved_qty < left:
                short[ln.sku] = f"{(left - ln.reserved_qty).normalize():f}"
        row.status = SalesOrderStatus.IN_FULFILMENT
        session.flush()
        return sales.Reservation(short=short).model_dump(mode="json")

    return sales.Reservation.model_validate(common.once(session, key, effect))  # a retry: the stored dict


def visible_opportunity(session: Session, number: str, viewer: access.Viewer) -> Opportunity:
    """The opportunity `viewer` (username, roles) may open: its owner's, or any to one who may see them all;
    NotFound otherwise, as for a number that does not exist."""
    try:
        opp = opportunity(session, number)
    except NotFound:
        opp = None
    username, roles = viewer
    if opp is None or not (opp.owner == username or permissions.may(roles, Action.OPPORTUNITY_SEE_ALL)):
        raise NotFound(f"no opportunity {number}")
    return opp


def visible_quotation(session: Session, number: str, viewer: access.Viewer) -> Quotation:
    """The quotation `viewer` may open: its author, or by access.may_see (the opportunity's owner, overseers,
    those in its process); NotFound otherwise."""
    try:
        q = quotation(session, number)
    except NotFound:
        q = None
    if q is None:
        raise NotFound(f"no quotation {number}")
    opp = session.get(Opportunity, q.opportunity_id)
    _must_see_quotation(session, number, viewer, q.created_by, opp.owner if opp else q.created_by, q.process_id)
    return q


_QUOTATION_STATUS = (select(Quotation.status, Quotation.created_by, Quotation.process_id, Opportunity.id.label("opp"),
                            Opportunity.owner)
                     .outerjoin(Opportunity, Opportunity.id == Quotation.opportunity_id)
                     .where(Quotation.number == bindparam("number")))


def visible_quotation_status(read: Session | Connection, number: str, viewer: access.Viewer) -> str:
    """The status of the quotation `viewer` may open (visible_quotation's rule), in one statement without loading
    the quotation: what a long poll waits on."""
    row = read.execute(_QUOTATION_STATUS, {"number": number}).first()
    if row is None:
        raise NotFound(f"no quotation {number}")
    _must_see_quotation(read, number, viewer, row.created_by,
                        row.created_by if row.opp is None else row.owner, row.process_id)
    return str(row.status)


def _must_see_quotation(read: Session | Connection, number: str, viewer: access.Viewer, author: str, owner: str,
                        process_id: str) -> None:
    username, roles = viewer
    if username != author and not access.may_see(read, username, set(roles), "quotation", owner, process_id):
        raise NotFound(f"no quotation {number}")


def visible_order(session: Session, number: str, viewer: access.Viewer) -> SalesOrder:
    """The order `viewer` (username, roles) may open (sales_access.may_see_order); NotFound otherwise, the same
    answer as for a number that does not exist. The JSON routes and the pages both ask this."""
    try:
        row = order(session, number)
    except NotFound:
        row = None
    _must_see_order(number, viewer, row)
    assert row is not None
    return row


_ORDER_STATUS = select(SalesOrder.status, SalesOrder.owner).where(SalesOrder.number == bindparam("number"))


def visible_order_status(read: Session | Connection, number: str, viewer: access.Viewer) -> str:
    """The status of the order `viewer` may open (visible_order's rule), in one statement: a long poll's sign."""
    row = read.execute(_ORDER_STATUS, {"number": number}).first()
    _must_see_order(number, viewer, row)
    return str(row.status)  # type: ignore[union-attr]  # _must_see_order raised if it was None


def _must_see_order(number: str, viewer: access.Viewer, order_row: Any) -> None:
    if order_row is None or not sales_access.may_see_order(*viewer, order_row.owner):
        raise NotFound(f"no sales order {number}")


def release_order(session: Session, number: str, status: SalesOrderStatus, key: str) -> None:
    """Give the order's reservations back (it was cancelled), once per key."""

    def effect() -> None:
        row = order(session, number)
        for ln in sorted(row.lines, key=lambda x: x.sku):
            if ln.reserved_qty:
                stock.release(session, ln.sku, ln.reserved_qty)
                ln.reserved_qty = Decimal(0)
        row.status = status
        session.flush()

    common.once(session, key, effect)


def order_view(session: Session, row: SalesOrder, supply: dict[str, Any] | None = None) -> dict[str, Any]:
    """The order as its page shows it, with `supply` (production.for_sales_order: what the order's page shows
    of its production and purchase orders) where given; production.sales_order_view composes the two."""
    return {
        "id": row.number, "sales_order_id": row.number, "customer_id": row.customer_id,
        "quotation_id": row.quotation_number, "status": row.status, "currency": row.currency, "total": row.total,
        "owner": row.owner, "process_id": row.process_id, "requested_date": row.requested_date,
        "created_at": row.created_at,
        "lines": [{"sku": ln.sku, "qty": ln.qty, "unit_price": ln.unit_price, "net": ln.net,
                   "reserved_qty": ln.reserved_qty, "delivered_qty": ln.delivered_qty,
                   "returned_qty": ln.returned_qty} for ln in row.lines],
        **(supply or {}),
        # Revenue net of tax; cost and margin once delivered (the goods at their value in stock).
        "revenue": row.revenue if row.revenue is not None else sum((ln.net for ln in row.lines), Decimal(0)),
        "cost": None if row.cost_total is None else {
            "material": row.cost_material, "labour": row.cost_labour, "overhead": row.cost_overhead,
            "total": row.cost_total},
        "margin": row.margin, "delivered_at": row.delivered_at, "notice": row.notice or None,
    }


def record_direct_order(session: Session, ref: sales.OrderRef, process_id: str) -> SalesOrder:
    """A sales order entered directly (no quotation), `pending_credit` until its process checked the
    credit; once per number."""
    existing = session.execute(select(SalesOrder).where(SalesOrder.number == ref.number)).scalar_one_or_none()
    if existing is not None:
        return existing
    customer = session.get(Customer, ref.customer_id)
    if customer is None:
        raise NotFound(f"no customer {ref.customer_id}")
    items = stock.items_by_sku(session, [ln.sku for ln in ref.lines])
    row = SalesOrder(number=ref.number, customer_id=customer.id, status=SalesOrderStatus.PENDING_CREDIT,
                     currency=customer.currency,
                     requested_date=ref.requested_date, total=sales.order_total(ref.lines), owner=ref.owner,
                     process_id=process_id, idempotency_key=f"{process_id}:order")
    row.lines = [SalesOrderLine(item_id=items[ln.sku].id, sku=ln.sku, qty=ln.qty, unit_price=ln.unit_price,
                                net=money(ln.qty * ln.unit_price)) for ln in ref.lines]
    session.add(row)
    session.flush()
    return row


def customer_summary(session: Session, customer: Customer, recent: int = 50,
                     viewer: access.Viewer | None = None) -> dict[str, Any]:
    """What the customer detail adds: contacts, the most recent orders, the credit position, the lifetime
    value booked (orders not cancelled), and revenue and margin of what was delivered (margin None before
    the first delivery, not a made-up zero). `viewer` (username, roles): the orders, and the sums over them,
    are those the viewer may open (sales_access.orders_visible_to, the rule of GET /api/sales-orders/{id});
    None: every order."""
    visible = sales_access.orders_visible_to(*viewer) if viewer is not None else None
    mine = [] if visible is None else [visible]
    orders = session.execute(select(SalesOrder).where(SalesOrder.customer_id == customer.id, *mine)
                             .order_by(SalesOrder.id.desc()).limit(recent)).scalars().all()
    booked = session.execute(select(func.coalesce(func.sum(SalesOrder.total), 0)).where(
        SalesOrder.customer_id == customer.id, SalesOrder.status != SalesOrderStatus.CANCELLED, *mine)).scalar_one()
    contacts = session.execute(select(Contact).where(Contact.customer_id == customer.id)
                               .order_by(Contact.id)).scalars().all()
    delivered, margin_ = customer_margin(session, customer.id, visible)
    return {
        "contacts": [{"name": c.name, "email": c.email, "phone": c.phone or None} for c in contacts],
        "orders": [{"sales_order_id": o.number, "status": o.status, "total": o.total, "currency": o.currency,
                    "margin": o.margin, "created_at": o.created_at} for o in orders],
        # The customer's whole exposure against their limit: what a salesperson needs to know before an order.
        "credit": credit_position(session, customer.id, Decimal(0)).model_dump(exclude={"order_value"}),
        "lifetime_revenue": money(Decimal(booked)), "delivered_revenue": delivered,
        "lifetime_margin": margin_,
    }


def customer_margin(session: Session, customer_id: int, visible: ColumnElement[bool] | None = None
                    ) -> tuple[Decimal, Decimal | None]:
    """(revenue, margin) of the customer's delivered orders (those `visible` lets through, if given); margin
    None before the first delivery."""
    revenue, margin, n = session.execute(
        select(func.coalesce(func.sum(SalesOrder.revenue), 0), func.coalesce(func.sum(SalesOrder.margin), 0),
               func.count(SalesOrder.id))
        .where(SalesOrder.customer_id == customer_id, SalesOrder.status == SalesOrderStatus.COMPLETED,
               *([] if visible is None else [visible]))).one()
    return Decimal(revenue or 0), (Decimal(margin or 0) if n else None)


def lose_opportunity(session: Session, number: str, reason: str) -> list[str]:
    """An opportunity lost, with the reason (crm's record, closed here because its quotations are sales'); its quotations still awaiting approval or the customer are rejected with
    it. Refused once the customer has accepted one of them. Returns the quotations it rejected."""
    opp = crm_svc.locked_opportunity(session, number)
    quotations = list(session.execute(select(Quotation).where(Quotation.opportunity_id == opp.id)
                                      .order_by(Quotation.id)).scalars())
    if opp.stage == crm.Stage.LOST and opp.lost_reason == reason:
        return [q.number for q in quotations if q.reason == f"opportunity lost: {reason}"]  # retried
    if opp.stage in crm.CLOSED_STAGES:
        raise Conflict(f"opportunity {number} is already {opp.stage}")
    accepted = [q.number for q in quotations if q.status in sales.ANSWERED]
    if accepted:
        raise Conflict(f"the customer accepted quotation {accepted[0]} of opportunity {number}; "
                       "it cannot be lost now")
    opp.stage, opp.probability, opp.expected_value = crm.Stage.LOST, 0, crm.expected_value(opp.amount, 0)
    opp.lost_reason, opp.closed_at = reason, utcnow()
    withdrawn = []
    for q in quotations:
        if q.status in (QuotationStatus.PENDING_APPROVAL, QuotationStatus.SENT):
            q.status, q.reason = QuotationStatus.REJECTED, f"opportunity lost: {reason}"
            q.decided_at = q.decided_at or utcnow()
            withdrawn.append(q.number)
    session.flush()
    return withdrawn


def tasks_of_customer(customer: str) -> Any:
    """The tasks on the documents (quotations, sales orders) of customers whose name contains `customer`:
    a task carries no customer of its own, its document does."""
    named = select(Customer.id).where(func.lower(Customer.name).contains(customer.lower()))
    return or_(
        and_(Task.process_type == "quotation",
             Task.business_key.in_(select(Quotation.number).where(Quotation.customer_id.in_(named)))),
        and_(Task.process_type == "sales_order",
             Task.business_key.in_(select(SalesOrder.number).where(SalesOrder.customer_id.in_(named)))),
    )
