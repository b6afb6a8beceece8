"""The inbox: the tasks a caller may act on, and their decisions (forwarded to the workflow as Updates)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.deps import CurrentUser, PlatformDep, as_actor
from api.encoding import ok
from api.routes.common import Limit, Offset, Wait, as_utc, long_poll, task_view
from api.schemas import DecisionIn, ReassignIn
from domain.errors import NotFound
from domain.schema import Task, TaskEvent
from domain.schema.types import utcnow
from domain.services import approval_context, approvals

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

SORTS: dict[str, tuple[Any, ...]] = {"due": (Task.due_at.asc(), Task.priority.desc()), "priority": (Task.priority.desc(), Task.due_at.asc()),
         "created": (Task.created_at.desc(),)}


@router.get("")
async def list_tasks(user: CurrentUser, platform: PlatformDep,
                     status: Literal["open", "completed", "cancelled", "escalated"] | None = "open",
                     kind: Annotated[str | None, Query(max_length=40)] = None,
                     business_key: Annotated[str | None, Query(max_length=60)] = None,
                     due_before: datetime | None = None,
                     assigned: Literal["me", "roles"] | None = None,
                     scope: Literal["mine", "all"] = "mine",
                     sort: Literal["due", "priority", "created"] = "due",
                     limit: Limit = 50, offset: Offset = 0, wait: Wait = 0) -> Any:
    see_all = scope == "all" and user.has("admin")
    q = approvals.task_query(user.username, sorted(user.roles), status=status, kind=kind, business_key=business_key,
                             due_before=as_utc(due_before), assigned=assigned, see_all=see_all)
    q = q.order_by(*SORTS[sort], Task.id).limit(limit).offset(offset)
    rows = await long_poll(lambda: platform.read(lambda s: list(s.execute(q).scalars())), bool, wait)
    return ok([task_view(t) for t in rows])


@router.get("/counts")
async def task_counts(user: CurrentUser, platform: PlatformDep) -> Any:
    """How many open tasks each inbox view holds."""
    def count(s: Session) -> dict[str, int]:
        base = approvals.task_query(user.username, sorted(user.roles))
        def n(q: Any) -> int:
            return int(s.execute(select(func.count()).select_from(q.subquery())).scalar_one())
        return {"open": n(base), "mine": n(base.where(or_(Task.assignee == user.username,
                                                          Task.candidate_user == user.username))),
                "roles": n(base.where(Task.candidate_user.is_(None))),
                "overdue": n(base.where(Task.due_at < utcnow()))}
    return ok(await platform.read(count))


def visible_task(s: Session, user: Any, task_id: str) -> Task:
    task = s.get(Task, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if user.has("admin") or task.decided_by == user.username or task.assignee == user.username:
        return task
    q = approvals.task_query(user.username, sorted(user.roles), status=None).where(Task.id == task_id)
    if s.execute(q).first() is None:
        raise NotFound(f"no task {task_id}")
    return task


@router.get("/{task_id}")
async def get_task(task_id: str, user: CurrentUser, platform: PlatformDep) -> Any:
    def load(s: Session) -> dict[str, Any]:
        task = visible_task(s, user, task_id)
        events = s.execute(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)).scalars()
        return {**task_view(task), "context": approval_context.task_context(s, task),
                "approvals": approvals.trail(s, task.process_id),
                "events": [{"event": e.event, "actor": e.actor, "detail": e.detail, "at": e.at} for e in events]}
    return ok(await platform.read(load))


@router.post("/{task_id}/claim")
async def claim(task_id: str, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(task_view(await platform.task_command("claim", as_actor(user), task_id)))


@router.post("/{task_id}/unclaim")
async def unclaim(task_id: str, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(task_view(await platform.task_command("unclaim", as_actor(user), task_id)))


@router.post("/{task_id}/reassign")
async def reassign(task_id: str, body: ReassignIn, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(task_view(await platform.task_command("reassign", as_actor(user), task_id, body.to, body.delegate)))


@router.post("/{task_id}/complete")
async def complete(task_id: str, body: DecisionIn, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(task_view(await platform.decide(as_actor(user), task_id, body.decision, body.comment)))
