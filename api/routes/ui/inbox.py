"""The approver's inbox and task pages: what waits for the viewer, the document a task is about, and the
decisions (approve, reject, claim), which go to the workflow; a refusal shows the page again with the reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Form, Query
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.deps import as_actor
from api.routes.common import task_view
from api.routes.tasks import visible_task
from api.routes.ui.pages import (
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    not_possible,
    page_router,
    redirect,
    render,
)
from domain.errors import DomainError, NotFound
from domain.schema import ExpenseClaim, PurchaseRequisition, Task, TaskEvent
from domain.schema.types import utcnow
from domain.services import approval_context, approvals, expenses, purchasing

router = page_router()


def _span(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    return f"{days} d {hours} h" if days else f"{hours} h {mins} min" if hours else f"{mins} min"


def task_row(t: Task, now: datetime) -> dict[str, Any]:
    row = task_view(t)
    row["overdue"] = t.status == "open" and t.due_at is not None and t.due_at < now
    row["due_in"] = "" if t.due_at is None else _span(t.due_at - now)
    return row


async def _inbox(v: Viewer, kind: str = "", business_key: str = "", *, status: int = 200, **ctx: Any) -> Response:
    now = utcnow()
    q = approvals.task_query(v.user.username, sorted(v.user.roles), kind=kind or None,
                             business_key=business_key or None)
    q = approval_context.with_summaries(q).order_by(Task.due_at.asc(), Task.priority.desc(), Task.id).limit(200)
    tasks = await v.platform.read(lambda s: [{**task_row(t, now), "summary": approval_context.summary(*cols)}
                                             for t, *cols in s.execute(q)])
    return await render(v, "inbox.html", status, section="inbox", tasks=tasks, kind=kind,
                        business_key=business_key, **ctx)


@router.get("/inbox")
async def inbox(v: ViewerDep, kind: Annotated[str, Query(max_length=40)] = "",
                business_key: Annotated[str, Query(max_length=60)] = "", msg: str = "") -> Response:
    return await _inbox(v, kind.strip(), business_key.strip(), msg=msg[:300])


def _document(s: Session, task: Task) -> dict[str, Any] | None:
    """The business document a task is about, summarised for the approver."""
    if task.process_type == "expense_claim":
        claim = s.execute(select(ExpenseClaim).where(ExpenseClaim.process_id == task.process_id)).scalar_one_or_none()
        return {"kind": "expense_claim", **expenses.view(s, claim)} if claim else None
    if task.process_type == "purchase":
        req = s.execute(select(PurchaseRequisition).where(PurchaseRequisition.process_id == task.process_id)
                        ).scalar_one_or_none()
        if req is None:
            return None
        view = purchasing.requisition_view(s, req)
        for line in view["lines"]:
            line["total"] = line["qty"] * line["est_unit_price"]
        return {"kind": "purchase", **view}
    return None


async def _task_page(v: Viewer, task_id: str, *, status: int = 200, **ctx: Any) -> Response:
    now = utcnow()

    def load(s: Session) -> dict[str, Any]:
        task = visible_task(s, v.user, task_id)
        events = s.execute(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)).scalars()
        mine = approvals.task_query(v.user.username, sorted(v.user.roles)).where(Task.id == task_id)
        return {"task": task_row(task, now), "doc": _document(s, task),
                "context": approval_context.task_context(s, task), "trail": approvals.trail(s, task.process_id),
                "events": [{"event": e.event, "actor": e.actor, "detail": e.detail, "at": e.at} for e in events],
                "actionable": s.execute(mine).first() is not None}

    data = await v.platform.read(load)
    return await render(v, "task.html", status, section="inbox", **data, **ctx)


@router.get("/tasks/{task_id}")
async def task_page(task_id: str, v: ViewerDep, msg: str = "") -> Response:
    try:
        return await _task_page(v, task_id, msg=msg[:300])
    except DomainError as e:
        return await not_possible(v, e)


async def _refused(v: Viewer, task_id: str, back: str, e: DomainError) -> Response:
    if back == "task":
        try:
            return await _task_page(v, task_id, status=error_status(e), error=e.message)
        except NotFound:
            pass
    return await _inbox(v, status=error_status(e), error=e.message)


@router.post("/inbox/{task_id}/decide")
async def decide(task_id: str, v: PosterDep, decision: Annotated[str, Form(max_length=10)] = "",
                 comment: Annotated[str, Form(max_length=2000)] = "",
                 back: Annotated[str, Form(max_length=10)] = "inbox") -> Response:
    try:
        task = await v.platform.decide(as_actor(v.user), task_id, decision, comment.strip())
    except DomainError as e:
        return await _refused(v, task_id, back, e)
    verb = "Approved" if decision == "approve" else "Rejected"
    return redirect("/inbox", msg=f"{verb}: {task.title}")


@router.post("/inbox/{task_id}/claim")
async def claim(task_id: str, v: PosterDep, back: Annotated[str, Form(max_length=10)] = "inbox") -> Response:
    try:
        task = await v.platform.task_command("claim", as_actor(v.user), task_id)
    except DomainError as e:
        return await _refused(v, task_id, back, e)
    msg = f"Claimed: {task.title}. It is now assigned to you."
    return redirect(f"/tasks/{task_id}" if back == "task" else "/inbox", msg=msg)
