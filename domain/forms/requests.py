"""Form requests in SQL: recorded by their process, read by those who may see them, decided, and their effects
(leave taken and the requester out of office; a business trip's cash advance)."""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.approvals import absence, access
from domain.approvals import services as approvals
from domain.approvals.rules import ChainStep, TaskStatus, part_label
from domain.approvals.tables import Task
from domain.core.errors import DomainError, NotFound
from domain.core.types import utcnow
from domain.expenses import advances
from domain.forms import request_rules as rules
from domain.forms import services as forms
from domain.forms.request_rules import RequestDraft, RequestStatus
from domain.forms.request_tables import FormRequest
from domain.forms.rules import MANAGER, MANAGER_OF_MANAGER
from domain.notifications import services as notifications
from domain.org import services as org

KIND = "form_request"  # the kind of document (access) and the process type


def record(session: Session, draft: RequestDraft, process_id: str) -> FormRequest:
    """The request as filed, once (a retry finds it)."""
    row = by_number(session, draft.number, missing_ok=True)
    if row is not None:
        return row
    row = FormRequest(number=draft.number, form_key=draft.form_key, version=draft.version,
                      requester=draft.requester, title=draft.title[:300], values=draft.values,
                      route=[s.model_dump(mode="json") for s in draft.steps],
                      status=RequestStatus.PENDING_APPROVAL, process_id=process_id)
    session.add(row)
    session.flush()
    return row


def by_number(session: Session, number: str, *, missing_ok: bool = False) -> FormRequest | None:
    row = session.execute(select(FormRequest).where(FormRequest.number == number)).scalar_one_or_none()
    if row is None and not missing_ok:
        raise NotFound(f"no request {number}")
    return row


def get(session: Session, number: str) -> FormRequest:
    row = by_number(session, number)
    assert row is not None
    return row


def visible(session: Session, number: str, viewer: access.Viewer) -> FormRequest:
    """The request `viewer` (username, roles) may open: the requester's, its approvers' (and those copied), an
    overseer's; NotFound otherwise."""
    row = by_number(session, number, missing_ok=True)
    username, roles = viewer
    if row is None or not access.may_see(session, username, set(roles), KIND, row.requester, row.process_id):
        raise NotFound(f"no request {number}")
    return row


def listing(session: Session, username: str, roles: Collection[str], *, mine: bool = False, status: str | None = None,
            form: str | None = None, limit: int = 50, offset: int = 0) -> list[FormRequest]:
    q = select(FormRequest)
    if mine:
        q = q.where(FormRequest.requester == username)
    elif (where := access.documents_visible_to(username, roles, KIND, FormRequest.requester,
                                               FormRequest.process_id)) is not None:
        q = q.where(where)
    if status:
        q = q.where(FormRequest.status == status)
    if form:
        q = q.where(FormRequest.form_key == form)
    return list(session.execute(q.order_by(FormRequest.id.desc()).limit(limit).offset(offset)).scalars())


def pending_leave_days(session: Session, requester: str, year: int, *, exclude: str | None = None) -> Decimal:
    """The days of `requester`'s leave requests starting in `year` that wait for approval (or were sent back):
    not yet off the balance, but they will be once approved (`exclude`: the request being resubmitted)."""
    rows = session.execute(select(FormRequest.number, FormRequest.values).where(
        FormRequest.requester == requester, FormRequest.form_key == rules.LEAVE,
        FormRequest.status.in_((RequestStatus.PENDING_APPROVAL, RequestStatus.SENT_BACK)))).all()
    total = Decimal(0)
    for number, values in rows:
        if number != exclude and str(values.get("from", ""))[:4] == str(year) and values.get("days"):
            total += Decimal(str(values["days"]))
    return total


def leave_summary(session: Session, username: str, year: int) -> dict[str, Any]:
    """`username`'s leave of `year`: days granted, taken, waiting for approval (pending), and left to ask for
    (granted less taken less pending, never below 0)."""
    row = forms.leave_balance(session, username, year)
    pending = pending_leave_days(session, username, year)
    return {"year": year, "granted": row.days_granted if row else Decimal(0),
            "taken": row.days_taken if row else Decimal(0), "pending": pending,
            "left": max(forms.days_left(session, username, year) - pending, Decimal(0))}


def store_values(session: Session, number: str, values: dict[str, Any]) -> None:
    """A resubmission's values (checked by the API against the request's form version)."""
    row = get(session, number)
    row.values = values
    if row.status == RequestStatus.SENT_BACK:
        row.status = RequestStatus.PENDING_APPROVAL
    session.flush()


def set_status(session: Session, number: str, status: RequestStatus) -> None:
    """Move the request on. Approved: its effect, in this transaction and once (the row says it is approved
    already on a retry). A decision (approved, rejected) tells the requester."""
    row = get(session, number)
    if row.status == status:
        return
    if status == RequestStatus.APPROVED:
        row.effect = apply_effect(session, row)[:300]
    if status in (RequestStatus.APPROVED, RequestStatus.REJECTED, RequestStatus.CANCELLED):
        row.decided_at = row.decided_at or utcnow()
    row.status = status
    session.flush()
    if status in (RequestStatus.APPROVED, RequestStatus.REJECTED):
        notifications.emit(session, "request.decided", key=f"request.decided:{row.number}", users=[row.requester],
                           document=row.number, title=f"{row.title}: {status}",
                           detail=row.effect or f"Your request {row.number} is {status}.",
                           link=f"/requests/{row.number}")


def apply_effect(session: Session, row: FormRequest) -> str:
    """What the approval of `row` does (see request_rules.effect_of), said in a sentence."""
    effect = rules.effect_of(row.form_key, row.values)
    if effect.kind == "leave":
        return _take_leave(session, row, effect)
    if effect.kind == "advance":
        advances.record(session, row.number, row.requester, effect.amount, f"{row.process_id}:advance")
        return f"cash advance of {effect.amount:,.2f} paid; the trip's expense claim settles it"
    return ""


def _take_leave(session: Session, row: FormRequest, effect: rules.Effect) -> str:
    start = effect.starts_on or utcnow().date()
    try:
        left = forms.take_leave(session, row.requester, effect.days, f"{row.process_id}:leave", start.year)
        said = f"{effect.days} day(s) of leave taken, {left['days_left']} left"
    except DomainError as e:  # another leave approved meanwhile took the days: the decision stands, say so
        said = f"{effect.days} day(s) of leave approved but not taken off the balance: {e.message}"
    if effect.starts_on is None or effect.ends_on is None:
        return said
    me = org.person(session, row.requester)
    deputy = effect.deputy or (me.manager if me is not None else None) or ""
    if not deputy:
        return f"{said}; not marked out of office: no deputy named"
    try:
        absence.create(session, row.requester, set(), deputy=deputy, starts_on=effect.starts_on,
                       ends_on=effect.ends_on, note=f"leave {row.number}")
    except DomainError as e:  # ended already, overlapping another absence, a deputy who left: the leave stands
        return f"{said}; not marked out of office: {e.message}"
    return f"{said}; out of office {effect.starts_on.isoformat()} to {effect.ends_on.isoformat()}, deputy {deputy}"


def route_map(session: Session, row: FormRequest) -> list[dict[str, Any]]:
    """The route as it stands: each step with who decided it (done), who it waits for (current), or to do."""
    decisions = approvals.trail(session, row.process_id)
    open_tasks = list(session.execute(select(Task).where(Task.process_id == row.process_id,
                                                         Task.status == TaskStatus.OPEN)).scalars())
    out = []
    ended = row.status in (RequestStatus.APPROVED, RequestStatus.REJECTED, RequestStatus.CANCELLED)
    kinds = {st.name: st.approvers() for st in forms.definition(forms.version(session, row.form_key, row.version)).route}
    for raw in row.route:
        step = ChainStep.model_validate(raw)
        decided = [d for d in decisions if d["step"] == step.index]
        labels = _task_labels(step)
        waiting = [t for t in open_tasks if t.kind == "approval" and t.step_label in labels]
        if any(d["decision"] == "reject" for d in decided):
            state = "failed"
        elif decided and not waiting:
            state = "done"
        elif waiting:
            state = "current"
        else:
            state = "not reached" if ended else "todo"
        approver = step.candidate_user or (f"role {step.candidate_role}" if step.candidate_role else "") or ", ".join(
            p.candidate_user or f"role {p.candidate_role}" for p in step.parts)
        out.append({"index": step.index, "name": step.name or step.label, "label": step.label, "mode": step.mode,
                    "approver": approver, "approvers": _approvers(step, kinds.get(step.name, [])),
                    "several": len(step.parts) > 1 or (bool(step.parts) and step.mode == "all"), "state": state,
                    "decided": [{"by": d["decided_by"], "decision": d["decision"], "comment": d["comment"],
                                 "at": d["decided_at"]} for d in decided],
                    "waiting_for": [t.assignee or t.candidate_user or t.candidate_role or "" for t in waiting]})
    return out


def _approvers(step: ChainStep, said: list[str]) -> list[dict[str, Any]]:
    """Who a route step asks, each {kind: manager | manager_of_manager | role | user, value, above: 1 for the
    requester's manager, 2 for the manager's manager, else 0} (the template words them by `above`): the step's role
    or person, else each part's; a person is named as the form said it (`said`, the route step's approvers:
    "manager", "role:it", "user:heidi"), a manager by who they are for this requester."""
    def one(part: ChainStep, how: str) -> dict[str, Any]:
        if part.candidate_role and not part.candidate_user:
            return {"kind": "role", "value": part.candidate_role, "above": 0}
        kind = how if how in (MANAGER, MANAGER_OF_MANAGER) else "user"
        return {"kind": kind, "value": part.candidate_user or part.label,
                "above": {MANAGER: 1, MANAGER_OF_MANAGER: 2}.get(kind, 0)}
    if step.candidate_role or step.candidate_user or not step.parts:
        return [one(step, said[0] if len(said) == 1 else "")]
    return [one(p, p.label) for p in step.parts]


def plan(session: Session, process_id: str) -> tuple[str, ...] | None:
    """The monitor's map of a form request's process, from its route: submitted, each step, the end."""
    row = session.execute(select(FormRequest).where(FormRequest.process_id == process_id)).scalar_one_or_none()
    if row is None:
        return None
    steps = [f"approval: {label}" for raw in row.route for label in _task_labels(ChainStep.model_validate(raw))]
    return ("submitted", *steps, "approved")


def _task_labels(step: ChainStep) -> list[str]:
    """The labels of a route step's tasks: its own, or one per part of a step of several approvers."""
    return [part_label(step, p) for p in step.parts] if step.parts else [step.label]


def sent_back(session: Session, row: FormRequest) -> bool:
    """An approver sent it back: the requester's "resubmit" task is open."""
    return row.status in (RequestStatus.PENDING_APPROVAL, RequestStatus.SENT_BACK) and session.execute(
        select(Task.id).where(Task.process_id == row.process_id, Task.status == TaskStatus.OPEN,
                              Task.kind == "resubmit").limit(1)).first() is not None


def status_of(session: Session, row: FormRequest) -> str:
    """Its status as the requester reads it: sent back while its resubmit task is open."""
    return RequestStatus.SENT_BACK if sent_back(session, row) else row.status


def view(session: Session, row: FormRequest) -> dict[str, Any]:
    advance = advances.by_trip(session, row.number) if row.form_key == rules.BUSINESS_TRIP else None
    return {"id": row.number, "request_id": row.number, "number": row.number, "form": row.form_key,
            "version": row.version, "requester": row.requester, "title": row.title,
            "status": status_of(session, row),
            "values": row.values, "process_id": row.process_id, "created_at": row.created_at,
            "decided_at": row.decided_at, "effect": row.effect, "route": route_map(session, row),
            "advance": advances.view(advance) if advance is not None else None,
            "approvals": approvals.trail(session, row.process_id)}


def summary(row: FormRequest) -> dict[str, Any]:
    return {"id": row.number, "request_id": row.number, "form": row.form_key, "version": row.version,
            "requester": row.requester, "title": row.title, "status": row.status, "process_id": row.process_id,
            "created_at": row.created_at, "decided_at": row.decided_at}

