"""Approval policies, the inbox projection and the approval trail in SQL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, false, func, or_, select, true
from sqlalchemy.orm import Session

from domain.approvals.rules import (
    ChainStep,
    DecisionRecord,
    PolicyTier,
    StepSpec,
    TaskChange,
    TaskSpec,
    TaskStatus,
    approving_roles,
    may_take,
    resolve_chain,
    select_tier,
)
from domain.approvals.tables import ApprovalCopy, ApprovalDecision, ApprovalPolicyTier, Task, TaskEvent
from domain.core.errors import Invalid, NotFound
from domain.core.types import utcnow
from domain.notifications import services as notifications
from domain.org import services as org
from domain.org.people import Person
from domain.processes import services as processes


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
    check_policy(session, new_tiers)
    for row in session.execute(select(ApprovalPolicyTier).where(ApprovalPolicyTier.process_kind == process_kind)
                               ).scalars():
        session.delete(row)
    session.flush()
    for t in new_tiers:
        session.add(ApprovalPolicyTier(process_kind=process_kind, above_amount=t.above,
                                       steps=[s.model_dump() for s in t.steps]))
    session.flush()


def check_policy(session: Session, new_tiers: list[PolicyTier]) -> None:
    """Invalid unless the tiers make a policy: one tier from 0, no two at one threshold, known roles and users."""
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
    task = session.get(Task, spec.task_id)
    assert task is not None
    _notify(session, task, "task.assigned", f"notify:{spec.task_id}:created")


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
        if change.status != TaskStatus.OPEN:
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
    told = _TOLD.get(change.event)
    if change.event == "routed to deputy":  # "frank is out of office until ...: routed to deputy erin"
        detail = f"standing in for {change.detail.split(' ', 1)[0]}: {change.detail}"
        if not notifications.amend(session, f"notify:{task.id}:created", detail):  # told already: told again
            _notify(session, task, "task.assigned", f"notify:{key}", detail=detail)
    elif told is not None:
        _notify(session, task, told, f"notify:{key}", users=change.notify, detail=change.detail)


# What a task's change tells people (the task's holder, or those the change names): events not here tell nobody.
_TOLD = {"reminded": "task.reminder", "escalated": "task.escalated", "urged": "task.urged", "copied": "copied",
         "delegated": "task.assigned", "reassigned": "task.assigned"}


def _notify(session: Session, task: Task, event: str, key: str, *, users: Iterable[str] = (), detail: str = ""
            ) -> None:
    """One notification about a task, in this transaction: to the users named, else to whoever holds it (its
    assignee, the user it is named to, else its role's holders). A "copied" change names whom it tells."""
    named = [u for u in users if u]
    to_users: list[str]
    to_roles: list[str]
    if named:
        to_users, to_roles = named, []
    elif event == "copied":
        return
    elif task.assignee or task.candidate_user:
        to_users, to_roles = [task.assignee or task.candidate_user or ""], []
    else:
        to_users, to_roles = [], [task.candidate_role or ""]
    notifications.emit(session, event, key=key, users=to_users, roles=to_roles, document=task.business_key,
                       title=task.title, detail=detail, link=f"/tasks/{task.id}", exclude=[task.requester])


def close_open_tasks(session: Session, workflow_id: str, status: TaskStatus, reason: str, actor: str = "system"
                     ) -> int:
    tasks = session.execute(select(Task).where(Task.workflow_id == workflow_id,
                                               Task.status == TaskStatus.OPEN)).scalars()
    n = 0
    now = utcnow()
    for task in tasks:
        task.status, task.closed_at = status, now
        _event(session, task.id, status, actor, reason, f"{task.id}:close:{status}")
        if task.kind == "approval" and status == TaskStatus.CANCELLED:
            processes.note(session, task.process_id, f"approval: {task.step_label}", reason)
        n += 1
    session.flush()
    return n


def note_late_withdrawal(session: Session, workflow_id: str, actor: str, detail: str, refused: bool) -> None:
    """A withdrawal that came after the approval's last decision, on the trail of its last task (once)."""
    key = f"{workflow_id}:late-withdrawal"
    if session.execute(select(TaskEvent.id).where(TaskEvent.idempotency_key == key)).first():
        return
    task = session.execute(select(Task).where(Task.workflow_id == workflow_id)
                           .order_by(Task.created_at.desc(), Task.id.desc()).limit(1)).scalar_one_or_none()
    if task is None:
        raise NotFound(f"no task of approval {workflow_id}")
    _event(session, task.id, "withdrawal refused" if refused else "withdrawal late", actor, detail, key)
    processes.note(session, task.process_id, f"approval: {task.step_label}", detail)
    session.flush()


def record_decision(session: Session, workflow_id: str, process_id: str, business_key: str,
                    record: DecisionRecord) -> None:
    """A decision taken without a task (去重: its approver approved the step before): on the trail, once."""
    key = f"{workflow_id}:once:{record.step}"
    if session.execute(select(ApprovalDecision.id).where(ApprovalDecision.idempotency_key == key)).first():
        return
    session.add(ApprovalDecision(process_id=process_id, business_key=business_key, task_id="", step=record.step,
                                 role=record.role, decided_by=record.decided_by, decision=record.decision,
                                 comment=record.comment, idempotency_key=key, decided_at=utcnow()))
    processes.note(session, process_id, f"approval: {record.role}", record.comment)
    session.flush()


def add_copies(session: Session, process_id: str, usernames: Iterable[str], by: str) -> list[str]:
    """抄送: these people may read the document of `process_id` from now on; those already copied are skipped."""
    have = set(session.execute(select(ApprovalCopy.username).where(ApprovalCopy.process_id == process_id)).scalars())
    added = [u for u in dict.fromkeys(usernames) if u not in have]
    for u in added:
        session.add(ApprovalCopy(process_id=process_id, username=u, by=by))
    session.flush()
    return added


def copies(session: Session, process_id: str) -> list[dict[str, Any]]:
    rows = session.execute(select(ApprovalCopy).where(ApprovalCopy.process_id == process_id)
                           .order_by(ApprovalCopy.id)).scalars()
    return [{"username": r.username, "by": r.by, "at": r.at} for r in rows]


_D = ApprovalDecision
# Built once, in columns (a Session or a Core connection reads it alike): every document's view shows its trail.
_TRAIL = (select(_D.step, _D.role, _D.decided_by, _D.decision, _D.comment, _D.decided_at)
          .where(_D.process_id == bindparam("process_id")).order_by(_D.id))


def trail(session: Session | Connection, process_id: str) -> list[dict[str, Any]]:
    return [row._asdict() for row in session.execute(_TRAIL, {"process_id": process_id})]


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


def task_query(username: str, roles: list[str], *, status: str | None = TaskStatus.OPEN, kind: str | None = None,
               business_key: str | None = None, due_before: datetime | None = None,
               see_all: bool = False) -> Select[Any]:
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
    return q


# --- the inbox's views, filters and sorting (issue 6) -------------------------------------------------

VIEWS = ("mine", "roles", "all")
SORT_KEYS = ("due", "priority", "created")
DEFAULT_DIRECTION = {"due": "asc", "priority": "desc", "created": "desc"}


def _unclaimed() -> Any:
    """Nobody's yet: neither claimed nor named to anyone. Written as the partial `ix_tasks_unclaimed_*` indexes
    are (domain/<context>/tables.py), so that the planners use them: a role's unclaimed tasks are one range of
    each, in its order."""
    return and_(Task.assignee.is_(None), Task.candidate_user.is_(None))


def view_filter(view: str, username: str, roles: list[str]) -> Any:
    """mine: claimed by me, or named to me and unclaimed; roles: for one of my roles and nobody's yet;
    all: everything the visibility rule lets me see (no further condition)."""
    if view == "mine":
        return or_(Task.assignee == username, and_(Task.assignee.is_(None), Task.candidate_user == username))
    if view == "roles":
        return and_(_unclaimed(), Task.candidate_role.in_(roles or [""]))
    return true()


def view_parts(view: str, username: str, roles: list[str]) -> list[Any]:
    """A view as disjoint conditions, each with an index of its own to walk in due order (claimed by me: the
    assignee index; named to me: the candidate-user index; for each of my roles, unclaimed: the candidate-role
    index). Counting part by part and adding up, or taking the first tasks of each part and merging them, stays
    fast with 100,000 open tasks, where one OR over them all makes the planner scan them. Together they are
    `visible_filter` (each holds its condition that the requester is not me): no further visibility condition
    is needed, and none should be added, as its OR is what leads the planner astray."""
    mine = [Task.assignee == username, and_(Task.assignee.is_(None), Task.candidate_user == username)]
    roles_parts = [and_(_unclaimed(), Task.candidate_role == role) for role in sorted(roles)] or [false()]
    chosen = {"mine": mine, "roles": roles_parts}.get(view, mine + roles_parts)
    return [and_(Task.requester != username, part) for part in chosen]


def overdue(session: Session, now: datetime, limit: int = 200) -> tuple[list[Task], int]:
    """Every open task past its due time, the longest overdue first (at most `limit`), and how many there are:
    what an admin looks for beside the failing activities."""
    late = (Task.status == TaskStatus.OPEN, Task.due_at < now)
    rows = list(session.execute(select(Task).where(*late).order_by(Task.due_at, Task.id).limit(limit)).scalars())
    total = session.execute(select(func.count()).select_from(Task).where(*late)).scalar_one()
    return rows, int(total)


def narrow(q: Select[Any], *, key_prefix: str | None = None, documents: Any | None = None,
           min_amount: Decimal | None = None, max_amount: Decimal | None = None,
           overdue: bool = False, now: datetime | None = None) -> Select[Any]:
    """The inbox's further filters on a task query: business key prefix, documents (a condition over Task that
    the context owning them writes, such as sales' tasks_of_customer), amount range, overdue."""
    if key_prefix:
        escaped = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        q = q.where(Task.business_key.like(f"{escaped}%", escape="\\"))
    if documents is not None:
        q = q.where(documents)
    if min_amount is not None:
        q = q.where(Task.amount >= min_amount)
    if max_amount is not None:
        q = q.where(Task.amount <= max_amount)
    if overdue:
        q = q.where(Task.due_at < (now or utcnow()))
    return q


def ordering(sort: str, direction: str | None = None) -> tuple[Any, ...]:
    """ORDER BY for the inbox: the sort key in the given direction (or its natural one), ties by id; the due
    and created orders walk the (status, due_at) index and the (status, ...) ones the planner picks."""
    desc = (direction or DEFAULT_DIRECTION[sort]) == "desc"
    col = {"due": Task.due_at, "priority": Task.priority, "created": Task.created_at}[sort]
    first = col.desc() if desc else col.asc()
    then = {"due": (Task.priority.desc(),), "priority": (Task.due_at.asc(),), "created": ()}[sort]
    return (first, *then, Task.id.desc() if desc else Task.id.asc())


def task_step(task: Task, people: Mapping[str, Person] | None = None) -> ChainStep:
    """The chain step an open task stands for, as its Approval process holds it: its number, label and candidate
    (the task row follows every escalation, delegation and deputy), and, given `people`, the approving roles of
    the person it names (what a stand-in must hold). Its later steps are the process's alone."""
    named = (people or {}).get(task.candidate_user) if task.candidate_user else None
    return ChainStep(index=task.step, label=task.step_label, candidate_role=task.candidate_role,
                     candidate_user=task.candidate_user, authority=approving_roles(named))


def earlier_deciders(session: Session, tasks: Iterable[Task]) -> dict[str, list[str]]:
    """Who decided the earlier steps of each task's own approval, by the approval's workflow id: the deciders
    its Approval process holds a decision, a claim or a hand-on against (not those of the document's other
    approvals: a quotation's discount and credit, an order's successive changes)."""
    out: dict[str, list[str]] = {t.workflow_id: [] for t in tasks}
    if out:
        # A request sent back and resubmitted starts again at that step: the decisions taken there and after it
        # before the resubmit no longer count (the Approval process dropped them too).
        restarts: dict[str, tuple[int, Any]] = {}
        for workflow_id, step, closed_at in session.execute(
                select(Task.workflow_id, Task.step, Task.closed_at).where(
                    Task.workflow_id.in_(list(out)), Task.kind == "resubmit", Task.status == TaskStatus.COMPLETED)
                .order_by(Task.closed_at)):
            restarts[workflow_id] = (step, closed_at)
        rows = session.execute(select(Task.workflow_id, ApprovalDecision.decided_by, ApprovalDecision.step,
                                      ApprovalDecision.decided_at)
                               .join(Task, Task.id == ApprovalDecision.task_id)
                               .where(Task.workflow_id.in_(list(out))).order_by(ApprovalDecision.id))
        for workflow_id, decided_by, step, decided_at in rows:
            restart = restarts.get(workflow_id)
            if restart is not None and step >= restart[0] and decided_at <= restart[1]:
                continue
            out[workflow_id].append(decided_by)
    return out


def sent_back(session: Session, process_id: str) -> bool:
    """Is the approval of `process_id` sent back to its requester (a "resubmit" task open)?"""
    return session.execute(select(Task.id).where(Task.process_id == process_id, Task.kind == "resubmit",
                                                 Task.status == TaskStatus.OPEN).limit(1)).first() is not None


def hand_on_candidates(session: Session, task: Task, actor: str) -> list[str]:
    """Colleagues a task could be handed to (delegated or reassigned): the active people the engine's own rule
    (`check_may_take`: the step's role, or one of a named approver's approving roles; never the requester or the
    decider of an earlier step of its chain) lets take it, other than its current holder and the actor. The workflow still
    checks each hand-on, including what later steps need."""
    people = org.people(session)
    step = task_step(task, people)
    deciders = earlier_deciders(session, [task])[task.workflow_id]
    holder = task.assignee or task.candidate_user

    return sorted(p.username for p in people.values()
                  if p.active and p.username not in (holder, actor) and may_take(step, p, task.requester, deciders))
