"""The process monitor: the processes the viewer may see, filtered and paged, and one process's steps,
approval trail and open tasks, with its status in Temporal and a link to the Temporal web UI."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Form, Query
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response
from temporalio.service import RPCError

from api.i18n import N_, _, label, short_moment
from api.platform import Platform
from api.processes import (
    STATUSES,
    build_filter,
    count_by_type_and_stage,
    filter_problems,
    list_query,
    process_scope,
    process_summary,
)
from api.routes.common import Offset
from api.routes.ui.inbox import Again, drop_filter, keep_filter, task_row
from api.routes.ui.pages import (
    PosterDep,
    Viewer,
    ViewerDep,
    not_possible,
    page_router,
    render,
)
from domain.approvals import saved_filters
from domain.approvals import services as approvals
from domain.approvals.rules import TaskStatus
from domain.approvals.tables import Task, TaskEvent
from domain.cash import invoicing
from domain.cash.tables import Invoice
from domain.core.errors import DomainError, Forbidden, NotFound
from domain.core.types import utcnow
from domain.forms import requests as form_requests
from domain.permissions import Action
from domain.processes import monitor
from domain.processes.rules import ProcessStatus
from domain.processes.tables import Process
from domain.production.tables import ProductionOrder
from domain.purchasing.tables import PurchaseRequisition
from domain.sales import services as sales_svc

PAGE_SIZE = 50

router = page_router()


Text = Annotated[str, Query(max_length=60)]
@router.get("/processes")
async def processes(v: ViewerDep, type_: Annotated[str, Query(alias="type", max_length=40)] = "",
                    status: Annotated[str, Query(max_length=20)] = "", stage: Text = "", business_key: Text = "",
                    customer: Annotated[str, Query(max_length=200)] = "", owner: Text = "",
                    started_from: Annotated[str, Query(max_length=10)] = "",
                    started_to: Annotated[str, Query(max_length=10)] = "",
                    offset: Offset = 0) -> Response:
    """The list, newest first, under the filters (started from/to are UTC days, both included), and above it
    the counts by type and stage of what the viewer may see under the same filters but type and stage."""
    return await _processes(v, {"type": type_, "status": status, "stage": stage, "business_key": business_key,
                                "customer": customer, "owner": owner, "started_from": started_from,
                                "started_to": started_to}, offset)


async def _processes(v: Viewer, params: Mapping[str, str], offset: int = 0, *, code: int = 200,
                     **ctx: Any) -> Response:
    f, filters = build_filter(params)
    q = list_query(v.user, f, PAGE_SIZE + 1, offset)

    def load(s: Session) -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]], list[dict[str, Any]]]:
        rows = [process_summary(p) for p in s.execute(q).scalars()]
        types = s.execute(process_scope(select(Process.type).distinct(), v.user).order_by(Process.type)).scalars()
        return (rows, list(types), count_by_type_and_stage(s, v.user, f),
                saved_filters.list_for(s, v.user.username, "processes"))

    rows, types, counts, saved = await v.platform.read(load)
    # The counts' links keep every filter but type and stage, which they set.
    keep = urlencode({k: val for k, val in filters.items() if k not in ("type", "stage")})
    return await render(v, "processes.html", code, section="processes", processes=rows[:PAGE_SIZE], types=types,
                        statuses=STATUSES, type=f.type, status_filter=f.status,
                        f=filters, counts=counts, count_total=sum(c["total"] for c in counts),
                        keep=("&" + keep) if keep else "", filtered=bool(filters),
                        offset=offset, page_size=PAGE_SIZE, saved=saved, saved_base="/processes",
                        saved_qs=saved_filters.encode(filters),
                        newer=urlencode({**filters, "offset": max(offset - PAGE_SIZE, 0)}) if offset else "",
                        older=urlencode({**filters, "offset": offset + PAGE_SIZE}) if len(rows) > PAGE_SIZE else "",
                        **ctx)


@router.post("/processes/saved-filters")
async def save_filter(v: PosterDep, name: Annotated[str, Form(max_length=200)] = "",
                      query: Annotated[str, Form(max_length=2000)] = "") -> Response:
    return await keep_filter(v, "processes", "/processes", name, query, filter_problems, _again(v))


@router.post("/processes/saved-filters/{filter_id}/delete")
async def delete_filter(filter_id: int, v: PosterDep, back: Annotated[str, Form(max_length=2000)] = "") -> Response:
    return await drop_filter(v, "/processes", filter_id, back, filter_problems, _again(v))


def _again(v: Viewer) -> Again:
    return lambda params, code, error: _processes(v, params, code=code, error=error)


async def _temporal_status(platform: Platform, process_id: str) -> str:
    try:
        async with asyncio.timeout(3):
            described = await platform.client.get_workflow_handle(process_id).describe()
    except (RPCError, TimeoutError):
        return ""
    return described.status.name.lower().replace("_", " ") if described.status else ""


# The business map's geometry, in SVG user units: a wide map of rows of boxes (scaled to the card's width), and
# a narrow one of boxes stacked, shown instead on small screens (monitor.css).
WIDE = {"per_row": 5, "w": 220, "h": 66, "gap": 40, "row_gap": 40, "pad": 8, "chars": 27}
NARROW = {"per_row": 1, "w": 300, "h": 58, "gap": 0, "row_gap": 26, "pad": 8, "chars": 36}
STATE_WORDS = {"done": N_("done"), "current": N_("now"), "todo": N_("to do"), "failed": N_("failed"),
               "skipped": N_("skipped"), "not reached": N_("not reached")}  # English: translated where shown


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def map_layout(steps: list[monitor.MapStep], g: dict[str, int]) -> dict[str, Any]:
    """Boxes (x, y, texts) and arrows (SVG path data) for the map's steps; text is escaped by the template."""
    per, w, h, gap, row_gap, pad = g["per_row"], g["w"], g["h"], g["gap"], g["row_gap"], g["pad"]
    rows = max(-(-len(steps) // per), 1)
    per = max(-(-len(steps) // rows), 1)  # rows as even as they can be: 8 steps are two rows of 4, not 5 and 3
    boxes: list[dict[str, Any]] = []
    arrows: list[str] = []
    for i, st in enumerate(steps):
        row, col = divmod(i, per)
        x, y = pad + col * (w + gap), pad + row * (h + row_gap)
        when = st.finished_at if st.state in ("done", "failed") and st.finished_at else st.started_at
        sub = _(STATE_WORDS[st.state]) + (f" · {short_moment(when)}" if when else "")  # the viewer's zone
        boxes.append({"x": x, "y": y, "w": w, "h": h, "cx": x + w // 2, "name": st.name,
                      "label": _short(label(st.name), g["chars"]), "sub": sub, "state": st.state.replace(" ", "-"),
                      "current": st.current, "n": i + 1})
        if i:
            prev = boxes[i - 1]
            if col:  # along the row
                arrows.append(f"M{prev['x'] + w} {y + h // 2} H{x - 3}")
            else:  # down to the next row's first box
                mid = prev["y"] + h + row_gap // 2
                arrows.append(f"M{prev['cx']} {prev['y'] + h} V{mid} H{x + w // 2} V{y - 3}")
    width = pad * 2 + per * w + (per - 1) * gap
    return {"boxes": boxes, "arrows": arrows, "width": width, "height": pad * 2 + rows * h + (rows - 1) * row_gap}


def _timeline(steps: list[monitor.MapStep], tasks: list[Task], events: list[TaskEvent]) -> list[dict[str, Any]]:
    """Steps begun and ended, and what happened to the tasks (created, claimed, decided, …), oldest first."""
    out: list[dict[str, Any]] = []
    for st in steps:
        ended = st.finished_at is not None and st.state in ("done", "failed")
        if st.started_at:  # a step's detail is its last word: said when it ended, or while it runs
            out.append({"at": st.started_at, "what": f"step “{st.name}” began", "who": "",
                        "detail": "" if ended else st.detail, "kind": "step"})
        if ended:
            out.append({"at": st.finished_at, "what": f"step “{st.name}” {'ended' if st.state == 'done' else 'failed'}",
                        "who": "", "detail": st.detail, "kind": "step"})
    label = {t.id: t.step_label or t.title for t in tasks}
    for e in events:
        out.append({"at": e.at, "what": f"task {e.event}: {label.get(e.task_id, e.task_id)}",
                    "who": "" if e.actor == "system" else e.actor, "detail": e.detail, "kind": e.event})
    return sorted(out, key=lambda x: x["at"])


def _linked(s: Session, user: Any, proc: Process) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The parent process and the children the viewer may see: by parent (0006 on), and for a sales order
    recorded before that, its production orders and requisitions by the order's number."""
    parent = None
    if proc.parent_id:
        found = s.execute(process_scope(select(Process), user).where(Process.process_id == proc.parent_id)).scalar()
        parent = process_summary(found) if found is not None else None
    child = Process.parent_id == proc.process_id
    if proc.type == "sales_order":
        child = or_(child, Process.process_id.in_(select(ProductionOrder.process_id).where(
            ProductionOrder.sales_order_number == proc.business_key)), Process.process_id.in_(
            select(PurchaseRequisition.process_id).where(PurchaseRequisition.sales_order_number == proc.business_key)))
    q = process_scope(select(Process), user).where(child).order_by(Process.started_at, Process.process_id).limit(200)
    return parent, [process_summary(p) for p in s.execute(q).scalars()]


def process_name(process_type: str) -> str:
    """A process's kind as a sentence names it, in the viewer's language."""
    names = {"expense_claim": _("expense claim"), "purchase": _("purchase requisition"), "approval": _("approval"),
             "lead_to_order": _("lead"), "quotation": _("quotation"), "sales_order": _("sales order"),
             "production_order": _("production order"), "payment": _("payment"),
             "supplier_invoice": _("supplier bill"), "period_close": _("month-end close"),
             "customer_invoice": _("invoice"), "sales_return": _("sales return"),
             "purchase_return": _("supplier credit note"), "form_request": _("request"),
             "mrp_release": _("MRP release")}
    return names.get(process_type, process_type.replace("_", " "))


def _known_to(s: Session, user: Any, proc: Process) -> bool:
    """Whether a page the viewer may open links to this process, so that its existence is no secret, only its
    content: its sales order's page (the order's own process, or a requisition or production order raised for
    it), its invoice's or bill's page, a production order's, payment's or month-end close's page (role-gated), or
    a related process they see (its parent or a child)."""
    viewer = (user.username, user.roles)
    orders = [proc.business_key] if proc.type == "sales_order" else []
    for table in (PurchaseRequisition, ProductionOrder):
        orders += [n for n in s.execute(select(table.sales_order_number).where(
            table.process_id == proc.process_id)).scalars() if n]
    for number in orders:
        try:
            sales_svc.visible_order(s, number, viewer)
            return True
        except DomainError:
            pass
    for invoice in s.execute(select(Invoice.number).where(Invoice.process_id == proc.process_id)).scalars():
        try:  # an invoice's or a bill's page links its process
            invoicing.visible_invoice(s, invoice, user.username, user.roles)
            return True
        except DomainError:
            pass
    gates = {"production_order": Action.PRODUCTION_READ, "mrp_release": Action.PRODUCTION_READ,
             "payment": Action.INVOICE_SEE_ALL,
             "period_close": Action.FINANCE_REPORT_READ}  # their pages are their role's and link the process
    if proc.type in gates and user.may(gates[proc.type]):
        return True
    related = [Process.parent_id == proc.process_id]
    if proc.parent_id:
        related.append(Process.process_id == proc.parent_id)
    q = process_scope(select(Process.process_id), user).where(or_(*related)).limit(1)
    return s.execute(q).first() is not None


@router.get("/processes/{process_id:path}")
async def process_page(process_id: str, v: ViewerDep) -> Response:
    if process_id.split("/", 1)[0] == "saved-filters":  # a reload of a saved filter's form (a POST address)
        return RedirectResponse("/processes", status_code=303)
    now = utcnow()

    def load(s: Session) -> dict[str, Any]:
        proc = s.get(Process, process_id)
        if proc is None:
            raise NotFound(f"no process {process_id}")
        if s.execute(process_scope(select(Process.process_id), v.user)
                     .where(Process.process_id == process_id)).first() is None:
            if _known_to(s, v.user, proc):  # linked from a page the viewer sees: it exists, say so
                raise Forbidden(_("You may not see %(what)s %(key)s: it is not yours, nor your team's, nor your "
                                  "role's to follow.", what=process_name(proc.type), key=proc.business_key))
            raise NotFound(f"no process {process_id}")  # known only by its id: existence is not told
        tasks = list(s.execute(select(Task).where(Task.process_id == process_id).order_by(Task.created_at)).scalars())
        events = list(s.execute(select(TaskEvent).where(TaskEvent.task_id.in_([t.id for t in tasks]))
                                .order_by(TaskEvent.at, TaskEvent.id)).scalars()) if tasks else []
        steps = monitor.business_map(proc.type, [monitor.RecordedStep(
            name=st.name, status=st.status, detail=st.detail, started_at=st.started_at, finished_at=st.finished_at)
            for st in proc.steps], proc.stage, proc.status,
            plan=form_requests.plan(s, process_id) if proc.type == form_requests.KIND else None)
        open_tasks = [task_row(t, now) for t in tasks if t.status == TaskStatus.OPEN]
        current = next((st for st in steps if st.current), None)
        parent, children = _linked(s, v.user, proc)
        return {"proc": process_summary(proc), "trail": approvals.trail(s, process_id),
                "steps": [{"name": st.name, "status": st.status, "detail": st.detail, "started_at": st.started_at,
                           "finished_at": st.finished_at} for st in proc.steps],
                "map_steps": steps, "wide": map_layout(steps, WIDE), "narrow": map_layout(steps, NARROW),
                "waiting": (monitor.waiting_reason(open_tasks, current, now) if proc.status == ProcessStatus.RUNNING
                            else ""),
                "timeline": _timeline(steps, tasks, events), "parent": parent, "children": children,
                "open_tasks": open_tasks}

    try:
        data = await v.platform.read(load)
    except DomainError as e:
        return await not_possible(v, e)
    # The Temporal web UI, when one is configured (`TEMPORAL_UI_URL`), for admin only: it has no login, shows every
    # workflow's input and offers Reset and Terminate, so it walks around every visibility rule of ours.
    base = v.settings.temporal_ui_url.rstrip("/") if v.user.may(Action.INCIDENT_MANAGE) else ""
    link = (f"{base}/namespaces/{quote(v.settings.temporal_namespace, safe='')}/workflows/"
            f"{quote(process_id, safe='')}") if base else ""
    return await render(v, "process.html", section="processes", temporal_link=link,
                        temporal_status=await _temporal_status(v.platform, process_id), **data)
