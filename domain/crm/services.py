"""Leads, their scoring and activities, round-robin assignment and qualification, in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain import permissions
from domain.approvals import access
from domain.core import records as common
from domain.core.errors import Conflict, Invalid, NotFound
from domain.core.names import checked_key, email_key, name_key
from domain.core.types import utcnow
from domain.crm import rules as crm
from domain.crm.tables import Contact, Lead, LeadActivity, Opportunity, ScoringRuleRow
from domain.org.tables import User, UserRole
from domain.parties import master
from domain.parties.tables import Customer
from domain.permissions import Action


def rules(session: Session) -> list[crm.ScoringRule]:
    rows = session.execute(select(ScoringRuleRow).order_by(ScoringRuleRow.position, ScoringRuleRow.id)).scalars()
    return [crm.ScoringRule(name=r.name, kind=r.kind, param=r.param, points=r.points,
                            reason=r.reason) for r in rows]


def replace_rules(session: Session, new_rules: list[crm.ScoringRule]) -> None:
    """Admin edits the scoring rules as a whole, in one transaction; their order is kept."""
    names = [r.name for r in new_rules]
    if len(set(names)) != len(names):
        raise Conflict("two scoring rules have the same name")
    for row in session.execute(select(ScoringRuleRow)).scalars():
        session.delete(row)
    session.flush()
    for i, r in enumerate(new_rules):
        session.add(ScoringRuleRow(position=i, name=r.name, kind=r.kind, param=r.param, points=r.points,
                                   reason=r.reason))
    session.flush()


def rescore_open_leads(session: Session) -> int:
    """After the rules change: every lead still open is scored again, so no salesperson reads a score
    the current rules would not give. Returns how many."""
    rows = session.execute(select(Lead).where(Lead.status.in_(crm.OPEN_LEAD_STATUSES)).order_by(Lead.id)).scalars()
    n = 0
    for row in rows:
        rescore(session, row)
        n += 1
    return n


def lead(session: Session, number: str) -> Lead:
    return common.one(session, Lead, Lead.number == number, f"no lead {number}")


def visible_lead(session: Session, number: str, viewer: access.Viewer) -> Lead:
    """The lead `viewer` (username, roles) may open: its owner's or author's, or any to one who may see them
    all; NotFound otherwise, as for a number that does not exist."""
    try:
        row = lead(session, number)
    except NotFound:
        row = None
    username, roles = viewer
    if row is None or not (permissions.may(roles, Action.LEAD_SEE_ALL) or username in (row.owner, row.created_by)):
        raise NotFound(f"no lead {number}")
    return row


def _customer_named(session: Session, company: str) -> Customer | None:
    """The customer whose name looks like the company's (domain.names.name_key), if any."""
    try:
        return master.named(session, Customer, checked_key(company, "company name")[1])
    except Invalid:
        return None


def contact_for(session: Session, customer_id: int, name: str, email: str, phone: str) -> Contact:
    """The customer's contact with that e-mail (whatever its case) or that name (as names compare), created
    if there is none: qualifying a second lead of the same person adds no second row. The unique keys on
    (customer, e-mail) and (customer, name) decide between two qualifications at once."""

    def find() -> Contact | None:
        conds = [Contact.name_key == name_key(name)]
        if email_key(email):
            conds.append(Contact.email_key == email_key(email))
        return session.execute(select(Contact).where(Contact.customer_id == customer_id, or_(*conds))
                               .order_by(Contact.id).limit(1)).scalar_one_or_none()

    found = find()
    if found is not None:
        if phone and not found.phone:
            found.phone = phone
        return found
    row = Contact(customer_id=customer_id, name=name, email=email, phone=phone)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = find()
        if found is None:
            raise
        return found
    return row


def _lead_in(row: Lead) -> crm.LeadIn:
    return crm.LeadIn(company=row.company, contact=row.contact, email=row.email, phone=row.phone,
                      source=row.source, estimated_value=row.estimated_value, notes=row.notes)


def rescore(session: Session, row: Lead) -> crm.LeadScore:
    """Score the lead again from its fields, the customer list and its engagement; keep the reasons."""
    engagement = session.execute(select(func.count()).select_from(LeadActivity)
                                 .where(LeadActivity.lead_id == row.id)).scalar_one()
    result = crm.score_lead(_lead_in(row), rules(session), is_customer=_customer_named(session, row.company)
                            is not None, engagement_events=engagement)
    row.score, row.score_reasons = result.score, [r.model_dump() for r in result.reasons]
    session.flush()
    return result


def record_lead(session: Session, draft: crm.LeadDraft, process_id: str) -> Lead:
    """The lead document, scored; a retried activity finds it by number."""
    existing = session.execute(select(Lead).where(Lead.number == draft.number)).scalar_one_or_none()
    if existing is not None:
        return existing
    d = draft.lead
    row = Lead(number=draft.number, company=d.company, contact=d.contact, email=d.email, phone=d.phone,
               source=d.source, estimated_value=d.estimated_value, notes=d.notes, owner=draft.owner,
               status=crm.LeadStatus.ASSIGNED if draft.owner else crm.LeadStatus.NEW, process_id=process_id, created_by=draft.created_by)
    session.add(row)
    session.flush()
    rescore(session, row)
    return row


def next_salesperson(session: Session) -> str:
    """Round robin over the active holders of role `sales`: the one after the last lead's owner."""
    sales = list(session.execute(
        select(User.username).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_(sorted(permissions.roles_for(Action.LEAD_OWN))), User.active.is_(True))
        .order_by(User.username).distinct()).scalars())
    if not sales:
        raise Conflict("nobody holds the role sales, so the lead cannot be assigned")
    last = session.execute(select(Lead.owner).where(Lead.owner.in_(sales)).order_by(Lead.id.desc()).limit(1)
                           ).scalar_one_or_none()
    return sales[(sales.index(last) + 1) % len(sales)] if last else sales[0]


def assign(session: Session, number: str, owner: str | None = None) -> str:
    row = lead(session, number)
    if row.owner and row.status != crm.LeadStatus.NEW:
        return row.owner  # retried: already assigned
    row.owner = owner or next_salesperson(session)
    row.status = crm.LeadStatus.ASSIGNED
    session.flush()
    return row.owner


def add_activity(session: Session, number: str, kind: str, note: str, actor: str, key: str) -> crm.LeadScore:
    """Engagement on the lead: recorded once per key; the lead is rescored and its follow-up clock reset."""
    row = lead(session, number)
    if session.execute(select(LeadActivity.id).where(LeadActivity.idempotency_key == key)).first() is None:
        session.add(LeadActivity(lead_id=row.id, kind=kind, note=note, actor=actor, idempotency_key=key))
        row.last_activity_at = utcnow()
        session.flush()
    return rescore(session, row)


def qualify(session: Session, number: str, *, customer_id: int | None, actor: str) -> Opportunity:
    """Qualified: link the customer (or create it from the lead), add the contact, open an opportunity.
    Qualifying twice is a Conflict; a retried activity gets the opportunity it opened."""
    row = lead(session, number)
    existing = session.execute(select(Opportunity).where(Opportunity.lead_id == row.id)).scalar_one_or_none()
    if existing is not None:
        return existing
    if row.status in (crm.LeadStatus.QUALIFIED, crm.LeadStatus.DISQUALIFIED):
        raise Conflict(f"lead {number} is already {row.status}")
    if customer_id is not None:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFound(f"no customer {customer_id}")
        if not customer.active:
            raise Conflict(f"customer {customer.name} is inactive; reactivate it before opening an opportunity")
    else:
        customer = master.customer_named(session, row.company)
    contact_for(session, customer.id, row.contact, row.email, row.phone or "")
    probability = crm.DEFAULT_PROBABILITY[crm.Stage.QUALIFICATION]
    opp = Opportunity(number=common.next_number(session, "OP"), lead_id=row.id, customer_id=customer.id,
                      name=f"{row.company}: {row.notes[:80] or 'opportunity'}", stage=crm.Stage.QUALIFICATION,
                      probability=probability, amount=row.estimated_value,
                      expected_value=crm.expected_value(row.estimated_value, probability),
                      owner=row.owner or actor, process_id=row.process_id)
    session.add(opp)
    row.status, row.customer_id, row.qualified_at = crm.LeadStatus.QUALIFIED, customer.id, utcnow()
    session.flush()
    return opp


def disqualify(session: Session, number: str, reason: str) -> None:
    row = lead(session, number)
    if row.status == crm.LeadStatus.DISQUALIFIED and row.disqualify_reason == reason:
        return  # retried
    if row.status in (crm.LeadStatus.QUALIFIED, crm.LeadStatus.DISQUALIFIED):
        raise Conflict(f"lead {number} is already {row.status}")
    row.status, row.disqualify_reason = crm.LeadStatus.DISQUALIFIED, reason
    session.flush()


def locked_opportunity(session: Session, number: str) -> Opportunity:
    """The opportunity, locked for this transaction: its stage, its loss and a customer's acceptance of
    one of its quotations are decided one at a time."""
    row = session.execute(select(Opportunity).where(Opportunity.number == number).with_for_update()
                          ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no opportunity {number}")
    return row


def opportunity_ref(session: Session, opp: Opportunity) -> crm.OpportunityRef:
    customer = session.get(Customer, opp.customer_id)
    assert customer is not None
    return crm.OpportunityRef(number=opp.number, customer_id=customer.id, customer=customer.name, owner=opp.owner,
                              stage=opp.stage)


def move_opportunity(session: Session, number: str, stage: str) -> None:
    """Another open stage, with that stage's default probability. Moving to where it already is, is a
    retry and changes nothing."""
    opp = locked_opportunity(session, number)
    if opp.stage == stage:
        return
    crm.check_stage_move(opp.stage, stage)
    new = crm.Stage(stage)  # a known stage: check_stage_move refused any other
    opp.stage, opp.probability = new, crm.DEFAULT_PROBABILITY[new]
    opp.expected_value = crm.expected_value(opp.amount, opp.probability)
    session.flush()


def lead_view(session: Session, row: Lead) -> dict[str, Any]:
    opp = session.execute(select(Opportunity).where(Opportunity.lead_id == row.id)).scalar_one_or_none()
    activities = session.execute(select(LeadActivity).where(LeadActivity.lead_id == row.id)
                                 .order_by(LeadActivity.id)).scalars()
    return {
        "id": row.number, "lead_id": row.number, "company": row.company, "contact": row.contact,
        "email": row.email, "phone": row.phone, "source": row.source, "estimated_value": row.estimated_value,
        "notes": row.notes, "owner": row.owner, "status": row.status, "score": row.score,
        "score_reasons": row.score_reasons, "disqualify_reason": row.disqualify_reason or None,
        "customer_id": row.customer_id, "opportunity_id": opp.number if opp else None,
        "process_id": row.process_id, "created_by": row.created_by, "created_at": row.created_at,
        "last_activity_at": row.last_activity_at,
        "activities": [{"kind": a.kind, "note": a.note, "actor": a.actor, "at": a.at} for a in activities],
    }
