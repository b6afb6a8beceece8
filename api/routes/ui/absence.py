"""The out-of-office page: my absences (an admin's: everyone's), a form to record one with a deputy chosen
from the active users, and a delete button per absence. While I am away, new tasks named for me go to the
deputy (see domain.approvals.find_deputy); tasks for a role are not re-routed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import Form, Path
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.i18n import _
from api.routes.ui.pages import PosterDep, Viewer, ViewerDep, error_status, page_router, redirect, render
from domain.approvals import absence
from domain.core.errors import DomainError, Invalid
from domain.permissions import Action

router = page_router()


async def _page(v: Viewer, *, status: int = 200, form: dict[str, str] | None = None, **ctx: Any) -> Response:
    admin = v.user.may(Action.ABSENCE_MANAGE_ALL)

    def load(s: Session) -> dict[str, Any]:
        return {"absences": [absence.view(a) for a in absence.listing(s, v.user.username, v.user.roles,
                                                                      everyone=admin)],
                "users": absence.active_usernames(s)}

    data = await v.platform.read(load)
    today = absence.today()
    form = form or {"username": v.user.username, "deputy": "", "starts_on": today.isoformat(),
                    "ends_on": (today + timedelta(days=1)).isoformat(), "note": ""}
    return await render(v, "out_of_office.html", status, section="out-of-office", admin=admin, today=today,
                        form=form, **data, **ctx)


@router.get("/out-of-office")
async def out_of_office(v: ViewerDep) -> Response:
    return await _page(v)


def _day(raw: str, label: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid(f"{label} is not a date (YYYY-MM-DD): \u201c{raw[:20]}\u201d") from None


@router.post("/out-of-office")
async def record_absence(v: PosterDep, deputy: Annotated[str, Form(max_length=60)] = "",
                         starts_on: Annotated[str, Form(max_length=20)] = "",
                         ends_on: Annotated[str, Form(max_length=20)] = "",
                         note: Annotated[str, Form(max_length=absence.NOTE_MAX)] = "",
                         username: Annotated[str, Form(max_length=60)] = "") -> Response:
    form = {"username": username or v.user.username, "deputy": deputy, "starts_on": starts_on, "ends_on": ends_on,
            "note": note}
    try:
        first, last = _day(starts_on, "The first day"), _day(ends_on, "The last day")
        row = await v.platform.write(lambda s: absence.view(absence.create(
            s, v.user.username, v.user.roles, deputy=deputy, starts_on=first, ends_on=last, note=note,
            username=username or None)))
    except DomainError as e:
        return await _page(v, status=error_status(e), form=form,
                           error=_("The absence was not recorded: %(reason)s", reason=e.message))
    return redirect("/out-of-office", msg=_("Recorded: %(user)s is out of office from %(first)s to %(last)s; new tasks "
                                            "named for them go to %(deputy)s.", user=row["username"],
                                            first=row["starts_on"].isoformat(), last=row["ends_on"].isoformat(),
                                            deputy=row["deputy"]))


@router.post("/out-of-office/{absence_id}/delete")
async def delete_absence(absence_id: Annotated[int, Path(gt=0, le=2**31 - 1)], v: PosterDep) -> Response:
    try:
        row = await v.platform.write(lambda s: absence.view(absence.delete(s, v.user.username, v.user.roles,
                                                                           absence_id)))
    except DomainError as e:
        return await _page(v, status=error_status(e), error=e.message)
    return redirect("/out-of-office", msg=_("Deleted the absence of %(user)s from %(first)s to %(last)s.", user=row["username"],
                                            first=row["starts_on"].isoformat(), last=row["ends_on"].isoformat()))
