"""The process monitor: the processes the viewer may see, filtered and paged, and one process's steps,
approval trail and open tasks, with its status in Temporal and a link to the Temporal web UI."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Query
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response
from temporalio.service import RPCError

from api.platform import Platform
from api.routes.processes import (
    ProcessFilter,
    count_by_type_and_stage,
    list_query,
    process_scope,
    process_summary,
)
from api.routes.ui.inbox import task_row
from api.routes.ui.pages import ViewerDep, not_possible, page_router, render
from domain.errors import DomainError, NotFound
from domain.schema import Process, Task
from domain.schema.types import utcnow
from domain.services import approvals

PAGE_SIZE = 50

router = page_router()


def _day(value: str) -> date | None:
    """A date filter from the form (YYYY-MM-DD); anything else is ignored rather than refused."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _midnight(d: date | None, days: int = 0) -> datetime | None:
    return None if d is None else datetime.combine(d + timedelta(days=days), time(), tzinfo=UTC)


Text = Annotated[str, Query(max_length=60)]


@router.get("/processes")
async def processes(v: ViewerDep, type_: Annotated[str, Query(alias="type", max_length=40)] = "",
                    status: Annotated[str, Query(max_length=20)] = "", stage: Text = "", business_key: Text = "",
                    customer: Annotated[str, Query(max_length=200)] = "", owner: Text = "",
                    started_from: Annotated[str, Query(max_length=10)] = "",
                    started_to: Annotated[str, Query(max_length=10)] = "",
                    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    """The list, newest first, under the filters (started from/to are UTC days, both included), and above it
    the counts by type and stage of what the viewer may see under the same filters but type and stage."""
    day_from, day_to = _day(started_from), _day(started_to)
    f = ProcessFilter(type=type_, status=status, stage=stage.strip(), business_key=business_key.strip(),
                      customer=customer.strip(), owner=owner.strip(), started_after=_midnight(day_from),
                      started_before=_midnight(day_to, 1))
    q = list_query(v.user, f, PAGE_SIZE + 1, offset)

    def load(s: Session) -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]]]:
        rows = [process_summary(p) for p in s.execute(q).scalars()]
        types = s.execute(process_scope(select(Process.type).distinct(), v.user).order_by(Process.type)).scalars()
        return rows, list(types), count_by_type_and_stage(s, v.user, f)

    rows, types, counts = await v.platform.read(load)
    filters = {k: val for k, val in {
        "type": type_, "status": status, "stage": f.stage, "business_key": f.business_key, "customer": f.customer,
        "owner": f.owner, "started_from": day_from.isoformat() if day_from else "",
        "started_to": day_to.isoformat() if day_to else ""}.items() if val}
    # The counts' links keep every filter but type and stage, which they set.
    keep = urlencode({k: val for k, val in filters.items() if k not in ("type", "stage")})
    return await render(v, "processes.html", section="processes", processes=rows[:PAGE_SIZE], types=types,
                        statuses=["running", "completed", "cancelled", "failed"], type=type_, status_filter=status,
                        f=filters, counts=counts, count_total=sum(c["total"] for c in counts),
                        keep=("&" + keep) if keep else "", filtered=bool(filters),
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
