"""Comments on documents and the webhooks admin registers (the e-mails are the Notify process's,
workflows/notify.py; each user's choice is PUT /api/me/settings `notify`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from api.auth import Principal
from api.deps import CurrentUser, PlatformDep, require
from api.encoding import ok
from api.schemas import Body
from domain.comments import services as comments
from domain.comments.tables import MAX_TEXT, Comment
from domain.core.numbers import PlainInt
from domain.notifications import services as notifications
from domain.notifications.tables import Webhook
from domain.permissions import Action

router = APIRouter(prefix="/api", tags=["comments and webhooks"])
HookAdmin = Annotated[Principal, Depends(require(Action.WEBHOOK_MANAGE))]


class CommentIn(Body):
    document: str = Field(min_length=1, max_length=60, description="the business key: EC-00017, PO-00003, FR-00001")
    text: str = Field(max_length=MAX_TEXT, description="@username tells that user, if they may see the document")


class CommentOut(BaseModel):
    id: int
    document: str
    author: str
    text: str
    mentions: list[str]
    created_at: datetime


def comment_out(c: Comment) -> dict[str, Any]:
    return {"id": c.id, "document": c.document, "author": c.author, "text": c.text, "mentions": c.mentions,
            "created_at": c.created_at}


@router.post("/comments", status_code=201, response_model=CommentOut, responses={
    404: {"description": "no such document, or not one the caller may see"}, 422: {"description": "no text"}})
async def add_comment(body: CommentIn, user: CurrentUser, platform: PlatformDep) -> Any:
    """A comment on a document's timeline; each `@username` of someone who may see it gets a mention."""
    row = await platform.write(lambda s: comment_out(comments.add(s, user.username, user.roles, body.document,
                                                                  body.text)))
    return ok(row, 201)


@router.get("/comments", response_model=list[CommentOut], responses={404: {"description": "not a document "
                                                                           "the caller may see"}})
async def list_comments(user: CurrentUser, platform: PlatformDep,
                        document: Annotated[str, Query(min_length=1, max_length=60)]) -> Any:
    """A document's comments, oldest first."""
    rows = await platform.read(lambda s: [comment_out(c) for c in comments.visible(s, user.username, user.roles,
                                                                                  document)])
    return ok(rows)


class WebhookIn(Body):
    url: str = Field(max_length=500, description="http:// or https://")
    events: list[str] = Field(min_length=1, max_length=20, description=", ".join(notifications.EVENTS))
    secret: str = Field(max_length=200, description=f"at least {notifications.MIN_SECRET} characters: the key of "
                        "the X-Valueloop-Signature HMAC")


def webhook_out(w: Webhook) -> dict[str, Any]:
    return {"id": w.id, "url": w.url, "events": w.events, "active": w.active, "created_by": w.created_by,
            "created_at": w.created_at}


@router.post("/webhooks", status_code=201, responses={422: {"description": "not an http(s) URL, an unknown "
                                                                          "event, or a short secret"}})
async def add_webhook(body: WebhookIn, user: HookAdmin, platform: PlatformDep) -> Any:
    """Register a webhook: each event it names is posted to it as JSON, signed
    `X-Valueloop-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>`, retried until delivered."""
    w = notifications.WebhookIn(url=body.url, events=body.events, secret=body.secret)
    hook = await platform.write(lambda s: webhook_out(s.get(Webhook, notifications.add_webhook(s, user.username, w))))
    return ok(hook, 201)


@router.get("/webhooks")
async def list_webhooks(user: HookAdmin, platform: PlatformDep) -> Any:
    return ok(await platform.read(lambda s: [webhook_out(w) for w in notifications.webhooks(s)]))


@router.delete("/webhooks/{webhook_id}", status_code=204, responses={404: {"description": "no such webhook"}})
async def remove_webhook(webhook_id: Annotated[PlainInt, Path(gt=0, le=2**31 - 1)], user: HookAdmin,
                         platform: PlatformDep) -> Response:
    await platform.write(lambda s: notifications.remove_webhook(s, user.username, webhook_id))
    return Response(status_code=204)
