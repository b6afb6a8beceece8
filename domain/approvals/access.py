"""Who may see which document: the owner, whoever has (or had) a task on it, and the roles that
oversee that kind of document. Everyone else gets a 404, so ids reveal nothing."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Connection, column, func, or_, select, table, union
from sqlalchemy.orm import Session

from domain import permissions
from domain.approvals.rules import TaskStatus
from domain.approvals.tables import ApprovalCopy, Task
from domain.permissions import Action
from domain.processes.tables import Process

OVERSEERS: dict[str, Action] = {  # kind of document: the action of seeing every one of them
    "expense_claim": Action.EXPENSE_SEE_ALL,
    "purchase": Action.PURCHASE_SEE_ALL,
    "process": Action.PROCESS_SEE_ALL,
    "quotation": Action.QUOTATION_SEE_ALL,
    "form_request": Action.PROCESS_SEE_ALL,  # admin and the cfo follow every request filed on a form
}


def _involvement(username: str, roles: set[str]) -> list[Any]:
    """The ways a user is on a process's task: named, claimed, decided, or one of their roles' open tasks."""
    return [Task.candidate_user == username, Task.assignee == username, Task.decided_by == username,
            # "named to nobody" as coalesce(...) = '' (a username is never empty), which no index serves: the
            # planner walks the role's tasks, not every open task named to nobody.
            (Task.status == TaskStatus.OPEN) & (func.coalesce(Task.candidate_user, "") == "")
            & Task.candidate_role.in_(roles or {""})]


def involved_selects(username: str, roles: set[str]) -> list[Any]:
    """The processes on which the user has, or had, a task: one select per way of being involved, each on an
    index of its own (one OR over them all scans every task), to be joined by a UNION."""
    return [select(Task.process_id).where(way) for way in _involvement(username, roles)]


def involved_process_ids(username: str, roles: set[str]) -> Any:
    """A subquery of the processes on which the user has, or had, a task, or was copied (抄送)."""
    return union(*involved_selects(username, roles),
                 select(ApprovalCopy.process_id).where(ApprovalCopy.username == username))


def may_see(session: Session | Connection, username: str, roles: set[str], kind: str, owner: str, process_id: str) -> bool:
    if owner == username or sees_all(roles, kind):
        return True
    if session.execute(select(ApprovalCopy.id).where(ApprovalCopy.process_id == process_id,
                                                     ApprovalCopy.username == username).limit(1)).first():
        return True  # 抄送: copied on its approval
    return session.execute(
        select(Task.process_id).where(Task.process_id == process_id, or_(*_involvement(username, roles))).limit(1)
    ).first() is not None


def documents_visible_to(username: str, roles: Collection[str], kind: str, owner: Any, process_id: Any
                         ) -> ColumnElement[bool] | None:
    """may_see as a WHERE clause over a kind of document: its owner's (`owner`, the column naming them), those whose
    process (`process_id`) the user has, or had, a task on; None when the user oversees that kind (sees them all)."""
    if sees_all(set(roles), kind):
        return None
    return or_(owner == username, process_id.in_(involved_process_ids(username, set(roles))))


# A process type: the kind of document may_see judges it as, and the actions whose holders see every one of them
# besides (the rules the document's own pages apply: a supplier bill's enterers, a sales order's overseers).
DOCUMENT_KINDS: dict[str, tuple[str, tuple[Action, ...]]] = {
    "expense_claim": ("expense_claim", ()),
    "purchase": ("purchase", ()),
    "supplier_invoice": ("purchase", (Action.INVOICE_SEE_ALL, Action.SUPPLIER_INVOICE_ENTER)),
    "purchase_return": ("purchase", (Action.INVOICE_SEE_ALL, Action.SUPPLIER_INVOICE_ENTER)),
    "quotation": ("quotation", ()),
    "sales_order": ("process", (Action.SALES_ORDER_SEE_ALL,)),
    "customer_invoice": ("process", (Action.INVOICE_SEE_ALL,)),
    "lead_to_order": ("process", (Action.LEAD_SEE_ALL,)),
    "form_request": ("form_request", ()),
    "production_order": ("process", (Action.PRODUCTION_READ,)),
    "payment": ("process", (Action.INVOICE_SEE_ALL,)),
}
DRAFT = "draft:"
# A purchase order shares its requisition's process (read by name: purchasing sits above this context).
_PURCHASE_ORDERS = table("purchase_orders", column("number"), column("process_id"))
# An opportunity goes on in its lead's process (crm sits above this context too).
_OPPORTUNITIES = table("opportunities", column("number"), column("process_id"))


def may_see_document(session: Session, username: str, roles: Collection[str], key: str) -> bool:
    """Whether the user may see the document of business key `key` (EC-00017, PR-/PO-, BILL-, FR-, SO-, QT-, ...),
    as its pages judge: its process's owner, whoever has (or had) a task on it, the roles overseeing its kind.
    "draft:<username>" (uploads before their document exists) is that user's alone. False for an unknown key."""
    roles = set(roles)
    if key.startswith(DRAFT):
        return key == DRAFT + username
    cols = select(Process.type, Process.owner, Process.process_id)
    proc = session.execute(cols.where(Process.business_key == key).order_by(Process.started_at).limit(1)).first()
    for by_number in (_PURCHASE_ORDERS, _OPPORTUNITIES):
        if proc is None:
            shared = select(by_number.c.process_id).where(by_number.c.number == key).scalar_subquery()
            proc = session.execute(cols.where(Process.process_id == shared).limit(1)).first()
    if proc is None:
        return False
    kind, overseers = DOCUMENT_KINDS.get(proc.type, ("process", ()))
    if any(permissions.may(roles, action) for action in overseers):
        return True
    return may_see(session, username, roles, kind, proc.owner, proc.process_id) or (
        kind != "process" and sees_all(roles, "process"))


def sees_all(roles: set[str], kind: str) -> bool:
    return kind in OVERSEERS and permissions.may(roles, OVERSEERS[kind])


Viewer = tuple[str, Collection[str]]  # (username, roles) of whoever reads; None where the reader sees everything
