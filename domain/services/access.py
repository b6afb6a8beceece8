"""Who may see which document: the owner, whoever has (or had) a task on it, and the roles that
oversee that kind of document. Everyone else gets a 404, so ids reveal nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from domain.schema import Task

OVERSEERS: dict[str, set[str]] = {
    "expense_claim": {"finance", "cfo", "admin"},
    "purchase": {"buyer", "warehouse", "finance", "cfo", "admin"},
    "process": {"admin", "cfo"},
    "quotation": {"sales_manager", "admin", "cfo", "finance"},
}


def involved_process_ids(username: str, roles: set[str]) -> Any:
    """A subquery of the processes on which the user has, or had, a task."""
    return select(Task.process_id).where(or_(
        Task.candidate_user == username, Task.assignee == username, Task.decided_by == username,
        (Task.status == "open") & Task.candidate_user.is_(None) & Task.candidate_role.in_(roles or {""}),
    ))


def may_see(session: Session, username: str, roles: set[str], kind: str, owner: str, process_id: str) -> bool:
    if owner == username or roles & OVERSEERS.get(kind, set()):
        return True
    return session.execute(
        involved_process_ids(username, roles).where(Task.process_id == process_id).limit(1)
    ).first() is not None


def sees_all(roles: set[str], kind: str) -> bool:
    return bool(roles & OVERSEERS.get(kind, set()))
