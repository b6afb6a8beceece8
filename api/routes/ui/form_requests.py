"""Requests on the forms an admin designed (issue 19): "New request" (pick a form; the form drawn from its fields,
a file input for each attachment field, uploaded in the same POST), the request page (its values, the route as a
map with who decided, attachments, and cancel / resubmit), and the requester's list on "My requests"."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from api import attachments
from api.deps import as_actor
from api.i18n import _
from api.routes.ui import attachments as attachment_panel
from api.routes.ui import notifications as notification_pages
from api.routes.ui.pages import PosterDep, Viewer, ViewerDep, error_status, page_router, redirect, render
from api.starters import approval, form_request
from domain.approvals import absence
from domain.approvals.rules import TaskStatus
from domain.approvals.tables import Task
from domain.core.errors import DomainError
from domain.core.numbers import read_number
from domain.core.types import utcnow
from domain.expenses.tables import TripAdvance
from domain.forms import requests
from domain.forms import rules as forms
from domain.forms import services as forms_svc
from domain.forms.request_rules import LEAVE, RequestStatus

router = page_router()


class _RequestNumber(Convertor[str]):
    """A form request's number (FR-00001) in a page address: /requests/expense-claims and the other pages under
    /requests are not taken for a request that does not exist (their reloads go back to their page)."""

    regex = "FR-[0-9]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("request_number", _RequestNumber())

INPUT_TYPES = {"text": "text", "number": "text", "money": "text", "date": "date", "user": "text"}
OPEN = (RequestStatus.PENDING_APPROVAL, RequestStatus.SENT_BACK)


@router.get("/requests/new")
async def pick_form(v: ViewerDep) -> Response:
    def load(s: Session) -> list[dict[str, Any]]:
        return [{"key": r.key, "name": r.name, "version": r.version,
                 "description": r.definition.get("description", "")} for r in forms_svc.list_types(s)]
    return await render(v, "form_request_pick.html", section="requests", forms=await v.platform.read(load))


async def _form_page(v: Viewer, key: str, *, status: int = 200, entered: dict[str, str] | None = None,
                     error: str = "") -> Response:
    def load(s: Session) -> dict[str, Any]:
        row = forms_svc.latest(s, key)
        return {"form": {"key": row.key, "name": row.name, "version": row.version,
                         "description": row.definition.get("description", "")},
                "fields": forms_svc.definition(row).fields, "users": absence.active_usernames(s),
                "leave": leave_of(s, v.user.username) if row.key == LEAVE else None}
    try:
        data = await v.platform.read(load)
    except DomainError as e:
        return await render(v, "error.html", error_status(e), title=_("Not possible"), message=e.message)
    return await render(v, "form_request_new.html", status, section="requests", entered=entered or {},
                        input_types=INPUT_TYPES, error=error, **data)


@router.get("/requests/new/{key}")
async def new_request(key: str, v: ViewerDep) -> Response:
    return await _form_page(v, key)


def _typed(fields: list[forms.FieldSpec], form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """The values as the API takes them (numbers read as people type them), and the text entered (to show again)."""
    values: dict[str, Any] = {}
    entered: dict[str, str] = {}
    for f in fields:
        if f.type == "attachment":
            continue
        raw = form.get(f.name)
        text = raw.strip() if isinstance(raw, str) else ""
        entered[f.name] = text
        if not text:
            continue
        if f.type in ("number", "money"):
            number = read_number(text, f.label or f.name)
            values[f.name] = format(number, "f") if number is not None else ""
        else:
            values[f.name] = text
    return values, entered


def _files(fields: list[forms.FieldSpec], form: FormData) -> dict[str, list[UploadFile]]:
    return {f.name: [u for u in form.getlist(f.name) if isinstance(u, UploadFile) and u.filename]
            for f in fields if f.type == "attachment"}


@router.post("/requests/new/{key}")
async def file_request(key: str, v: PosterDep) -> Response:
    assert v.request is not None
    form = await v.request.form()  # parsed already by the CSRF check: the files are spooled
    entered: dict[str, str] = {}
    try:
        fields = await v.platform.read(lambda s: forms_svc.definition(forms_svc.latest(s, key)).fields)
        values, entered = _typed(fields, form)
        files = _files(fields, form)
        # The values first, each file standing in as an id: a bad value stores nothing, not even the files.
        dry = {**values, **{name: [f"pending{i}" for i in range(len(fs))] for name, fs in files.items() if fs}}
        await v.platform.read(lambda s: form_request.checked_values(
            s, forms_svc.definition(forms_svc.latest(s, key)), v.user.username, dry))
        for name, uploads in files.items():
            if uploads:
                values[name] = [(await attachments.upload(v.platform, v.settings, v.user, u, None))["attachment_id"]
                                for u in uploads]
        out = await form_request.submit(v.platform, v.user.username, key, values)
    except DomainError as e:
        return await _form_page(v, key, status=error_status(e), entered=entered,
                                error=_("The request was not filed. %(reason)s", reason=e.message))
    return redirect(f"/requests/{out['request_id']}",
                    msg=_("Request %(number)s filed; it now waits for approval.", number=out["request_id"]))


def trail_role(role: str) -> str:
    """A part task's label as the approval engine stores it ("it (all of)", "frank (any of)") in the viewer's
    language; any other label as it is."""
    if role.endswith(" (all of)"):
        return _("%(who)s (all of)", who=role.removesuffix(" (all of)"))
    if role.endswith(" (any of)"):
        return _("%(who)s (any of)", who=role.removesuffix(" (any of)"))
    return role


async def _request_page(v: Viewer, number: str, *, status: int = 200, error: str = "") -> Response:
    me = v.user.username

    def load(s: Session) -> dict[str, Any]:
        row = requests.visible(s, number, (me, v.user.roles))
        view = requests.view(s, row)
        form_row = forms_svc.version(s, row.form_key, row.version)
        fields = forms_svc.definition(form_row).fields
        return {"req": view, "form_name": form_row.name, "fields": fields,
                "shown": [(f, view["values"].get(f.name)) for f in fields],
                "sent_back": view["status"] == RequestStatus.SENT_BACK,
                "users": absence.active_usernames(s)}

    try:
        data = await v.platform.read(load)
    except DomainError as e:
        return await render(v, "error.html", error_status(e), title=_("Not possible"), message=e.message)
    req = data["req"]
    req["approvals"] = [{**a, "role": trail_role(str(a.get("role") or ""))} for a in req["approvals"]]
    mine = req["requester"] == me
    data["may_cancel"] = mine and req["status"] in OPEN
    data["may_resubmit"] = mine and data["sent_back"]
    data["may_urge"] = mine and req["status"] in OPEN
    panel = await attachment_panel.panel(v, number, f"/requests/{number}")
    talk = await notification_pages.timeline(v, number, f"/requests/{number}")
    return await render(v, "form_request.html", status, section="requests", attachments=panel, comments=talk,
                        input_types=INPUT_TYPES, error=error, **data)


@router.get("/requests/{number:request_number}")
async def request_page(number: str, v: ViewerDep) -> Response:
    return await _request_page(v, number)


@router.post("/requests/{number:request_number}/cancel")
async def cancel_request(number: str, v: PosterDep) -> Response:
    try:
        await v.platform.read(lambda s: requests.visible(s, number, (v.user.username, v.user.roles)))
        await form_request.cancel(v.platform, as_actor(v.user), number)
    except DomainError as e:
        return await _request_page(v, number, status=error_status(e), error=e.message)
    return redirect(f"/requests/{number}", msg=_("Request %(number)s is cancelled.", number=number))


@router.post("/requests/{number:request_number}/urge")
async def urge_request(number: str, v: PosterDep) -> Response:
    try:
        row = await v.platform.read(lambda s: requests.visible(s, number, (v.user.username, v.user.roles)))
        await approval.urge(v.platform, as_actor(v.user), row.process_id)
    except DomainError as e:
        return await _request_page(v, number, status=error_status(e), error=e.message)
    return redirect(f"/requests/{number}", msg=_("The approver of request %(number)s is reminded.", number=number))


@router.post("/requests/{number:request_number}/resubmit")
async def resubmit_request(number: str, v: PosterDep) -> Response:
    assert v.request is not None
    form = await v.request.form()
    try:
        def load(s: Session) -> tuple[list[forms.FieldSpec], dict[str, Any]]:
            row = requests.visible(s, number, (v.user.username, v.user.roles))
            return forms_svc.definition(forms_svc.version(s, row.form_key, row.version)).fields, dict(row.values)
        fields, before = await v.platform.read(load)
        values, _entered = _typed(fields, form)
        for f in fields:  # the files stay as they were unless new ones come
            if f.type == "attachment" and before.get(f.name):
                values[f.name] = before[f.name]
        for name, uploads in _files(fields, form).items():
            if uploads:
                values[name] = [(await attachments.upload(v.platform, v.settings, v.user, u, number))["attachment_id"]
                                for u in uploads]
        await form_request.resubmit(v.platform, as_actor(v.user), number, values)
    except DomainError as e:
        return await _request_page(v, number, status=error_status(e),
                                   error=_("The request was not resubmitted. %(reason)s", reason=e.message))
    return redirect(f"/requests/{number}", msg=_("Request %(number)s is resubmitted.", number=number))


def open_advances(s: Session, username: str) -> list[dict[str, Any]]:
    """The user's business trips whose cash advance no claim has settled yet: a claim may name one of them."""
    rows = s.query(TripAdvance).filter(TripAdvance.requester == username, TripAdvance.settled.is_(False))
    return [{"trip": r.trip, "amount": r.amount} for r in rows.order_by(TripAdvance.id.desc()).limit(50)]


def leave_of(s: Session, username: str) -> dict[str, Any]:
    """The user's leave balance of this year, the days as a person writes them (15, 4.5)."""
    out = requests.leave_summary(s, username, utcnow().year)
    return {k: v if k == "year" else forms.days_text(v) for k, v in out.items()}


def mine(s: Session, username: str) -> list[dict[str, Any]]:
    """The user's own requests on forms, newest first, with the step each waits on ("My requests")."""
    rows = requests.listing(s, username, [], mine=True, limit=100)
    waiting: dict[str, str] = {}
    pids = [r.process_id for r in rows]
    if pids:
        for t in s.query(Task).filter(Task.process_id.in_(pids), Task.status == TaskStatus.OPEN,
                                      Task.kind == "approval"):
            who = t.assignee or t.candidate_user or (f"any {t.candidate_role}" if t.candidate_role else "")
            waiting[t.process_id] = f"{t.step_label}: {who}" if who else t.step_label
    return [{**requests.summary(r), "waiting": waiting.get(r.process_id, "")} for r in rows]

