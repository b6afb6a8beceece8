"""Approval policies, the inbox projection and the approval trail in SQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from domain.approvals import ChainStep, PolicyTier, StepSpec, TaskChange, TaskSpec, resolve_chain, select_tier
from domain.errors import Invalid, NotFound
from domain.schema import ApprovalDecision, ApprovalPolicyTier, Task, TaskEvent
from domain.schema.types import utcnow
from domain.services import org, processes


def tiers(session: Session, process_kind: str) -> list[PolicyTier]:
    rows = session.execute(
        select(ApprovalPolicyTier).where(ApprovalPolicyTier.process_kind == process_kind)
        .order_by(ApprovalPolicyTier.above_amount)
    ).scalars()
    return [PolicyTier(above=r.above_amount, steps=[StepSpec.model_validate(s) for s in r.steps]) for r in rows]


def chain_for(session: Session, process_kind: str, amount: Decimal, requester: str) -> list[ChainStep]:
    found = tiers(session, process_kind)
    if not found:
        raise Invalid(f"no approval policy is set for {process_kind}")
    return resolve_chain(select_tier(found, amount), requester, org.people(session))


def replace_policy(session: Session, process_kind: str, new_tiers: list[PolicyTier]) -> None:
    """Admin edits a policy as a whole: the tiers are replaced in one transaction."""
    if not new_tiers:
        raise Invalid("a policy needs at least one tier")
    aboves = [t.above for t in new_tiers]
    if len(set(aboves)) != len(aboves):
        raise Invalid("two tiers of one policy have the same threshold")
    if min(aboves) != 0:
        raise Invalid("the lowest tier must start at 0 so that every amount is covered")
    people = org.people(session)
    roles = {r for p in people.values() for r in p.roles} | set(org.role_escalation(session))
    for t in new_tiers:
        for s in t.steps:
            if s.kind == "role" and s.value not in roles:
                raise Invalid(f"unknown role {s.value!r} in the policy")
            if s.kind == "user" and s.value not in people:
                raise Invalid(f"unknown user {s.value!r} in the policy")
    for row in session.execute(select(ApprovalPolicyTier).where(ApprovalPolicyTier.process_kind == process_kind)
                               ).scalars():
        session.delete(row)
    session.flush()
    for t in new_tiers:
        session.add(ApprovalPolicyTier(process_kind=process_kind, above_amount=t.above,
                                       steps=[s.model_dump() for s in t.steps]))
    session.flush()


def _event(session: Session, task_id: str, event: str, actor: str, detail: str, key: str) -> None:
    session.add(TaskEvent(task_id=task_id, event=event, actor=actor, detail=detail, idempotency_key=key))


def open_task(session: Session, spec: TaskSpec) -> None:
    if session.get(Task, spec.task_id) is not None:
        return  # retried activity: the task exists already
    step = spec.step
    now = utcnow()
    session.add(Task(
        id=spec.task_id, workflow_id=spec.workflow_id, process_id=spec.process_id, process_type=spec.process_type,
        kind=spec.kind, title=spec.title, business_key=spec.business_key, amount=spec.amount,
        requester=spec.requester, step=step.index if step else 0, step_label=step.label if step else "",
        candidate_role=step.candidate_role if step else spec.candidate_role,
        candidate_user=step.candidate_user if step else spec.candidate_user,
        priority=spec.priority, due_at=now + timedelta(hours=spec.due_hours), created_at=now,
    ))
    _event(session, spec.task_id, "created", "system", spec.title, f"{spec.task_id}:created")
    session.flush()


def apply_change(session: Session, change: TaskChange) -> None:
    key = f"{change.task_id}:{change.seq}:{change.event}"
    if session.execute(select(TaskEvent.id).where(TaskEvent.idempotency_key == key)).first():
        return
    task = session.get(Task, change.task_id)
    if task is None:
        raise NotFound(f"no task {change.task_id}")
    now = utcnow()
    if change.clear_assignee:
        task.assignee = None
    if change.assignee is not None:
        task.assignee = change.assignee
    if change.candidate_user is not None or change.candidate_role is not None:
        task.candidate_user = change.candidate_user
        task.candidate_role = change.candidate_role
    if change.due_hours is not None:
        task.due_at = now + timedelta(hours=change.due_hours)
    if change.event == "reminded":
        task.reminded_at = now
    if change.status is not None:
        task.status = change.status
        if change.status != "open":
            task.closed_at = now
    if change.decision is not None:
        d = change.decision
        task.decision, task.decided_by, task.comment = d.decision, d.decided_by, d.comment
        session.add(ApprovalDecision(process_id=task.process_id, business_key=task.business_key, task_id=task.id,
                                     step=d.step, role=d.role, decided_by=d.decided_by, decision=d.decision,
                                     comment=d.comment, idempotency_key=key, decided_at=now))
        verb = "approved" if d.decision == "approve" else "rejected"
        processes.note(session, task.process_id, f"approval: {task.step_label}", f"{verb} by {d.decided_by}")
    elif change.event in ("escalated", "delegated", "reassigned") and task.kind == "approval":
        who = task.assignee or task.candidate_user or f"role {task.candidate_role}"
        processes.note(session, task.process_id, f"approval: {task.step_label}", f"waiting for {who} ({change.event})")
    _event(session, change.task_id, change.event, change.actor, change.detail, key)
    session.flush()


def close_open_tasks(session: Session, workflow_id: str, status: str, reason: str) -> int:
    tasks = session.execute(select(Task).where(Task.workflow_id == workflow_id, Task.status == "open")).scalars()
    n = 0
    now = utcnow()
    for task in tasks:
        task.status, task.closed_at = status, now
        _event(session, task.id, status, "system", reason, f"{task.id}:close:{status}")
        n += 1
    session.flush()
    return n


def trail(session: Session, process_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ApprovalDecision).where(ApprovalDecision.process_id == process_id).order_by(ApprovalDecision.id)
    ).scalars()
    return [{"step": r.step, "role": r.role, "decided_by": r.decided_by, "decision": r.decision,
             "comment": r.comment, "decided_at": r.decided_at} for r in rows]


def visible_filter(username: str, roles: list[str]) -> Any:
    """Open tasks a user may act on: named to them, claimed by them, or for one of their roles and
    unclaimed. The requester never sees their own request as a task."""
    return and_(
        Task.requester != username,
        or_(
            Task.assignee == username,
            and_(Task.assignee.is_(None), Task.candidate_user == username),
            and_(Task.assignee.is_(None), Task.candidate_user.is_(None), Task.candidate_role.in_(roles or [""])),
        ),
    )


def task_query(username: str, roles: list[str], *, status: str | None = "open", kind: str | None = None,
               business_key: str | None = None, due_before: datetime | None = None,
               assigned: str | None = None, see_all: bool = False) -> Select[Any]:
    q = select(Task)
    if status:
        q = q.where(Task.status == status)
    if not see_all:
        q = q.where(visible_filter(username, roles))
    if kind:
        q = q.where(Task.kind == kind)
    if business_key:
        q = q.where(Task.business_key == business_key)
    if due_before:
        q = q.where(Task.due_at < due_before)
    if assigned == "me":
        q = q.where(or_(Task.assignee == username, Task.candidate_user == username))
    elif assigned == "roles":
        q = q.where(Task.candidate_user.is_(None), Task.candidate_role.in_(roles or [""]))
    return q


def count_open(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Task).where(Task.status == "open")).scalar_one()
