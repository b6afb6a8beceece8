"""CSV import in the browser: items, BOMs, customers, suppliers and opening stock. Upload → a preview (the first
rows as read, every bad row with its line and a sentence, nothing stored) → "Import all", which imports the
whole file in one transaction, or nothing at all (domain.parties.imports.run). The import runs in the
background of this process; its page shows a progress bar (rows done of the total) that api/static/import.js
keeps up to date, and says how it ended. Sales forecasts (planning, above the parties context whose import this
is) come the same way: their check and import are domain.planning.forecasts's."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from api.i18n import N_, _
from api.platform import Platform
from api.routes.ui.pages import (
    HEADERS,
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    page_router,
    redirect,
    render,
)
from domain import permissions
from domain.core.csvfile import read as read_csv
from domain.core.errors import DomainError, Invalid
from domain.parties import imports, jobs
from domain.permissions import Action
from domain.planning import forecasts

router = page_router()
MAX_UPLOAD = 20 * 1024 * 1024
NEEDS = {"items": Action.ITEM_EDIT, "boms": Action.BOM_EDIT, "customers": Action.CUSTOMER_CREATE,
         "suppliers": Action.SUPPLIER_CREATE, "opening_stock": Action.STOCK_ADJUST, "forecasts": Action.FORECAST_EDIT}
KIND_NAMES = {"items": N_("Items"), "boms": N_("BOMs"), "customers": N_("Customers"), "suppliers": N_("Suppliers"),
              "opening_stock": N_("Opening stock"), "forecasts": N_("Sales forecasts")}
KINDS = (*imports.KINDS, "forecasts")
COLUMNS = {**imports.COLUMNS, "forecasts": forecasts.CSV_COLUMNS}
# This page alone (with the inbox) runs a script: its own file, which asks this site how far the import is.
IMPORT_CSP = HEADERS["Content-Security-Policy"] + "; script-src 'self'; connect-src 'self'"
RESULT_LABELS = {"rows": N_("rows"), "created": N_("created"), "updated": N_("updated"), "boms": N_("BOMs"),
                 "replaced": N_("replaced"), "value": N_("stock value"), "deleted": N_("removed")}
LIVE: dict[int, int] = {}  # job id → rows done, while it runs in this process
_RUNNING: set[asyncio.Task[None]] = set()  # kept referenced until they end


def _today() -> date:
    return datetime.now(UTC).date()


def allowed(v: Viewer) -> list[str]:
    return [k for k in KINDS if permissions.may(v.user.roles, NEEDS[k])]


def _check(v: Viewer, kind: str) -> None:
    if kind not in KINDS:
        raise Invalid(f"choose what the file holds: {', '.join(KINDS)}")
    permissions.check(v.user.roles, NEEDS[kind], f"you may not import {kind.replace('_', ' ')}")


async def _form(v: Viewer, status: int = 200, error: str = "", kind: str = "") -> Response:
    me = v.user.username

    def recent(s: Session) -> list[Any]:
        return list(s.execute(select(jobs.ImportJob.id, jobs.ImportJob.kind, jobs.ImportJob.file_name,
                                     jobs.ImportJob.status, jobs.ImportJob.total, jobs.ImportJob.created_at,
                                     jobs.ImportJob.errors)
                              .where(jobs.ImportJob.created_by == me).order_by(jobs.ImportJob.id.desc()).limit(10)))

    kinds = allowed(v)
    if not kinds:
        permissions.check(v.user.roles, Action.ITEM_EDIT, "CSV imports are for buyers, planners, the warehouse, "
                                                          "finance and admin")
    return await render(v, "import.html", status, section="items", kinds=kinds, kind_names=KIND_NAMES,
                        columns=COLUMNS, recent=await v.platform.read(recent), error=error, kind=kind)


@router.get("/import")
async def import_page(v: ViewerDep, kind: str = "") -> Response:
    return await _form(v, kind=kind[:20])


@router.post("/import")
async def upload(request: Request, v: PosterDep) -> Response:
    form = await request.form()
    kind = str(form.get("kind", ""))[:20]
    try:
        _check(v, kind)
        upload = form.get("file")
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise Invalid("choose a CSV file to upload")
        raw = await upload.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            raise Invalid(f"the file is over {MAX_UPLOAD // (1024 * 1024)} MB; split it")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise Invalid(f"the file is not UTF-8 text (byte {e.start} cannot be read); save it as CSV UTF-8") from None
        name, actor = upload.filename, v.user.username

        def check(s: Session) -> int:
            preview = (forecasts.preview(s, text, actor=actor, today=_today()) if kind == "forecasts"
                       else imports.preview(s, kind, text, actor))
            return jobs.create(s, kind, name, text, preview.total, actor, preview.errors)

        job_id = await v.platform.write(check)
    except DomainError as e:
        return await _form(v, error_status(e), e.message, kind)
    return redirect(f"/import/{job_id}")


def _job_view(v: Viewer, job_id: int) -> Any:
    def load(s: Session) -> dict[str, Any]:
        job = jobs.get(s, job_id, v.user.username)
        rows: list[tuple[int, dict[str, str]]] = []
        columns: list[str] = []
        if job.status == jobs.CHECKED and job.content:
            try:
                header, all_rows = read_csv(job.content, COLUMNS[job.kind], ())
                columns, rows = header, all_rows[:imports.PREVIEW_ROWS]
            except Invalid:
                pass
        result: dict[str, str] = {}
        if job.status == jobs.DONE:
            try:
                result = {str(k): str(n) for k, n in json.loads(job.message).items()}
            except (ValueError, AttributeError):
                result = {}
        return {"result": [(RESULT_LABELS.get(k, k), n) for k, n in result.items() if k != "rows"],
                "job": {"id": job.id, "kind": job.kind, "file_name": job.file_name, "total": job.total,
                        "done": LIVE.get(job.id, job.done), "status": job.status, "message": job.message,
                        "errors": job.errors, "created_at": job.created_at, "finished_at": job.finished_at},
                "columns": columns, "rows": rows}
    return load


@router.get("/import/{job_id}")
async def job_page(job_id: int, v: ViewerDep) -> Response:
    data = await v.platform.read(_job_view(v, job_id))
    response = await render(v, "import_job.html", section="items", kind_names=KIND_NAMES,
                            may_run=permissions.may(v.user.roles, NEEDS.get(data["job"]["kind"], Action.ITEM_EDIT)),
                            **data)
    if data["job"]["status"] == jobs.RUNNING:
        response.headers["Content-Security-Policy"] = IMPORT_CSP
    return response


@router.get("/import/{job_id}/progress")
async def job_progress(job_id: int, v: ViewerDep) -> Response:
    job = (await v.platform.read(_job_view(v, job_id)))["job"]
    return JSONResponse({"status": job["status"], "done": job["done"], "total": job["total"],
                         "text": _("%(done)s of %(total)s rows", done=job["done"], total=job["total"])},
                        headers={"Cache-Control": "no-store"})


@router.post("/import/{job_id}/run")
async def run_job(job_id: int, v: PosterDep) -> Response:
    actor = v.user.username

    def start(s: Session) -> tuple[str, str]:
        job = jobs.get(s, job_id, actor)
        _check(v, job.kind)
        job = jobs.start(s, job_id, actor)
        return job.kind, job.content

    try:
        kind, text = await v.platform.write(start)
    except DomainError as e:
        return redirect(f"/import/{job_id}", error=e.message)
    LIVE[job_id] = 0
    task = asyncio.create_task(run_import(v.platform, job_id, kind, text, actor))
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return redirect(f"/import/{job_id}")


async def run_import(platform: Platform, job_id: int, kind: str, text: str, actor: str) -> None:
    """The whole file in one transaction (all or nothing), then the job's row says how it ended."""
    def tick(n: int) -> None:
        LIVE[job_id] = n

    try:
        result = await platform.write(
            lambda s: forecasts.import_csv(s, text, actor=actor, today=_today(), progress=tick) if kind == "forecasts"
            else imports.run(s, kind, text, actor, f"IMP-{job_id}", progress=tick))
        ok, message = True, json.dumps({k: str(n) for k, n in result.items()})  # shown by RESULT_LABELS
    except DomainError as e:
        ok, message = False, e.message
    except Exception as e:
        ok, message = False, f"the import failed ({type(e).__name__}); nothing was stored"
    try:
        await platform.write(lambda s: jobs.finish(s, job_id, ok, message))
    finally:
        LIVE.pop(job_id, None)
