"""The sales pipeline read from SQL: one opportunity with its quotations, and the opportunities by stage
with their totals. Reads only; every query is bounded and runs on an index."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from domain import permissions
from domain.core.types import utcnow
from domain.crm import rules as crm
from domain.crm.tables import Lead, Opportunity
from domain.org.tables import User, UserRole
from domain.parties.tables import Customer
from domain.permissions import Action
from domain.sales.tables import Quotation, SalesOrder

CLOSED_DAYS = 30  # won and lost: those closed in the last 30 days...
CARDS_PER_STAGE = 50  # ...and at most this many cards per stage (the totals count them all)
QUOTATIONS_PER_OPPORTUNITY = 100


def opportunity_view(session: Session, row: Opportunity) -> dict[str, Any]:
    customer = session.get(Customer, row.customer_id)
    lead_number = session.execute(select(Lead.number).where(Lead.id == row.lead_id)).scalar_one_or_none()
    quotations = session.execute(select(Quotation).where(Quotation.opportunity_id == row.id)
                                 .order_by(Quotation.id).limit(QUOTATIONS_PER_OPPORTUNITY)).scalars()
    return {
        "id": row.number, "opportunity_id": row.number, "lead_id": lead_number, "customer_id": row.customer_id,
        "customer": customer.name if customer else None, "name": row.name, "stage": row.stage,
        "probability": row.probability, "amount": row.amount, "expected_value": row.expected_value,
        "owner": row.owner, "lost_reason": row.lost_reason or None, "process_id": row.process_id,
        "created_at": row.created_at, "closed_at": row.closed_at,
        "quotations": [{"number": q.number, "status": q.status, "total": q.total,
                        "max_discount_pct": q.max_discount_pct, "valid_until": q.valid_until,
                        "sales_order_id": q.sales_order_number} for q in quotations],
    }


def _card(opp: Opportunity, customer: str, ordered: Decimal | None = None) -> dict[str, Any]:
    """`ordered`: a won opportunity's sales orders' total, shown as its amount (the lead's estimate stays
    `estimate`)."""
    amount = ordered if ordered is not None else opp.amount
    return {"number": opp.number, "name": opp.name, "customer": customer, "owner": opp.owner,
            "probability": opp.probability, "amount": amount, "estimate": opp.amount,
            "expected_value": ordered if ordered is not None else opp.expected_value,
            "created_at": opp.created_at, "closed_at": opp.closed_at}


def pipeline(session: Session, owner: str | None, *, now: datetime | None = None) -> dict[str, Any]:
    """Open opportunities and those won or lost in the last CLOSED_DAYS days, by stage in pipeline order:
    per stage its count, amount and expected value, and the cards (the biggest expected value first;
    won and lost the most recently closed first). `owner` None: everybody's."""
    since = (now or utcnow()) - timedelta(days=CLOSED_DAYS)

    def where(stage: str | None = None) -> list[ColumnElement[bool]]:
        conds = [] if stage is None else [Opportunity.stage == stage]
        if stage in crm.CLOSED_STAGES:
            conds.append(Opportunity.closed_at >= since)
        return conds if owner is None else [*conds, Opportunity.owner == owner]

    totals = {
        stage: (count, amount, expected)
        for stage, count, amount, expected in session.execute(
            select(Opportunity.stage, func.count(), func.sum(Opportunity.amount),
                   func.sum(Opportunity.expected_value))
            .where(or_(Opportunity.stage.in_(crm.OPEN_STAGES),
                       Opportunity.stage.in_(crm.CLOSED_STAGES) & (Opportunity.closed_at >= since)), *where())
            .group_by(Opportunity.stage))
    }
    # A won opportunity is worth what its customer ordered: its sales orders' totals, not the lead's estimate.
    ordered = {opp_id: Decimal(total or 0) for opp_id, total in session.execute(
        select(Opportunity.id, func.sum(SalesOrder.total))
        .join(Quotation, Quotation.opportunity_id == Opportunity.id)
        .join(SalesOrder, SalesOrder.number == Quotation.sales_order_number)
        .where(*where(crm.Stage.WON)).group_by(Opportunity.id))}
    if crm.Stage.WON in totals:
        count, _amount, _expected = totals[crm.Stage.WON]
        won = session.execute(select(func.coalesce(func.sum(Opportunity.amount), 0)).where(
            *where(crm.Stage.WON), Opportunity.id.not_in(list(ordered) or [0]))).scalar_one()
        value = sum(ordered.values(), Decimal(0)) + Decimal(won or 0)
        totals[crm.Stage.WON] = (count, value, value)
    stages: list[dict[str, Any]] = []
    for stage in crm.STAGES:
        count, amount, expected = totals.get(stage, (0, None, None))
        order = ((Opportunity.closed_at.desc(), Opportunity.id.desc()) if stage in crm.CLOSED_STAGES
                 else (Opportunity.expected_value.desc(), Opportunity.id))
        rows = session.execute(select(Opportunity, Customer.name)
                               .join(Customer, Customer.id == Opportunity.customer_id).where(*where(stage))
                               .order_by(*order).limit(CARDS_PER_STAGE)).all()
        stages.append({"stage": stage, "closed": stage in crm.CLOSED_STAGES, "count": int(count),
                       "amount": Decimal(amount or 0), "expected_value": Decimal(expected or 0),
                       "cards": [_card(opp, name, ordered.get(opp.id)) for opp, name in rows]})
    open_stages = [s for s in stages if not s["closed"]]
    return {"owner": owner, "since": since, "closed_days": CLOSED_DAYS, "stages": stages,
            "open_count": sum(s["count"] for s in open_stages),
            "open_amount": sum((s["amount"] for s in open_stages), Decimal(0)),
            "open_expected_value": sum((s["expected_value"] for s in open_stages), Decimal(0))}


def open_leads(session: Session, visible_to: str | None, limit: int = 100) -> list[dict[str, Any]]:
    """Leads not yet decided (new or assigned), newest first: all of them (`visible_to` None), or those
    the user owns or created."""
    q = select(Lead).where(Lead.status.in_(crm.OPEN_LEAD_STATUSES))
    if visible_to is not None:
        q = q.where(or_(Lead.owner == visible_to, Lead.created_by == visible_to))
    return [{"number": r.number, "company": r.company, "contact": r.contact, "source": r.source,
             "estimated_value": r.estimated_value, "owner": r.owner, "status": r.status, "score": r.score,
             "created_at": r.created_at, "last_activity_at": r.last_activity_at}
            for r in session.execute(q.order_by(Lead.id.desc()).limit(limit)).scalars()]


def salespeople(session: Session) -> list[str]:
    """Who can own opportunities: the holders of role sales, for the managers' owner filter."""
    return list(session.execute(select(User.username).join(UserRole, UserRole.user_id == User.id)
                                .where(UserRole.role.in_(sorted(permissions.roles_for(Action.LEAD_OWN))))
                                .order_by(User.username).distinct().limit(500)).scalars())
