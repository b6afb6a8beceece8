"""The process monitor: the database projection of every process plus Temporal's own view."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from api.auth import Principal
from api.deps import CurrentUser, PlatformDep, as_actor
from api.encoding import ok
from api.routes.common import Limit, Offset, as_utc, task_view
from domain.errors import Conflict, NotFound
from domain.schema import Process, Task
from domain.services import access
from workflows.expense_claim import ExpenseClaim
from workflows.order_fulfilment import OrderFulfilment
from workflows.purchase import Purchase

router = APIRouter(prefix="/api/processes", tags=["monitor"])

CANCEL_UPDATES = {"expense_claim": ExpenseClaim.cancel, "purchase": Purchase.cancel,
                  "sales_order": OrderFulfilment.cancel}


def process_summary(p: Process) -> dict[str, Any]:
    return {"process_id": p.process_id, "type": p.type, "business_key": p.business_key, "title": p.title,
            "owner": p.owner, "amount": p.amount, "status": p.status, "stage": p.stage,
            "started_at": p.started_at, "closed_at": p.closed_at}


def process_scope(q: Any, user: Principal) -> Any:
    if access.sees_all(set(user.roles), "process"):
        return q
    return q.where(or_(Process.owner == user.username,
                       Process.process_id.in_(access.involved_process_ids(user.username, set(user.roles)))))


@router.get("")
async def list_processes(user: CurrentUser, platform: PlatformDep,
                         type: Annotated[str | None, Query(max_length=40)] = None,
                         status: Annotated[str | None, Query(max_length=20)] = None,
                         stage: Annotated[str | None, Query(max_length=60)] = None,
                         business_key: Annotated[str | None, Query(max_length=60)] = None,
                         started_after: datetime | None = None, started_before: datetime | None = None,
                         limit: Limit = 50, offset: Offset = 0) -> Any:
    q = process_scope(select(Process), user)
    for col, value in ((Process.type, type), (Process.status, status), (Process.stage, stage),
                       (Process.business_key, business_key)):
        if value:
            q = q.where(col == value)
    if started_after:
        q = q.where(Process.started_at >= as_utc(started_after))
    if started_before:
        q = q.where(Process.started_at < as_utc(started_before))
    q = q.order_by(Process.started_at.desc(), Process.process_id).limit(limit).offset(offset)
    return ok(await platform.read(lambda s: [process_summary(p) for p in s.execute(q).scalars()]))


def _visible(s: Session, user: Principal, process_id: str) -> Process:
    proc = s.get(Process, process_id)
    if proc is None or s.execute(process_scope(select(Process.process_id), user)
                                 .where(Process.process_id == process_id)).first() is None:
        raise NotFound(f"no process {process_id}")
    return proc


@router.get("/{process_id:path}")
async def get_process(process_id: str, user: CurrentUser, platform: PlatformDep) -> Any:
    def load(s: Session) -> dict[str, Any]:
        proc = _visible(s, user, process_id)
        tasks = s.execute(select(Task).where(Task.process_id == process_id).order_by(Task.created_at)).scalars()
        all_tasks = [task_view(t) for t in tasks]
        return {**process_summary(proc),
                "steps": [{"name": st.name, "status": st.status, "detail": st.detail, "started_at": st.started_at,
                           "finished_at": st.finished_at} for st in proc.steps],
                "open_tasks": [t for t in all_tasks if t["status"] == "open"],
                "tasks": all_tasks}
    out = await platform.read(load)
    out["temporal"] = await _describe(platform, process_id)
    return ok(out)


async def _describe(platform: Any, process_id: str) -> dict[str, Any] | None:
    try:
        d = await platform.client.get_workflow_handle(process_id).describe()
    except RPCError:
        return None
    status = d.status.name.lower() if isinstance(d.status, WorkflowExecutionStatus) else None
    pending = [{"activity_type": a.activity_type.name, "attempt": a.attempt,
                "last_failure": a.last_failure.message if a.HasField("last_failure") else None}
               for a in d.raw_description.pending_activities]
    return {"workflow_id": d.id, "run_id": d.run_id, "status": status, "history_length": d.history_length,
            "task_queue": d.task_queue, "pending_activities": pending}


@router.post("/{process_id:path}/cancel")
async def cancel(process_id: str, user: CurrentUser, platform: PlatformDep) -> Any:
    proc = await platform.read(lambda s: _visible(s, user, process_id))
    update = CANCEL_UPDATES.get(proc.type)
    if update is None:
        raise Conflict(f"a {proc.type} process cannot be cancelled")
    handle = platform.client.get_workflow_handle(process_id)
    await platform.update(handle, update, as_actor(user))
    return ok(await platform.read(lambda s: process_summary(_visible(s, user, process_id))))
