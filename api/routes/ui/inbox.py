"""The approver's inbox and task pages: what waits for the viewer, the document a task is about, and the
decisions (approve, reject, claim), which go to the workflow; a refusal shows the page again with the reason."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api import i18n
from api.deps import as_actor
from api.i18n import N_, _
from api.inbox import (
    FILTER_FIELDS,
    InboxFilter,
    filter_problems,
    inbox_query,
    parse_filter,
    view_counts,
    visible_task,
)
from api.routes.common import task_view
from api.routes.ui.attachments import visible_panel
from api.routes.ui.notifications import timeline
from api.routes.ui.pages import (
    ENV,
    HEADERS,
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    not_possible,
    page_router,
    redirect,
    render,
)
from api.starters import approval
from domain.approvals import rules as approval_rules
from domain.approvals import saved_filters
from domain.approvals import services as approvals
from domain.approvals.tables import Task, TaskEvent
from domain.cash import services as cash
from domain.changes import services as changes
from domain.changes.tables import ChangeRequest
from domain.core.errors import DomainError, Invalid, NotFound
from domain.core.numbers import read_whole
from domain.core.types import utcnow
from domain.expenses import services as expenses
from domain.expenses.tables import ExpenseClaim
from domain.forms import services as form_types
from domain.forms.request_tables import FormRequest
from domain.org.people import Actor
from domain.purchasing import services as purchasing
from domain.purchasing.tables import PurchaseRequisition
from domain.sales import approval_context

router = page_router()


def _span(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return _("%(days)s d %(hours)s h", days=days, hours=hours)
    return _("%(hours)s h %(mins)s min", hours=hours, mins=mins) if hours else _("%(mins)s min", mins=mins)


def task_row(t: Task, now: datetime) -> dict[str, Any]:
    row = task_view(t)
    row["overdue"] = t.status == approval_rules.TaskStatus.OPEN and t.due_at is not None and t.due_at < now
    row["due_in"] = "" if t.due_at is None else _span(t.due_at - now)
    return row


PAGE = 50
SORT_LABELS = {"due": N_("Due date"), "priority": N_("Priority"), "created": N_("Created")}  # English: _() at render
VIEW_LABELS = {"mine": N_("My tasks"), "roles": N_("My roles' tasks"), "all": N_("All I may see")}
# The inbox page alone runs a script (its own, from /static): the live refresh of its rows and counts.
INBOX_CSP = HEADERS["Content-Security-Policy"] + "; script-src 'self'; connect-src 'self'"


def usable(query: str, check: saved_filters.Check = filter_problems) -> dict[str, str]:
    """The parameters of a query string a form sent back, if they are a usable filter (by `check`); else none."""
    try:
        params = saved_filters.normalise(query)
    except DomainError:
        return {}
    return {} if check(params) else params


def list_redirect(path: str, query: str, msg: str) -> Response:
    """Back to a list under the filter `query` (already encoded), with a notice."""
    response = redirect(f"{path}?{query}" if query else path, msg=msg)
    return response


# A list page shown again under a filter, with an HTTP status and an error: what a refused save or delete answers.
Again = Callable[[dict[str, str], int, str], Awaitable[Response]]


async def keep_filter(v: Viewer, page: str, path: str, name: str, query: str, check: saved_filters.Check,
                      again: Again) -> Response:
    """Keep a list's current filter under a name (the list page's form); a refusal shows the list again."""
    try:
        kept = await v.platform.write(saved_filters.save, v.user.username, page, name, query, check)
    except DomainError as e:
        return await again(usable(query, check), error_status(e), _("The filter was not saved: %(reason)s.", reason=e.message))
    return list_redirect(path, kept["query"], _("Saved the filter \u201c%(name)s\u201d.", name=kept["name"]))


async def drop_filter(v: Viewer, path: str, filter_id: int, back: str, check: saved_filters.Check,
                      again: Again) -> Response:
    """Delete one of my saved filters, back to the list under the filter it was on (`back`)."""
    try:
        name = await v.platform.write(saved_filters.delete, v.user.username, filter_id)
    except DomainError as e:
        return await again(usable(back, check), error_status(e), _("Not deleted: %(reason)s.", reason=e.message))
    return list_redirect(path, saved_filters.encode(usable(back, check)), _("Deleted the saved filter \u201c%(name)s\u201d.", name=name))


def _query_string(raw: Mapping[str, str], **changes: str) -> str:
    return urlencode({k: v for k, v in {**raw, **changes}.items() if v})


async def _listing(v: Viewer, f: InboxFilter, page_no: int) -> dict[str, Any]:
    now = utcnow()
    q = approval_context.with_summaries(inbox_query(v.user, f, listing=True, window=page_no * PAGE + 1), now.date())
    q = q.order_by(*approvals.ordering(f.sort, f.direction)).limit(PAGE + 1).offset((page_no - 1) * PAGE)

    def load(s: Session) -> dict[str, Any]:
        found = list(s.execute(q))
        prior, actor = approvals.earlier_deciders(s, [t for t, *_ in found]), as_actor(v.user)
        hold = cash.policy(s).dunning.hold_after_days if found else None
        rows = [{**task_row(t, now), **offers(t, actor, prior[t.workflow_id]),
                 "summary": approval_context.summary(*cols, today=now.date(), hold_after_days=hold)}
                for t, *cols in found]
        return {"tasks": rows[:PAGE], "more": len(rows) > PAGE, "counts": view_counts(s, v.user, f)}
    return await v.platform.read(load)


def _page_no(raw: str) -> int:
    try:
        page = read_whole(raw, "the page")
    except DomainError:
        return 1
    return page if page is not None and 0 < page <= 100_000 else 1


async def _inbox(v: Viewer, params: Mapping[str, str] | None = None, *, status: int = 200,
                 **ctx: Any) -> Response:
    f, raw, problems = parse_filter(params or {})
    page_no = _page_no(str((params or {}).get("page", "")))
    if problems:
        status, ctx["error"] = 422, _("This filter cannot be used: %(problems)s. The list is unchanged.", problems="; ".join(problems))
        f, page_no = InboxFilter(), 1
    listing = await _listing(v, f, page_no)
    listing["saved"] = await v.platform.read(saved_filters.list_for, v.user.username, "inbox")
    response = await render(v, "inbox.html", status, section="inbox", f=f, raw=raw, page_no=page_no,
                            qs=_query_string(raw), tab_qs={view: _query_string(raw, view=view) for view in VIEW_LABELS},
                            next_qs=_query_string(raw, page=str(page_no + 1)),
                            prev_qs=_query_string(raw, page=str(page_no - 1)),
                            saved_base="/inbox", saved_qs=saved_filters.encode({k: val for k, val in raw.items() if val}),
                            view_labels={k: _(text) for k, text in VIEW_LABELS.items()},
                            sort_labels={k: _(text) for k, text in SORT_LABELS.items()},
                            filtered=any(raw[k] for k in FILTER_FIELDS if k not in ("view", "sort", "dir")),
                            **listing, **ctx)
    response.headers["Content-Security-Policy"] = INBOX_CSP
    return response


@router.get("/inbox")
async def inbox(request: Request, v: ViewerDep) -> Response:
    return await _inbox(v, request.query_params)


@router.post("/inbox/saved-filters")
async def save_filter(v: PosterDep, name: Annotated[str, Form(max_length=200)] = "",
                      query: Annotated[str, Form(max_length=2000)] = "") -> Response:
    return await keep_filter(v, "inbox", "/inbox", name, query, filter_problems, _again(v))


@router.post("/inbox/saved-filters/{filter_id}/delete")
async def delete_filter(filter_id: int, v: PosterDep, back: Annotated[str, Form(max_length=2000)] = "") -> Response:
    return await drop_filter(v, "/inbox", filter_id, back, filter_problems, _again(v))


def _again(v: Viewer) -> Again:
    return lambda params, status, error: _inbox(v, params, status=status, error=error)


@router.get("/inbox/rows")
async def inbox_rows(request: Request, v: ViewerDep) -> Response:
    """The list's rows alone, rendered by the page's own template block, and the views' counts in a header:
    what the page's script swaps in every few seconds."""
    f, _raw, problems = parse_filter(request.query_params)
    if problems:
        return Response("; ".join(problems), status_code=422, media_type="text/plain", headers=HEADERS)
    listing = await _listing(v, f, _page_no(request.query_params.get("page", "")))
    template = ENV.get_template("inbox.html")
    html = "".join(template.blocks["rows"](template.new_context({"csrf": v.csrf, "f": f, **listing})))
    return Response(html, media_type="text/html", headers={
        **HEADERS, "X-Inbox-Counts": json.dumps(listing["counts"])})


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
    if task.process_type == "form_request":  # the form's values, as the requester filled them in
        filed = s.execute(select(FormRequest).where(FormRequest.process_id == task.process_id)).scalar_one_or_none()
        if filed is None:
            return None
        form = form_types.version(s, filed.form_key, filed.version)
        return {"kind": "form_request", "number": filed.number, "status": filed.status, "form_name": form.name,
                "requester": filed.requester, "version": filed.version,
                "shown": [(f, filed.values.get(f.name)) for f in form_types.definition(form).fields]}
    if task.process_type == changes.PROCESS_TYPE:  # a change waiting for a second approval: before and after
        row = s.execute(select(ChangeRequest).where(ChangeRequest.process_id == task.process_id)).scalar_one_or_none()
        return {"kind": "change", "id": row.id, "change_kind": row.kind, "target": row.target, "summary": row.summary,
                "before": row.before, "after": row.proposal, "status": row.status} if row else None
    return None


def offers(task: Task, actor: Actor, prior: list[str]) -> dict[str, bool]:
    """Approve/Reject and Claim, offered exactly where the task's Approval process takes them from `actor`
    (`prior`: the deciders of its chain's earlier steps). Claim only on a role's task nobody holds: claiming
    what is already one's own changes nothing."""
    if task.status != approval_rules.TaskStatus.OPEN or task.kind != "approval":
        return {"may_decide": False, "may_claim": False}
    step = approvals.task_step(task)
    return {"may_decide": approval_rules.may_decide(step, actor, task.requester, prior, task.assignee),
            "may_claim": not task.assignee and not task.candidate_user
            and approval_rules.may_claim(step, actor, task.requester, prior, task.assignee)}


async def _task_page(v: Viewer, task_id: str, *, status: int = 200, **ctx: Any) -> Response:
    now = utcnow()

    def load(s: Session) -> dict[str, Any]:
        task = visible_task(s, v.user, task_id)
        events = s.execute(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)).scalars()
        mine = approvals.task_query(v.user.username, sorted(v.user.roles)).where(Task.id == task_id)
        actionable = s.execute(mine).first() is not None
        me, actor = v.user.username, as_actor(v.user)
        # Each button by its Approval process's own rule (domain.approvals.rules), on the step the task stands for.
        is_open = task.status == approval_rules.TaskStatus.OPEN and task.kind == "approval"
        step = approvals.task_step(task)
        prior = approvals.earlier_deciders(s, [task])[task.workflow_id]
        offered = offers(task, actor, prior)
        why_not = ""
        if is_open and actionable and not offered["may_decide"]:  # in my list, yet not mine to decide: say why
            try:
                approval_rules.check_may_decide(step, actor, task.requester, prior, task.assignee)
            except DomainError as e:
                why_not = e.message
        may_hand_on = is_open and approval_rules.may_hand_on(step, actor, task.requester, task.assignee)
        return {"task": task_row(task, now), "doc": _document(s, task),
                "colleagues": approvals.hand_on_candidates(s, task, me) if may_hand_on else [],
                "may_unclaim": is_open and approval_rules.may_unclaim(actor, task.assignee),
                "context": approval_context.task_context(s, task), "trail": approvals.trail(s, task.process_id),
                "events": [{"event": e.event, "actor": e.actor, "detail": e.detail, "at": e.at} for e in events],
                **offered, "why_not": why_not}

    data = await v.platform.read(load)
    discussion = await timeline(v, data["task"]["business_key"], f"/tasks/{task_id}")
    files = await visible_panel(v, data["task"]["business_key"], f"/tasks/{task_id}")  # the document's, to review
    return await render(v, "task.html", status, section="inbox", discussion=discussion, attachments=files, **data,
                        **ctx)


@router.get("/tasks/{task_id}")
async def task_page(task_id: str, v: ViewerDep) -> Response:
    try:
        return await _task_page(v, task_id)
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
        task = await approval.decide(v.platform, as_actor(v.user), task_id, decision, comment.strip())
    except DomainError as e:
        return await _refused(v, task_id, back, e)
    msg = (_("Approved: %(title)s", title=task.title) if decision == "approve"
           else _("Rejected: %(title)s", title=task.title))
    return redirect("/inbox", msg=msg)


async def _task_command(v: Viewer, task_id: str, back: str, command: str, done: str, *args: Any,
                        then: str | None = None) -> Response:
    """A claim, unclaim or hand-on through the task's workflow (the API's path): a refusal shows `back` with
    the reason; done, `then` (else `back`) with the message `done`, its {title} the task's."""
    try:
        task = await approval.task_command(v.platform, command, as_actor(v.user), task_id, *args)
    except DomainError as e:
        return await _refused(v, task_id, back, e)
    where = then or back
    return redirect(f"/tasks/{task_id}" if where == "task" else "/inbox", msg=_(done, title=task.title, to=args[0] if args else ""))


@router.post("/inbox/{task_id}/claim")
async def claim(task_id: str, v: PosterDep, back: Annotated[str, Form(max_length=10)] = "inbox") -> Response:
    return await _task_command(v, task_id, back, "claim", N_("Claimed: %(title)s. It is now assigned to you."))


@router.post("/inbox/{task_id}/unclaim")
async def unclaim(task_id: str, v: PosterDep, back: Annotated[str, Form(max_length=10)] = "task") -> Response:
    return await _task_command(v, task_id, back, "unclaim",
                               N_("Released: %(title)s. Anyone with the role can take it now."))


@router.post("/inbox/{task_id}/delegate")
async def delegate(task_id: str, v: PosterDep, to: Annotated[str, Form(max_length=60)] = "") -> Response:
    """Hand the task to a colleague, through the approval workflow's reassign Update (the API's path)."""
    to = to.strip()
    if not to:
        return await _refused(v, task_id, "task", Invalid("choose the colleague to hand the task to"))
    return await _task_command(v, task_id, "task", "reassign", N_("Handed on: %(title)s is now with %(to)s."), to, True,
                               then="inbox")


MAX_BULK = 100


@router.post("/inbox/approve-selected")
async def approve_selected(request: Request, v: PosterDep,
                           comment: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Approve the selected tasks, all of one kind, each through the same decision path as one at a time:
    each is validated by its own workflow, and the page says which went through and which did not, and why."""
    form = await request.form()
    ids = list(dict.fromkeys(str(x) for x in form.getlist("task") if str(x).strip()))[:MAX_BULK + 1]
    if not ids:
        return await _inbox(v, status=422, error=_("Select the tasks to approve first: nothing was approved."))
    if len(ids) > MAX_BULK:
        return await _inbox(v, status=422, error=_("Approve at most %(n)s tasks at once: nothing was approved.", n=MAX_BULK))

    def load(s: Session) -> dict[str, Task]:
        return {t.id: t for t in s.execute(select(Task).where(Task.id.in_(ids))).scalars()}
    found = await v.platform.read(load)
    kinds = {(t.kind, t.process_type) for t in found.values()}
    if len(kinds) > 1:
        return await _inbox(v, status=422, error=_("Select tasks of one kind to approve together (they were %(kinds)s): nothing was approved.",
                                                  kinds=", ".join(sorted(f"{i18n.label(pt)} {i18n.label(k)}"
                                                                         for k, pt in kinds))))
    results: list[dict[str, Any]] = []
    for task_id in ids:
        task = found.get(task_id)
        label = task.title if task else task_id
        try:
            if task is None:
                raise NotFound(f"no task {task_id}")
            if task.kind != "approval":
                raise Invalid("an alert is not approved: it closes by itself once resolved")
            await approval.decide(v.platform, as_actor(v.user), task_id, "approve", comment.strip())
            results.append({"task": label, "ok": True, "reason": ""})
        except DomainError as e:
            results.append({"task": label, "ok": False, "reason": e.message})
    done = sum(r["ok"] for r in results)
    msg = (_("Approved %(done)s of 1 selected task.", done=done) if len(results) == 1
           else _("Approved %(done)s of %(n)s selected tasks.", done=done, n=len(results)))
    return await _inbox(v, bulk=results, msg=msg if done else "",
                        error="" if done else _("None of the selected tasks was approved."))
