"""The process monitor: the database projection of every process plus Temporal's own view."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from api import waits
from api.deps import CurrentUser, PlatformDep, as_actor
from api.encoding import ok
from api.processes import (
    ProcessFilter,
    cancel_process,
    count_by_type_and_stage,
    list_query,
    process_summary,
    process_view,
    visible_process,
    visible_row,
)
from api.routes.common import UNTIL, Limit, Offset, Wait, status_poll
from api.starters import approval
from domain.processes.rules import ProcessStatus

router = APIRouter(prefix="/api/processes", tags=["monitor"])

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


@router.get("/{process_id:path}")
async def get_process(process_id: str, user: CurrentUser, platform: PlatformDep, wait: Wait = Decimal(0),
                      until: Annotated[ProcessStatus | None, UNTIL] = None) -> Any:
    """A process with its steps, tasks and what Temporal says of it. With `wait` and `until`, a long poll: the answer
    waits (up to `wait` seconds) until the process has that status (`completed`, `failed`, …), re-checked with the
    other waits (api.waits); the whole view is read once it has it, or at the deadline."""
    async def view() -> dict[str, Any]:
        out = await platform.peek(process_view, user, process_id)
        out["temporal"] = await _describe(platform, process_id)
        return out

    return ok(await status_poll(platform, view, waits.process_status, process_id, until, wait,
                                lambda: platform.peek(lambda c: visible_row(c, user, process_id).status)))


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


@router.post("/{process_id:path}/urge")
async def urge(process_id: str, user: CurrentUser, platform: PlatformDep) -> Any:
    """催办: the requester reminds the approver(s) of the process's open approval task, at most once an hour."""
    await platform.glance(lambda s: visible_process(s, user, process_id))
    return ok({"urged": await approval.urge(platform, as_actor(user), process_id)})


@router.post("/{process_id:path}/cancel")
async def cancel(process_id: str, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(await cancel_process(process_id, user, platform))
