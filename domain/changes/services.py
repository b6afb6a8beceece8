"""Changes that take effect only once a second admin (or the cfo) approved them: approval policies, the actions a
role holds, and a customer's credit limit above a threshold. The proposal is stored here (`propose`), the
process (workflows/change_approval.py) asks an Approval child and then applies it (`apply`, idempotent: applying
an applied change does nothing) or records the rejection. Admin has no bypass: nobody approves their own change
(the approval rules leave the requester out)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import permissions
from domain.approvals import services as approvals
from domain.approvals.rules import ChainStep, PolicyTier, StepSpec, resolve_chain
from domain.audit import services as audit
from domain.changes.tables import ChangeRequest
from domain.core.errors import Conflict, Invalid, NotFound
from domain.core.types import utcnow
from domain.org import company, grants
from domain.org import services as org
from domain.parties.tables import Customer
from domain.processes import services as processes
from domain.processes.rules import ProcessStatus

KINDS = ("approval_policy", "role_grants", "credit_limit")
POLICY_KINDS = ("expense_claim", "purchase_requisition", "quotation_discount", "sales_credit", "production_change")
PENDING, APPLIED, REJECTED = "pending_approval", "applied", "rejected"
# A credit limit above the company's threshold (its settings; 50,000 unless admin changed it) needs a second
# approval; at or under it, it is stored at once.
CREDIT_LIMIT_THRESHOLD = company.DEFAULT_THRESHOLD
PROCESS_TYPE = "change"


class ChangeView(BaseModel):
    change_id: int
    kind: str
    target: str
    summary: str
    proposed_by: str
    status: str
    process_id: str


class ChangeStart(BaseModel):
    """What the ChangeApproval process is started with."""

    change_id: int
    kind: str
    target: str
    summary: str
    requested_by: str
    steps: list[ChainStep]


def approver_steps(session: Session, requester: str) -> list[ChainStep]:
    """One approval step for a holder of change.approve (admin, the cfo) other than the requester: another admin
    when there is one, else the next role that has someone. Invalid when nobody but the requester could approve."""
    people = org.people(session)
    holders = sorted(permissions.roles_for(permissions.Action.CHANGE_APPROVE))
    for role in holders:
        if any(p.active and role in p.roles and p.username != requester for p in people.values()):
            return resolve_chain(PolicyTier(above=0, steps=[StepSpec(kind="role", value=role)]), requester, people)
    raise Invalid(f"nobody but {requester} may approve this change: a second "
                  f"{' or '.join(holders) or 'approver'} is needed first")


def process_id(change_id: int, prefix: str = "") -> str:
    return f"{prefix}change-{change_id}"


def current(session: Session, kind: str, target: str) -> dict[str, Any]:
    """What is stored now for a change's target (the audit's and the task's "before")."""
    if kind == "approval_policy":
        return {"tiers": [t.model_dump(mode="json") for t in approvals.tiers(session, target)]}
    if kind == "role_grants":
        return {"actions": grants.role_actions(session, target)}
    if kind == "credit_limit":
        row = _customer(session, target)
        return {"credit_limit": format(row.credit_limit, "f")}
    raise Invalid(f"unknown change {kind!r}")


def _customer(session: Session, target: str) -> Customer:
    row = session.get(Customer, int(target)) if target.isascii() and target.isdigit() else None
    if row is None:
        raise NotFound(f"no customer {target}")
    return row


def check(session: Session, kind: str, target: str, proposal: dict[str, Any]) -> str:
    """Refuses a proposal the rules would refuse when applied (422 before anything starts); its summary."""
    if kind == "approval_policy":
        if target not in POLICY_KINDS:
            raise Invalid(f"unknown policy {target!r}; policies exist for {', '.join(POLICY_KINDS)}")
        tiers = [PolicyTier.model_validate(t) for t in proposal.get("tiers", [])]
        approvals.check_policy(session, tiers)
        return f"approval policy {target}: {len(tiers)} tier(s)"
    if kind == "role_grants":
        actions = grants.check_actions(session, target, proposal.get("actions", []))
        before = set(grants.role_actions(session, target))
        added, removed = sorted(set(actions) - before), sorted(before - set(actions))
        return (f"role {target}: + {', '.join(added) or '—'}; − {', '.join(removed) or '—'}")[:300]
    if kind == "credit_limit":
        row = _customer(session, target)
        limit = credit_limit(proposal.get("credit_limit"))
        return f"credit limit of {row.name}: {format(row.credit_limit, ',.2f')} → {format(limit, ',.2f')}"
    raise Invalid(f"unknown change {kind!r}; changes exist for {', '.join(KINDS)}")


def credit_limit(value: Any) -> Decimal:
    try:
        limit = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Invalid(f"{value!r} is not an amount") from None
    if not limit.is_finite() or limit < 0 or limit > Decimal("1e13"):
        raise Invalid("a credit limit is an amount from 0")
    return limit.quantize(Decimal("0.01"))


def needs_second_approval(session: Session, customer_id: int, limit: Decimal) -> bool:
    """A credit limit above the threshold (and higher than it is now) waits for a second approval."""
    row = _customer(session, str(customer_id))
    return limit > company.settings(session).credit_limit_threshold and limit > row.credit_limit


def propose(session: Session, kind: str, target: str, proposal: dict[str, Any], actor: str,
            prefix: str = "") -> ChangeView:
    """Stores a proposed change (checked as it would be applied) with its process id; nothing takes effect yet."""
    if kind not in KINDS:
        raise Invalid(f"unknown change {kind!r}; changes exist for {', '.join(KINDS)}")
    summary = check(session, kind, target, proposal)
    row = ChangeRequest(kind=kind, target=target, proposal=proposal, before=current(session, kind, target),
                        summary=summary[:300], proposed_by=actor, status=PENDING, created_at=utcnow())
    session.add(row)
    session.flush()
    row.process_id = process_id(row.id, prefix)
    session.flush()
    processes.start(session, row.process_id, PROCESS_TYPE, f"change-{row.id}", title=row.summary[:200],
                    owner=actor, first_step="proposed")
    return view(row)


def start_of(session: Session, change_id: int, steps: list[ChainStep]) -> ChangeStart:
    row = get(session, change_id)
    return ChangeStart(change_id=row.id, kind=row.kind, target=row.target, summary=row.summary,
                       requested_by=row.proposed_by, steps=steps)


def view(row: ChangeRequest) -> ChangeView:
    return ChangeView(change_id=row.id, kind=row.kind, target=row.target, summary=row.summary,
                      proposed_by=row.proposed_by, status=row.status, process_id=row.process_id)


def get(session: Session, change_id: int) -> ChangeRequest:
    row = session.get(ChangeRequest, change_id)
    if row is None:
        raise NotFound(f"no change {change_id}")
    return row


def apply(session: Session, change_id: int, approved_by: str) -> ChangeView:
    """The second approver said yes: the change takes effect, with its line in the audit trail. Once: a change
    already applied is answered as it is."""
    row = get(session, change_id)
    if row.status == APPLIED:
        return view(row)
    if row.status != PENDING:
        raise Conflict(f"change {change_id} is {row.status}")
    before = current(session, row.kind, row.target)
    if row.kind == "approval_policy":
        approvals.replace_policy(session, row.target, [PolicyTier.model_validate(t) for t in row.proposal["tiers"]])
        audit.record(session, row.proposed_by, "approval_policy", row.target, before,
                     current(session, row.kind, row.target))
    elif row.kind == "role_grants":
        grants.set_role_actions(session, row.target, row.proposal["actions"], row.proposed_by)
    elif row.kind == "credit_limit":
        customer = _customer(session, row.target)
        customer.credit_limit = credit_limit(row.proposal["credit_limit"])
        session.flush()
        audit.record(session, row.proposed_by, "customer", row.target, before,
                     current(session, row.kind, row.target))
    row.status, row.decided_by, row.decided_at = APPLIED, approved_by, utcnow()
    session.flush()
    processes.advance(session, row.process_id, APPLIED, detail=f"approved by {approved_by}",
                      status=ProcessStatus.COMPLETED, close=True)
    return view(row)


def reject(session: Session, change_id: int, rejected_by: str, comment: str) -> ChangeView:
    row = get(session, change_id)
    if row.status == PENDING:
        row.status, row.decided_by, row.comment, row.decided_at = REJECTED, rejected_by, comment[:500], utcnow()
        session.flush()
        processes.advance(session, row.process_id, REJECTED, detail=f"rejected by {rejected_by}: {comment}"[:300],
                          status=ProcessStatus.COMPLETED, close=True)
    return view(row)


def listing(session: Session, status: str | None = None, limit: int = 100) -> list[ChangeView]:
    query = select(ChangeRequest).order_by(ChangeRequest.id.desc()).limit(limit)
    if status:
        query = query.where(ChangeRequest.status == status)
    return [view(r) for r in session.execute(query).scalars()]


def pending_for(session: Session, kind: str, target: str) -> list[ChangeView]:
    return [view(r) for r in session.execute(
        select(ChangeRequest).where(ChangeRequest.kind == kind, ChangeRequest.target == target,
                                    ChangeRequest.status == PENDING).order_by(ChangeRequest.id)).scalars()]
