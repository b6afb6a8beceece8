"""The process monitor: the processes the viewer may see, filtered and paged, and one process's steps,
approval trail and open tasks, with its status in Temporal and a link to the Temporal web UI."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Query
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response
from temporalio.service import RPCError

from api.platform import Platform
from api.routes.processes import process_scope, process_summary
from api.routes.ui.inbox import task_row
from api.routes.ui.pages import ViewerDep, not_possible, page_router, render
from domain.errors import DomainError, NotFound
from domain.schema import Process, Task
from domain.schema.types import utcnow
from domain.services import approvals

PAGE_SIZE = 50

router = page_router()


@router.get("/processes")
async def processes(v: ViewerDep, type_: Annotated[str, Query(alias="type", max_length=40)] = "",
                    status: Annotated[str, Query(max_length=20)] = "",
                    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    q = process_scope(select(Process), v.user)
    if type_:
        q = q.where(Process.type == type_)
    if status:
        q = q.where(Process.status == status)
    q = q.order_by(Process.started_at.desc(), Process.process_id).limit(PAGE_SIZE + 1).offset(offset)

    def load(s: Session) -> tuple[list[dict[str, Any]], list[str]]:
        rows = [process_summary(p) for p in s.execute(q).scalars()]
        types = s.execute(process_scope(select(Process.type).distinct(), v.user).order_by(Process.type)).scalars()
        return rows, list(types)

    rows, types = await v.platform.read(load)
    filters = {"type": type_, "status": status}
    return await render(v, "processes.html", section="processes", processes=rows[:PAGE_SIZE], types=types,
                        statuses=["running", "completed", "cancelled", "failed"], type=type_, status_filter=status,
                        offset=offset, page_size=PAGE_SIZE,
                        newer=urlencode({**filters, "offset": max(offset - PAGE_SIZE, 0)}) if offset else "",
                        older=urlencode({**filters, "offset": offset + PAGE_SIZE}) if len(rows) > PAGE_SIZE else "")


async def _temporal_status(platform: Platform, process_id: str) -> str:
    try:
        async with asyncio.timeout(3):
            described = await platform.client.get_workflow_handle(process_id).describe()
    except (RPCError, TimeoutError):
        return ""
    return described.status.name.lower().replace("_", " ") if described.status else ""


@router.get("/processes/{process_id:path}")
async def process_page(process_id: str, v: ViewerDep) -> Response:
    now = utcnow()

    def load(s: Session) -> dict[str, Any]:
        proc = s.get(Process, process_id)
        if proc is None or s.execute(process_scope(select(Process.process_id), v.user)
                                     .where(Process.process_id == process_id)).first() is None:
            raise NotFound(f"no process {process_id}")
        tasks = s.execute(select(Task).where(Task.process_id == process_id).order_by(Task.created_at)).scalars()
        return {"proc": process_summary(proc), "trail": approvals.trail(s, process_id),
                "steps": [{"name": st.name, "status": st.status, "detail": st.detail, "started_at": st.started_at,
                           "finished_at": st.finished_at} for st in proc.steps],
                "open_tasks": [task_row(t, now) for t in tasks if t.status == "open"]}

    try:
        data = await v.platform.read(load)
    except DomainError as e:
        return await not_possible(v, e)
    # The Temporal web UI, when one is configured (`TEMPORAL_UI_URL`); empty hides the link.
    base = v.settings.temporal_ui_url.rstrip("/")
    link = (f"{base}/namespaces/{quote(v.settings.temporal_namespace, safe='')}/workflows/"
            f"{quote(process_id, safe='')}") if base else ""
    return await render(v, "process.html", section="processes", temporal_link=link,
                        temporal_status=await _temporal_status(v.platform, process_id), **data)
