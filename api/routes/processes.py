"""The process monitor: the database projection of every process plus Temporal's own view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import func, or_, select, union
from sqlalchemy.orm import Session
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from api.auth import Principal
from api.deps import CurrentUser, PlatformDep, as_actor
from api.encoding import ok
from api.routes.common import Limit, Offset, as_utc, task_view
from domain.errors import Conflict, NotFound
from domain.schema import Customer, Lead, Process, Task
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
            "started_at": p.started_at, "closed_at": p.closed_at, "customer": p.customer, "parent_id": p.parent_id}


def process_scope(q: Any, user: Principal) -> Any:
    if access.sees_all(set(user.roles), "process"):
        return q
    # The processes I had a task on: one UNION of index lookups (named, claimed, decided, my roles' open tasks).
    return q.where(or_(Process.owner == user.username,
                       Process.process_id.in_(access.involved_process_ids(user.username, set(user.roles)))))


def customer_names(part: str) -> Any:
    """The names of customers and leads' companies containing `part` (any case): the values a process's
    customer takes (domain/services/processes.py start). Matching those few names and then the index on the
    processes' customer stays fast with 100,000 processes, where a substring match reads every row."""
    return union(select(Customer.name).where(Customer.name.icontains(part, autoescape=True)),
                 select(Lead.company).where(Lead.company.icontains(part, autoescape=True)))


@dataclass(frozen=True)
class ProcessFilter:
    """The monitor's filters, shared by the JSON list, its counts and the page. Empty means any. The business
    key matches as a prefix, the customer as a case-insensitive part of its name; `started_before` is exclusive."""

    type: str = ""
    status: str = ""
    stage: str = ""
    business_key: str = ""
    customer: str = ""
    owner: str = ""
    started_after: datetime | None = None
    started_before: datetime | None = None

    def apply(self, q: Any, *, by_type_and_stage: bool = True) -> Any:
        exact = [(Process.status, self.status), (Process.owner, self.owner)]
        if by_type_and_stage:
            exact += [(Process.type, self.type), (Process.stage, self.stage)]
        for col, value in exact:
            if value:
                q = q.where(col == value)
        if self.business_key:
            q = q.where(Process.business_key.startswith(self.business_key, autoescape=True))
        if self.customer:
            q = q.where(Process.customer.in_(customer_names(self.customer)))
        if self.started_after:
            q = q.where(Process.started_at >= as_utc(self.started_after))
        if self.started_before:
            q = q.where(Process.started_at < as_utc(self.started_before))
        return q


def list_query(user: Principal, f: ProcessFilter, limit: int, offset: int) -> Any:
    """A page of the processes the user may see, newest first. Whoever sees them all walks the started index.
    Anyone else gets the newest of those they own (on the owner index) and the newest of those they had a task
    on, each stopped at the page's end and merged: either set may run into the tens of thousands."""
    order = (Process.started_at.desc(), Process.process_id)
    if access.sees_all(set(user.roles), "process"):
        return f.apply(select(Process)).order_by(*order).limit(limit).offset(offset)
    window = limit + offset
    owned = f.apply(select(Process.process_id).where(Process.owner == user.username))
    involved = f.apply(select(Process.process_id).where(
        Process.process_id.in_(access.involved_process_ids(user.username, set(user.roles)))))
    firsts = [part.order_by(*order).limit(window).subquery() for part in (owned, involved)]
    ids = union(*[select(first.c.process_id) for first in firsts]).subquery()
    return select(Process).join(ids, Process.process_id == ids.c.process_id).order_by(*order).limit(limit).offset(offset)


def count_by_type_and_stage(s: Session, user: Principal, f: ProcessFilter) -> list[dict[str, Any]]:
    """What the viewer may see under the filters other than type and stage, per type and per stage within it:
    [{type, total, stages: [{stage, count}] (most first)}], the largest type first."""
    q = f.apply(process_scope(select(Process.type, Process.stage, func.count()), user), by_type_and_stage=False)
    out: dict[str, dict[str, Any]] = {}
    for type_, stage, n in s.execute(q.group_by(Process.type, Process.stage)):
        row = out.setdefault(type_, {"type": type_, "total": 0, "stages": []})
        row["total"] += n
        row["stages"].append({"stage": stage, "count": n})
    for row in out.values():
        row["stages"].sort(key=lambda x: (-x["count"], x["stage"]))
    return sorted(out.values(), key=lambda r: (-r["total"], r["type"]))


def _filter(type: str | None, status: str | None, stage: str | None, business_key: str | None,
            customer: str | None, owner: str | None, started_after: datetime | None,
            started_before: datetime | None) -> ProcessFilter:
    return ProcessFilter(type=type or "", status=status or "", stage=stage or "",
                         business_key=(business_key or "").strip(), customer=(customer or "").strip(),
                         owner=(owner or "").strip(), started_after=started_after, started_before=started_before)


TypeQ = Annotated[str | None, Query(max_length=40)]
StatusQ = Annotated[str | None, Query(max_length=20)]
StageQ = Annotated[str | None, Query(max_length=60)]
KeyQ = Annotated[str | None, Query(max_length=60, description="business key prefix")]
CustomerQ = Annotated[str | None, Query(max_length=200, description="part of the customer's name")]
OwnerQ = Annotated[str | None, Query(max_length=60)]


@router.get("")
async def list_processes(user: CurrentUser, platform: PlatformDep, type: TypeQ = None, status: StatusQ = None,
                         stage: StageQ = None, business_key: KeyQ = None, customer: CustomerQ = None,
                         owner: OwnerQ = None, started_after: datetime | None = None,
                         started_before: datetime | None = None, limit: Limit = 50, offset: Offset = 0) -> Any:
    f = _filter(type, status, stage, business_key, customer, owner, started_after, started_before)
    q = list_query(user, f, limit, offset)
    return ok(await platform.read(lambda s: [process_summary(p) for p in s.execute(q).scalars()]))


@router.get("/counts")
async def process_counts(user: CurrentUser, platform: PlatformDep, status: StatusQ = None,
                         business_key: KeyQ = None, customer: CustomerQ = None, owner: OwnerQ = None,
                         started_after: datetime | None = None, started_before: datetime | None = None) -> Any:
    """Counts by type and stage of the processes the caller may see (the list's filters but type and stage)."""
    f = _filter(None, status, None, business_key, customer, owner, started_after, started_before)
    return ok(await platform.read(lambda s: count_by_type_and_stage(s, user, f)))


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
