"""Form requests: file one on a form type, read it (requester, approvers, those copied, admin), list them, cancel,
resubmit after a send back."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy.orm import Session

from api.deps import CurrentUser, PlatformDep, as_actor
from api.encoding import ok
from api.routes.common import Limit, Offset
from api.schemas import Body
from api.starters import form_request
from domain.forms import requests

router = APIRouter(prefix="/api/requests", tags=["form requests"])


class RequestIn(Body):
    form: str = Field(min_length=1, max_length=40)
    values: dict[str, Any] = Field(default_factory=dict, max_length=50)


class ResubmitIn(Body):
    values: dict[str, Any] = Field(default_factory=dict, max_length=50)


@router.post("", status_code=201)
async def submit(body: RequestIn, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(await form_request.submit(platform, user.username, body.form, body.values), 201)


@router.get("")
async def list_requests(user: CurrentUser, platform: PlatformDep, mine: bool = False, status: str | None = None,
                        form: str | None = None, limit: Limit = 50, offset: Offset = 0) -> Any:
    def load(s: Session) -> list[dict[str, Any]]:
        return [requests.summary(r) for r in requests.listing(s, user.username, user.roles, mine=mine, status=status,
                                                               form=form, limit=limit, offset=offset)]
    return ok(await platform.read(load))


@router.get("/{number}")
async def get_request(number: str, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(await platform.read(lambda s: requests.view(s, requests.visible(s, number, (user.username, user.roles)))))


@router.post("/{number}/cancel")
async def cancel(number: str, user: CurrentUser, platform: PlatformDep) -> Any:
    await platform.read(lambda s: requests.visible(s, number, (user.username, user.roles)))
    await form_request.cancel(platform, as_actor(user), number)
    return ok(await platform.read(lambda s: requests.view(s, requests.get(s, number))))


@router.post("/{number}/resubmit")
async def resubmit(number: str, body: ResubmitIn, user: CurrentUser, platform: PlatformDep) -> Any:
    await platform.read(lambda s: requests.visible(s, number, (user.username, user.roles)))
    await form_request.resubmit(platform, as_actor(user), number, body.values)
    return ok(await platform.read(lambda s: requests.view(s, requests.get(s, number))))
