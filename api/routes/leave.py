"""One's own leave balance of this year: days granted, taken, waiting for approval, left to ask for."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentUser, PlatformDep
from api.encoding import ok
from domain.core.types import utcnow
from domain.forms import requests

router = APIRouter(prefix="/api/me/leave", tags=["form requests"])


@router.get("")
async def my_leave(user: CurrentUser, platform: PlatformDep) -> Any:
    """{year, granted, taken, pending, left}: `pending` the days of your leave requests waiting for approval,
    `left` what you may still ask for (granted less taken less pending)."""
    year = utcnow().year
    return ok(await platform.read(lambda s: requests.leave_summary(s, user.username, year)))
