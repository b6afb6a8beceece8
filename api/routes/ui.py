"""The server-rendered UI: login, the approver's inbox, task pages, "my requests" and the process
monitor. Plain HTML forms, no JavaScript. Every POST carries a CSRF token bound to the session
(login, which has no session yet, uses a double-submit cookie instead). Pages answer HTML in every
case: no session → redirect to /login; a refusal → the page again with the reason and its status."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import jwt
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response
from temporalio.service import RPCError

from api import auth
from api.app import STATUS
from api.deps import SESSION_COOKIE, PlatformDep, SettingsDep, as_actor, current_user
from api.platform import Platform
from api.routes.auth import check_password
from api.routes.common import task_view
from api.routes.expenses import visible_claim
from api.routes.processes import process_summary
from domain import expenses as expense_rules
from domain.errors import DomainError, NotFound
from domain.schema import ExpenseClaim, Process, PurchaseRequisition, Task, TaskEvent
from domain.schema.types import utcnow
from domain.services import access, approvals, expenses, purchasing
from settings import Settings

LOGIN_CSRF_COOKIE = "vl_login_csrf"
PAGE_SIZE = 50
HEADERS = {  # no script runs on these pages at all: injected markup could not execute even if escaping failed
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


# --- rendering -------------------------------------------------------------------------------------

def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{Decimal(value):,.2f}"


def _when(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value.isoformat()


def _span(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    return f"{days} d {hours} h" if days else f"{hours} h {mins} min" if hours else f"{mins} min"


ENV = Environment(loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),
                  autoescape=select_autoescape(default=True, default_for_string=True),
                  trim_blocks=True, lstrip_blocks=True)
ENV.filters.update(money=_money, when=_when, label=lambda s: str(s or "").replace("_", " "),
                   q=lambda s: quote(str(s), safe="/"))


def page(template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return HTMLResponse(ENV.get_template(template).render(**ctx), status_code=status, headers=HEADERS)


def redirect(path: str, **params: str) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def _safe_next(target: str) -> str:
    """Only a path on this site: never `//evil.example` or `https://…` (no open redirect)."""
    ok = (target.startswith("/") and not target.startswith("//") and "\\" not in target and target.isprintable()
          and not target.startswith("/login"))
    return target if ok else ""


# --- sessions and CSRF -----------------------------------------------------------------------------

class LoginRequired(Exception):
    pass


class CsrfRejected(Exception):
    pass


@dataclass(frozen=True)
class Viewer:
    """The logged-in caller of a page, with what every page needs."""

    user: auth.Principal
    csrf: str
    platform: Platform
    settings: Settings


def csrf_token(secret: str, session_token: str) -> str:
    try:
        jti = jwt.decode(session_token, options={"verify_signature": False}).get("jti")
    except jwt.PyJWTError:
        jti = None
    return hmac.new(secret.encode(), str(jti or session_token).encode(), hashlib.sha256).hexdigest()


async def viewer(request: Request, settings: SettingsDep, platform: PlatformDep) -> Viewer:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired
    try:
        user = await current_user(request=request, settings=settings, platform=platform, token=token)
    except HTTPException as e:
        if e.status_code == 401:
            raise LoginRequired from None
        raise
    return Viewer(user, csrf_token(settings.secret_key, token), platform, settings)


async def poster(request: Request, v: Annotated[Viewer, Depends(viewer)]) -> Viewer:
    """The viewer of a POST whose form carries this session's CSRF token."""
    sent = (await request.form()).get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), v.csrf.encode()):
        raise CsrfRejected
    return v


ViewerDep = Annotated[Viewer, Depends(viewer)]
PosterDep = Annotated[Viewer, Depends(poster)]


class PageRoute(APIRoute):
    """Turns what would be a JSON error elsewhere into a page: a redirect to the login, or an error page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                nxt = _safe_next(request.url.path) if request.method == "GET" else ""
                response: Response = redirect("/login", next=nxt)
                response.delete_cookie(SESSION_COOKIE, path="/")
                return response
            except CsrfRejected:
                return page("error.html", 403, title="Request refused", message=(
                    "This form was not sent from a current Valueloop page (its security token is missing or "
                    "wrong), so nothing was changed. Go back, reload the page and try again."))
            except DomainError as e:
                return page("error.html", _error_status(e), title="Not possible", message=e.message)
            except RequestValidationError as e:
                return page("error.html", 422, title="Invalid input", message=_sentence(e.errors()))
            except HTTPException as e:
                return page("error.html", e.status_code, title="Not possible", message=str(e.detail))

        return guarded


def _sentence(errors: Any) -> str:
    parts = [f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in ('body', 'query', 'path'))}: "
             f"{e.get('msg', 'invalid')}" for e in list(errors)[:5]]
    return "; ".join(parts) or "invalid input"


router = APIRouter(route_class=PageRoute, include_in_schema=False)


async def _render(v: Viewer, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    def count(s: Session) -> int:
        q = approvals.task_query(v.user.username, sorted(v.user.roles))
        return int(s.execute(select(func.count()).select_from(q.subquery())).scalar_one())
    return page(template, status, me=v.user, roles=sorted(v.user.roles), csrf=v.csrf,
                open_count=await v.platform.read(count), **ctx)


def _error_status(e: DomainError) -> int:
    return STATUS.get(e.kind, 422)


# --- login -----------------------------------------------------------------------------------------

async def _viewer_or_none(request: Request, settings: Settings, platform: Platform) -> Viewer | None:
    try:
        return await viewer(request, settings, platform)
    except LoginRequired:
        return None


def _login_page(request: Request, status: int = 200, **ctx: Any) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (20 <= len(token) <= 100) or status == 403:
        token = secrets.token_urlsafe(32)
    response = page("login.html", status, login_csrf=token, **ctx)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path="/login", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.get("/")
async def home(request: Request, settings: SettingsDep, platform: PlatformDep) -> Response:
    return redirect("/inbox" if await _viewer_or_none(request, settings, platform) else "/login")


@router.get("/login")
async def login_form(request: Request, settings: SettingsDep, platform: PlatformDep,
                     next: Annotated[str, Query(max_length=300)] = "", msg: str = "") -> Response:
    if await _viewer_or_none(request, settings, platform):
        return redirect(_safe_next(next) or "/inbox")
    return _login_page(request, next=_safe_next(next), msg=msg[:300])


@router.post("/login")
async def login(request: Request, settings: SettingsDep, platform: PlatformDep,
                username: Annotated[str, Form(max_length=60)] = "", password: Annotated[str, Form(max_length=200)] = "",
                csrf: Annotated[str, Form(max_length=100)] = "",
                next: Annotated[str, Form(max_length=300)] = "") -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), csrf.encode()):
        return _login_page(request, 403, username=username, next=_safe_next(next),
                           error="The login form had expired or was not sent from this site. Please try again.")
    user = await platform.read(check_password, username, password)
    if user is None:
        return _login_page(request, 401, username=username, next=_safe_next(next),
                           error="Wrong username or password.")
    response = redirect(_safe_next(next) or "/inbox")
    response.set_cookie(SESSION_COOKIE, auth.issue(user.username, settings.secret_key, settings.token_minutes),
                        max_age=settings.token_minutes * 60, path="/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(v: PosterDep) -> Response:
    response = redirect("/login", msg="You are logged out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- inbox and tasks -------------------------------------------------------------------------------

def _task_row(t: Task, now: datetime) -> dict[str, Any]:
    row = task_view(t)
    row["overdue"] = t.status == "open" and t.due_at is not None and t.due_at < now
    row["due_in"] = "" if t.due_at is None else _span(t.due_at - now)
    return row


async def _inbox(v: Viewer, kind: str = "", business_key: str = "", *, status: int = 200, **ctx: Any) -> Response:
    now = utcnow()
    q = approvals.task_query(v.user.username, sorted(v.user.roles), kind=kind or None,
                             business_key=business_key or None)
    q = q.order_by(Task.due_at.asc(), Task.priority.desc(), Task.id).limit(200)
    tasks = await v.platform.read(lambda s: [_task_row(t, now) for t in s.execute(q).scalars()])
    return await _render(v, "inbox.html", status, section="inbox", tasks=tasks, kind=kind,
                         business_key=business_key, **ctx)


@router.get("/inbox")
async def inbox(v: ViewerDep, kind: Annotated[str, Query(max_length=40)] = "",
                business_key: Annotated[str, Query(max_length=60)] = "", msg: str = "") -> Response:
    return await _inbox(v, kind.strip(), business_key.strip(), msg=msg[:300])


def _visible_task(s: Session, user: auth.Principal, task_id: str) -> Task:
    task = s.get(Task, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if user.has("admin") or user.username in (task.decided_by, task.assignee):
        return task
    q = approvals.task_query(user.username, sorted(user.roles), status=None).where(Task.id == task_id)
    if s.execute(q).first() is None:
        raise NotFound(f"no task {task_id}")
    return task


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
        task = _visible_task(s, v.user, task_id)
        events = s.execute(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)).scalars()
        mine = approvals.task_query(v.user.username, sorted(v.user.roles)).where(Task.id == task_id)
        return {"task": _task_row(task, now), "doc": _document(s, task), "trail": approvals.trail(s, task.process_id),
                "events": [{"event": e.event, "actor": e.actor, "detail": e.detail, "at": e.at} for e in events],
                "actionable": s.execute(mine).first() is not None}

    data = await v.platform.read(load)
    return await _render(v, "task.html", status, section="inbox", **data, **ctx)


async def _not_possible(v: Viewer, e: DomainError) -> Response:
    return await _render(v, "error.html", _error_status(e), title="Not possible", message=e.message)


@router.get("/tasks/{task_id}")
async def task_page(task_id: str, v: ViewerDep, msg: str = "") -> Response:
    try:
        return await _task_page(v, task_id, msg=msg[:300])
    except DomainError as e:
        return await _not_possible(v, e)


async def _refused(v: Viewer, task_id: str, back: str, e: DomainError) -> Response:
    if back == "task":
        try:
            return await _task_page(v, task_id, status=_error_status(e), error=e.message)
        except NotFound:
            pass
    return await _inbox(v, status=_error_status(e), error=e.message)


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


# --- my requests -----------------------------------------------------------------------------------

async def _requests(v: Viewer, *, status: int = 200, form: dict[str, str] | None = None, **ctx: Any) -> Response:
    me = v.user.username

    def load(s: Session) -> dict[str, Any]:
        claims = list(s.execute(select(ExpenseClaim).where(ExpenseClaim.requester == me)
                                .order_by(ExpenseClaim.id.desc()).limit(100)).scalars())
        reqs = list(s.execute(select(PurchaseRequisition).where(PurchaseRequisition.requester == me)
                              .order_by(PurchaseRequisition.id.desc()).limit(100)).scalars())
        pids = [c.process_id for c in claims] + [r.process_id for r in reqs]
        waiting: dict[str, str] = {}
        for t in s.execute(select(Task).where(Task.process_id.in_(pids), Task.status == "open",
                                              Task.kind == "approval")).scalars():
            who = t.assignee or t.candidate_user or (f"any {t.candidate_role}" if t.candidate_role else "")
            waiting[t.process_id] = f"{t.step_label or 'approval'}: {who}" if who else t.step_label
        return {
            "claims": [{"number": c.number, "created_at": c.created_at, "total": c.total, "currency": c.currency,
                        "status": c.status, "process_id": c.process_id,
                        "waiting": waiting.get(c.process_id) or ("approval starting" if c.status == "pending_approval"
                                                                 else ""),
                        "description": "; ".join(ln.description for ln in c.lines if ln.description)}
                       for c in claims],
            "requisitions": [{"number": r.number, "created_at": r.created_at, "total": r.total, "status": r.status,
                              "justification": r.justification, "process_id": r.process_id,
                              "waiting": waiting.get(r.process_id, "")} for r in reqs],
        }

    data = await v.platform.read(load)
    form = form or {"category": "travel", "currency": "USD", "date": date.today().isoformat()}
    return await _render(v, "requests.html", status, section="requests", categories=list(
        expense_rules.CATEGORY_ACCOUNTS), form=form, **data, **ctx)


@router.get("/requests")
async def my_requests(v: ViewerDep, msg: str = "") -> Response:
    return await _requests(v, msg=msg[:300])


@router.post("/requests/expense-claims")
async def file_expense_claim(v: PosterDep, category: Annotated[str, Form(max_length=40)] = "",
                             amount: Annotated[str, Form(max_length=40)] = "",
                             currency: Annotated[str, Form(max_length=3)] = "USD",
                             date_: Annotated[str, Form(alias="date", max_length=20)] = "",
                             description: Annotated[str, Form(max_length=500)] = "") -> Response:
    form = {"category": category, "amount": amount, "currency": currency, "date": date_, "description": description}
    try:
        line = expense_rules.ExpenseLineIn.model_validate({
            "category": category, "amount": amount.strip(), "currency": currency.strip().upper() or "USD",
            "date": date_, "description": description.strip()})
    except ValidationError as e:
        return await _requests(v, status=422, form=form, error=f"The claim was not filed. {_sentence(e.errors())}")
    try:
        out = await v.platform.submit_expense_claim(v.user.username, [line])
    except DomainError as e:
        return await _requests(v, status=_error_status(e), form=form, error=e.message)
    return redirect("/requests", msg=f"Expense claim {out['claim_id']} filed for {_money(out['total'])} "
                                     f"{line.currency}; it now waits for approval.")


@router.post("/requests/expense-claims/{number}/cancel")
async def cancel_expense_claim(number: str, v: PosterDep) -> Response:
    try:
        await v.platform.read(lambda s: visible_claim(s, v.user, number))
        await v.platform.cancel_expense_claim(as_actor(v.user), number)
    except DomainError as e:
        return await _requests(v, status=_error_status(e), error=e.message)
    return redirect("/requests", msg=f"Expense claim {number} is cancelled.")


# --- process monitor -------------------------------------------------------------------------------

def _process_scope(q: Any, user: auth.Principal) -> Any:
    if access.sees_all(set(user.roles), "process"):
        return q
    return q.where(or_(Process.owner == user.username,
                       Process.process_id.in_(access.involved_process_ids(user.username, set(user.roles)))))


@router.get("/processes")
async def processes(v: ViewerDep, type_: Annotated[str, Query(alias="type", max_length=40)] = "",
                    status: Annotated[str, Query(max_length=20)] = "",
                    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    q = _process_scope(select(Process), v.user)
    if type_:
        q = q.where(Process.type == type_)
    if status:
        q = q.where(Process.status == status)
    q = q.order_by(Process.started_at.desc(), Process.process_id).limit(PAGE_SIZE + 1).offset(offset)

    def load(s: Session) -> tuple[list[dict[str, Any]], list[str]]:
        rows = [process_summary(p) for p in s.execute(q).scalars()]
        types = s.execute(_process_scope(select(Process.type).distinct(), v.user).order_by(Process.type)).scalars()
        return rows, list(types)

    rows, types = await v.platform.read(load)
    filters = {"type": type_, "status": status}
    return await _render(v, "processes.html", section="processes", processes=rows[:PAGE_SIZE], types=types,
                         statuses=["running", "completed", "cancelled", "failed"], type=type_, status_filter=status,
                         offset=offset, page_size=PAGE_SIZE,
                         newer=urlencode({**filters, "offset": max(offset - PAGE_SIZE, 0)}) if offset else "",
                         older=urlencode({**filters, "offset": offset + PAGE_SIZE}) if len(rows) > PAGE_SIZE else "")


def temporal_ui_url(settings: Settings) -> str:
    """The Temporal web UI, when one is configured (`TEMPORAL_UI_URL`); empty hides the link."""
    return str(getattr(settings, "temporal_ui_url", "") or os.environ.get("TEMPORAL_UI_URL", "")).rstrip("/")


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
        if proc is None or s.execute(_process_scope(select(Process.process_id), v.user)
                                     .where(Process.process_id == process_id)).first() is None:
            raise NotFound(f"no process {process_id}")
        tasks = s.execute(select(Task).where(Task.process_id == process_id).order_by(Task.created_at)).scalars()
        return {"proc": process_summary(proc), "trail": approvals.trail(s, process_id),
                "steps": [{"name": st.name, "status": st.status, "detail": st.detail, "started_at": st.started_at,
                           "finished_at": st.finished_at} for st in proc.steps],
                "open_tasks": [_task_row(t, now) for t in tasks if t.status == "open"]}

    try:
        data = await v.platform.read(load)
    except DomainError as e:
        return await _not_possible(v, e)
    base = temporal_ui_url(v.settings)
    link = (f"{base}/namespaces/{quote(v.settings.temporal_namespace, safe='')}/workflows/"
            f"{quote(process_id, safe='')}") if base else ""
    return await _render(v, "process.html", section="processes", temporal_link=link,
                         temporal_status=await _temporal_status(v.platform, process_id), **data)
