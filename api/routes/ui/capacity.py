"""Capacity pages (issue 20): a work centre's calendar (hours per weekday), an item's routing (operation rows and
empty rows to add), and the load table of the planning section: work centres × ISO weeks, overloaded cells marked,
each cell's orders linked, and a form to move an open production order (its process records the new dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Form, Query, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.deps import as_actor
from api.i18n import _
from api.routes.ui.pages import (
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    not_possible,
    page_router,
    redirect,
    render,
    sentence,
)
from api.routes.ui.production import render_production_order
from api.starters import production_moves
from domain import permissions
from domain.core.errors import DomainError, Forbidden, Invalid
from domain.core.numbers import read_number
from domain.manufacturing import boms, routings
from domain.permissions import Action
from domain.planning import capacity_data
from domain.production import reschedule as moves

router = page_router()
EMPTY_ROWS = 3


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"{what} must be a date such as 2030-01-31, not {text.strip()[:20]!r}") from None


# --- calendars --------------------------------------------------------------------------------------------

async def _calendar_page(v: Viewer, code: str, *, status: int = 200, typed: dict[str, str] | None = None,
                         typed_days: list[dict[str, str]] | None = None, error: str = "") -> Response:
    permissions.check(v.user.roles, Action.BOM_READ, "work centres are for planners, buyers, the warehouse, the cfo "
                                                     "and admin")
    try:
        cal = await v.platform.read(routings.calendar_view, code)
    except DomainError as e:
        return await not_possible(v, e)
    hours = cal["hours"] or {}
    shown = typed or {d: (f"{hours[d].normalize():f}" if d in hours else "") for d in routings.WEEKDAYS}
    days = typed_days if typed_days is not None else [
        {"day": x["day"].isoformat(), "hours": f"{x['hours'].normalize():f}", "reason": x["reason"]}
        for x in cal["days"]]
    days = days + [{"day": "", "hours": "", "reason": ""} for _ in range(EMPTY_ROWS)]
    return await render(v, "capacity_calendar.html", status, section="items", cal=cal, typed=shown, days=days,
                        weekdays=routings.WEEKDAYS, error=error)


@router.get("/work-centres/{code}/calendar")
async def calendar_page(code: str, v: ViewerDep) -> Response:
    return await _calendar_page(v, code)


@router.post("/work-centres/{code}/calendar")
async def save_calendar(code: str, v: PosterDep, request: Request) -> Response:
    form = await request.form()
    typed = {d: str(form.get(d, "")).strip()[:20] for d in routings.WEEKDAYS}
    idx = sorted({int(k[4:]) for k in form if k.startswith("day_") and k[4:].isdigit()})[:routings.MAX_DAYS + 10]
    typed_days = [{"day": str(form.get(f"day_{i}", "")).strip()[:20],
                   "hours": str(form.get(f"dhours_{i}", "")).strip()[:20],
                   "reason": str(form.get(f"reason_{i}", "")).strip()[:200]} for i in idx]
    try:
        permissions.check(v.user.roles, Action.BOM_EDIT, "work centres are changed by planners and admin")
        values = {d: read_number(typed[d], f"the hours on {d}") for d in routings.WEEKDAYS}
        days = [{"day": _day(x["day"], f"the day of row {n}"),
                 "hours": read_number(x["hours"], f"the hours on {x['day']}") or 0, "reason": x["reason"]}
                for n, x in enumerate(typed_days, 1) if x["day"]]
        try:
            data = routings.CalendarIn.model_validate({**{d: x for d, x in values.items() if x is not None},
                                                       "days": days})
        except ValidationError as e:
            raise Invalid(sentence(e.errors())) from None
        await v.platform.write(lambda s: routings.save_calendar(s, code, data, actor=v.user.username))
    except DomainError as e:
        return await _calendar_page(v, code, status=error_status(e), typed=typed, typed_days=typed_days,
                                    error=_("The calendar was not saved; nothing was changed. %(reason)s",
                                            reason=_sentence(e.message)))
    return redirect(f"/work-centres/{code}/calendar", msg=_("The calendar of %(code)s is saved.", code=code))


# --- routings ---------------------------------------------------------------------------------------------

FIELDS = ("seq", "work_centre", "description", "setup_hours", "hours_per_unit")


async def _routing_page(v: Viewer, sku: str, *, status: int = 200, rows: list[dict[str, str]] | None = None,
                        error: str = "") -> Response:
    permissions.check(v.user.roles, Action.BOM_READ, "routings are for planners, buyers, the warehouse, the cfo "
                                                     "and admin")

    def load(s: Session) -> dict[str, Any]:
        return {"routing": routings.routing_view(s, sku), "centres": boms.work_centres(s),
                "calendars": sorted(routings.calendars(s))}

    try:
        data = await v.platform.read(load)
    except DomainError as e:
        return await not_possible(v, e)
    if rows is None:
        rows = [{"seq": str(op["seq"]), "work_centre": op["work_centre"], "description": op["description"],
                 "setup_hours": f"{op['setup_hours'].normalize():f}",
                 "hours_per_unit": f"{op['hours_per_unit'].normalize():f}"} for op in data["routing"]["operations"]]
        nxt = max((int(r["seq"]) for r in rows), default=0)
        rows += [{"seq": str(nxt + 10 * (i + 1)), "work_centre": "", "description": "", "setup_hours": "",
                  "hours_per_unit": ""} for i in range(EMPTY_ROWS)]
    return await render(v, "capacity_routing.html", status, section="items", rows=rows, error=error, **data)


@router.get("/routings/{sku}")
async def routing_page(sku: str, v: ViewerDep) -> Response:
    return await _routing_page(v, sku)


def read_routing(form: Any) -> tuple[routings.RoutingIn, list[dict[str, str]]]:
    """The routing typed in the page's rows: a row with no work centre is left out."""
    idx = sorted({int(k.split("_")[-1]) for k in form if k.startswith("work_centre_") and k[12:].isdigit()})[:60]
    rows = [{f: str(form.get(f"{f}_{i}", "")).strip()[:200 if f == "description" else 40] for f in FIELDS}
            for i in idx]
    ops = []
    for r in rows:
        if not r["work_centre"]:
            continue
        seq = read_number(r["seq"], f"the sequence of operation {r['work_centre']}")
        if seq is None or seq != seq.to_integral() or seq < 1:
            raise Invalid(f"the operation on {r['work_centre']} needs a whole sequence number from 1 (10, 20, …)")
        ops.append({"seq": int(seq), "work_centre": r["work_centre"], "description": r["description"],
                    "setup_hours": read_number(r["setup_hours"], f"the setup hours of operation {seq}") or 0,
                    "hours_per_unit": read_number(r["hours_per_unit"], f"the hours per unit of operation {seq}") or 0})
    try:
        return routings.RoutingIn.model_validate({"operations": ops}), rows
    except ValidationError as e:
        raise Invalid(sentence(e.errors())) from None


@router.post("/routings/{sku}")
async def save_routing(sku: str, v: PosterDep, request: Request) -> Response:
    form = await request.form()
    rows: list[dict[str, str]] = []
    try:
        permissions.check(v.user.roles, Action.BOM_EDIT, "routings are changed by planners and admin")
        data, rows = read_routing(form)
        await v.platform.write(lambda s: routings.save_routing(s, sku, data, actor=v.user.username))
    except DomainError as e:
        return await _routing_page(v, sku, status=error_status(e), rows=rows or None,
                                   error=_("The routing was not saved; nothing was changed. %(reason)s",
                                           reason=_sentence(e.message)))
    return redirect(f"/routings/{sku}", msg=_("The routing of %(sku)s is saved.", sku=sku))


# --- the load table and moving an order --------------------------------------------------------------------

async def _load_page(v: Viewer, run: str, *, status: int = 200, move: dict[str, str] | None = None,
                     error: str = "") -> Response:
    if not v.user.may(Action.PRODUCTION_READ):
        return await not_possible(v, Forbidden("the load of the work centres is for planners, buyers, the warehouse, "
                                               "finance, the cfo, sales managers and admins"))
    today = datetime.now(UTC).date()
    chosen = None if run == "none" else run or "latest"
    try:
        data = await v.platform.read(lambda s: capacity_data.load_view(s, today, chosen))
    except DomainError as e:
        return await not_possible(v, e)
    return await render(v, "capacity_load.html", status, section="planning", load=data, run_param=run,
                        move=move or {}, error=error, may_move=v.user.may(Action.PRODUCTION_RESCHEDULE))


@router.get("/planning/capacity")
async def load_page(v: ViewerDep, run: Annotated[str, Query(max_length=30)] = "") -> Response:
    return await _load_page(v, run.strip())


async def _move(v: Viewer, number: str, release_date: str, due_date: str, reason: str) -> None:
    if not v.user.may(Action.PRODUCTION_RESCHEDULE):
        raise Forbidden("only a planner or an admin can move a production order")
    try:
        move = moves.RescheduleIn(release_date=_day(release_date, "the release date"),
                                  due_date=_day(due_date, "the due date"), reason=reason.strip())
    except ValidationError as e:
        raise Invalid(sentence(e.errors())) from None
    await production_moves.reschedule(v.platform, as_actor(v.user), number, move)


@router.post("/planning/capacity/move")
async def move_from_load(v: PosterDep, number: Annotated[str, Form(max_length=30)] = "",
                         release_date: Annotated[str, Form(max_length=20)] = "",
                         due_date: Annotated[str, Form(max_length=20)] = "",
                         reason: Annotated[str, Form(max_length=500)] = "",
                         run: Annotated[str, Form(max_length=30)] = "") -> Response:
    typed = {"number": number, "release_date": release_date, "due_date": due_date, "reason": reason}
    try:
        if not number.strip():
            raise Invalid("choose the production order to move")
        await _move(v, number.strip(), release_date, due_date, reason)
    except DomainError as e:
        return await _load_page(v, run.strip(), status=error_status(e), move=typed,
                                error=_("The order was not moved; nothing was changed. %(reason)s",
                                        reason=_sentence(e.message)))
    return redirect("/planning/capacity", run=run.strip(),
                    msg=_("%(number)s is moved: release %(release)s, due %(due)s. The load follows it.",
                          number=number.strip(), release=release_date.strip(), due=due_date.strip()))


@router.post("/production-orders/{number}/reschedule")
async def move_from_order(number: str, v: PosterDep, release_date: Annotated[str, Form(max_length=20)] = "",
                          due_date: Annotated[str, Form(max_length=20)] = "",
                          reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    try:
        await _move(v, number, release_date, due_date, reason)
    except DomainError as e:
        return await render_production_order(v, number, status=error_status(e),
                                              error=_("The order was not moved; nothing was changed. %(reason)s",
                                                      reason=_sentence(e.message)))
    return redirect(f"/production-orders/{number}",
                    msg=_("%(number)s is moved: release %(release)s, due %(due)s. The load follows it.",
                          number=number, release=release_date.strip(), due=due_date.strip()))
