"""Out of office: one's own absences (a deputy for a date range): list, record, remove. An admin may record
and remove anyone's, and list everyone's. Plain user settings, written through the absence service: the
approval engine reads them when it opens a task (no process is changed from here)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import Field

from api.deps import CurrentUser, PlatformDep
from api.encoding import ok
from api.schemas import Body
from domain.approvals import absence
from domain.core.numbers import PlainInt
from domain.permissions import Action

router = APIRouter(prefix="/api/me/out-of-office", tags=["out of office"])


class AbsenceIn(Body):
    deputy: str = Field(min_length=1, max_length=60, description="who takes the tasks named for you meanwhile")
    starts_on: date
    ends_on: date = Field(description="the last day away (inclusive)")
    note: str = Field(default="", max_length=absence.NOTE_MAX)
    username: str | None = Field(default=None, min_length=1, max_length=60,
                                 description="admins only: whose absence this is (yourself by default)")


@router.get("")
async def list_absences(user: CurrentUser, platform: PlatformDep, everyone: bool = False) -> Any:
    """Your absences, soonest first; `everyone=true` (admins only) lists every user's."""
    if everyone and not user.may(Action.ABSENCE_MANAGE_ALL):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an admin can list everyone's absences")
    rows = await platform.read(lambda s: [absence.view(a) for a in absence.listing(
        s, user.username, user.roles, everyone=everyone)])
    return ok(rows)


@router.post("", status_code=201)
async def create_absence(body: AbsenceIn, user: CurrentUser, platform: PlatformDep) -> Any:
    def create(s: Any) -> dict[str, Any]:
        return absence.view(absence.create(s, user.username, user.roles, deputy=body.deputy,
                                           starts_on=body.starts_on, ends_on=body.ends_on, note=body.note,
                                           username=body.username))
    return ok(await platform.write(create), 201)


@router.delete("/{absence_id}")
async def delete_absence(absence_id: Annotated[PlainInt, Path(gt=0, le=2**31 - 1)], user: CurrentUser,
                         platform: PlatformDep) -> Any:
    row = await platform.write(lambda s: absence.view(absence.delete(s, user.username, user.roles, absence_id)))
    return ok({"deleted": row["id"], "username": row["username"]})

