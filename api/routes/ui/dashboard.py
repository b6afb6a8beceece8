"""The managers' dashboard (processes started and completed per day, cycle time per type, SLA breaches, open
tasks per role, margin per customer, as server-drawn SVG charts, each with its numbers as a table) and the
admin's incidents page (activities of running processes that keep failing, with cancel and retry), plus the
incidents as JSON at /api/incidents. The dashboard is for the roles that oversee the company (403 for anyone
else), incidents for admin only. Cancel goes through the process monitor's cancel (a workflow Update);
retry resets the activity in Temporal (see api/incidents.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api import incidents as incident_svc
from api.auth import Principal
from api.charts import bar_chart, line_chart
from api.deps import CurrentUser, PlatformDep
from api.encoding import ok
from api.i18n import _, label, short_day
from api.platform import Platform
from api.processes import cancel_process, cancellable, process_summary
from api.routes.ui.inbox import task_row
from api.routes.ui.pages import PosterDep, ViewerDep, not_possible, page_router, redirect, render
from domain import dashboard as figures
from domain.approvals import services as approvals
from domain.core.errors import DomainError, Forbidden
from domain.core.types import utcnow
from domain.permissions import Action
from domain.processes.rules import ProcessStatus
from domain.processes.tables import Process
from domain.quality import services as quality

router = page_router()
api_router = APIRouter(prefix="/api/incidents", tags=["monitor"])



def _cycle_chart(cycles: list[figures.CycleTime]) -> str:
    """p50 and p95 per type in the unit the slowest reads best in: minutes under an hour (not "0.0 h"), hours
    under two days, else days."""
    slowest = max((c.p95_hours for c in cycles), default=0.0)
    if slowest < 1:
        scale, unit, title = 60.0, " min", _("Cycle time per process type in minutes, median and 95th percentile")
    elif slowest < 48:
        scale, unit, title = 1.0, " h", _("Cycle time per process type in hours, median and 95th percentile")
    else:
        scale, unit, title = 1 / 24, " d", _("Cycle time per process type in days, median and 95th percentile")
    return bar_chart([label(c.type) for c in cycles],
                     [(_("median"), [round(c.p50_hours * scale, 1) for c in cycles]),
                      (_("95th percentile"), [round(c.p95_hours * scale, 1) for c in cycles])],
                     title=title, unit=unit)


def _dashboard(s: Session) -> dict[str, Any]:
    now = utcnow()
    per_day = figures.processes_per_day(s, now)
    cycles = figures.cycle_times(s, now)
    sla_days, sla_types = figures.sla_breaches(s, now)
    roles = figures.open_tasks_per_role(s, now)
    margins = figures.margin_per_customer(s)
    day_labels = [short_day(d.day) for d in per_day]
    charts = {
        "flow": line_chart(day_labels, [(_("started"), [d.started for d in per_day]),
                                        (_("completed"), [d.completed for d in per_day])],
                           title=_("Processes started and completed per day, last 30 days")),
        "cycle": _cycle_chart(cycles),
        "sla": line_chart(day_labels, [(_("decided late"), [b.late for b in sla_days]),
                                       (_("open past due"), [b.overdue for b in sla_days])],
                          title=_("SLA breaches per due day, last 30 days")),
        "roles": bar_chart([label(r.role) for r in roles],
                           [(_("open"), [r.open for r in roles]), (_("overdue"), [r.overdue for r in roles])],
                           title=_("Open tasks per candidate role")),
        "margin": bar_chart([m.customer for m in margins],
                            [(_("margin %"), [round(m.margin_pct or 0, 1) for m in margins])],
                            title=_("Margin per customer, % of delivered revenue"), unit=" %"),
    }
    return {"charts": {k: Markup(v) for k, v in charts.items()},
            "per_day": per_day, "cycles": cycles, "sla_days": [b for b in sla_days if b.late or b.overdue],
            "sla_types": sla_types, "role_loads": roles, "margins": margins,
            "first_pass_yield": quality.first_pass_yield(s),  # issue 20: per item, worst first
            "scrap_by_reason": quality.scrap_by_reason(s),
            "totals": {"started": sum(d.started for d in per_day), "completed": sum(d.completed for d in per_day),
                       "late": sum(b.late for b in sla_types), "overdue": sum(b.overdue for b in sla_types),
                       "open": sum(r.open for r in roles)}}


@router.get("/dashboard")
async def dashboard(v: ViewerDep) -> Response:
    if not v.user.may(Action.DASHBOARD_READ):
        return await not_possible(v, Forbidden("the dashboard is for managers, finance and admin"))
    data = await v.platform.read(_dashboard)
    return await render(v, "dashboard.html", section="dashboard", **data)


# --- incidents ---------------------------------------------------------------------------------------

async def _incidents(platform: Platform) -> tuple[list[incident_svc.Incident], int, int]:
    def running(s: Session) -> list[dict[str, Any]]:
        rows = s.execute(select(Process).where(Process.status == ProcessStatus.RUNNING)
                         .order_by(Process.started_at.desc()).limit(incident_svc.MAX_PROCESSES)).scalars()
        return [process_summary(p) for p in rows]
    procs = await platform.read(running)
    found, unreachable = await incident_svc.collect(platform.client, procs)
    return found, len(procs), unreachable


def _admin(user: Principal) -> None:
    if not user.may(Action.INCIDENT_MANAGE):
        raise Forbidden("incidents are for admin")


@router.get("/incidents")
async def incidents_page(v: ViewerDep) -> Response:
    try:
        _admin(v.user)
    except DomainError as e:
        return await not_possible(v, e)
    found, scanned, unreachable = await _incidents(v.platform)
    now = utcnow()
    late, late_total = await v.platform.read(lambda s: approvals.overdue(s, now))
    ids = sorted({i.process_id for i in found})
    failing = await v.platform.read(lambda s: [process_summary(p) for p in s.execute(
        select(Process).where(Process.process_id.in_(ids))).scalars()])
    # Cancel process is offered where the process's own cancel rule takes it, on the state the process holds.
    return await render(v, "incidents.html", section="dashboard", incidents=found, scanned=scanned,
                        unreachable=unreachable, cancellable=await cancellable(v.platform, v.user, failing),

                        overdue=[task_row(t, now) for t in late], overdue_total=late_total)


@router.post("/incidents/cancel/{process_id:path}")
async def incident_cancel(process_id: str, v: PosterDep) -> Response:
    try:
        _admin(v.user)
        await cancel_process(process_id, v.user, v.platform)
    except DomainError as e:
        return redirect("/incidents", error=f"{process_id}: {e.message}")
    return redirect("/incidents", msg=_("Process %(id)s is cancelled.", id=process_id))


@router.post("/incidents/retry/{process_id:path}")
async def incident_retry(process_id: str, v: PosterDep, activity_id: Annotated[str, Form(max_length=200)]) -> Response:
    try:
        _admin(v.user)
    except DomainError as e:
        return await not_possible(v, e)
    proc = await v.platform.read(lambda s: s.get(Process, process_id))
    if proc is None:
        return redirect("/incidents", error=_("no process %(id)s", id=process_id))
    found, _unreachable = await incident_svc.collect(v.platform.client, [process_summary(proc)])
    incident = next((i for i in found if i.activity_id == activity_id), None)
    if incident is None:
        return redirect("/incidents", msg=_("%(id)s has no failing activity %(activity)s any more.", id=process_id,
                                                activity=activity_id))
    if await incident_svc.retry(v.platform.client, process_id, activity_id, f"valueloop:{v.user.username}"):
        return redirect("/incidents", msg=_("%(activity)s of %(id)s was reset: it runs again now, from attempt 1.",
                                            activity=incident.activity_type, id=process_id))
    when = incident.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S UTC") if incident.next_attempt_at else _("not set")
    return redirect("/incidents", error=_("Temporal refused to reset %(activity)s of %(id)s; Temporal retries it by "
                                          "itself, next at %(when)s.", activity=incident.activity_type, id=process_id,
                                          when=when))


@api_router.get("")
async def list_incidents(user: CurrentUser, platform: PlatformDep) -> Any:
    _admin(user)
    found, scanned, unreachable = await _incidents(platform)
    return ok({"incidents": [i.as_dict() for i in found], "running_processes": scanned, "unreachable": unreachable})


__all__ = ["api_router", "router"]
