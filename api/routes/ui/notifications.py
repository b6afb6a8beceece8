"""Pages: a comment posted from any document's or task's timeline (back to that page), and admin's webhooks
(register, remove, and the deliveries still not made after a day)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import Form, Path
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.i18n import _
from api.routes.ui import attachments as attachment_pages
from api.routes.ui.pages import (
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    page_router,
    redirect,
    render,
    safe_next,
)
from domain import permissions
from domain.approvals import access
from domain.comments import services as comments
from domain.comments.tables import MAX_TEXT
from domain.core.errors import DomainError, Invalid
from domain.notifications import services as notifications
from domain.permissions import Action

router = page_router()


async def timeline(v: Viewer, document: str, back: str) -> dict[str, Any]:
    """What a document page passes to comments_macros.comments_timeline (the page has checked the viewer may see
    the document): {document, comments, csrf, back}."""
    return {"document": document, "comments": await v.platform.read(comments.for_document, document),
            "csrf": v.csrf, "back": back}


async def document_panels(v: Viewer, document: str, back: str) -> dict[str, Any] | None:
    """A document page's attachments panel and comments timeline, for a viewer who may see the document as
    access.may_see_document judges it (what the upload and the comment ask too); None otherwise, and the page shows
    neither. The template: {% include "document_panels.html" %} with this as `panels`."""
    if not document or not await v.platform.read(access.may_see_document, v.user.username, v.user.roles, document):
        return None
    return {"attachments": await attachment_pages.panel(v, document, back),
            "discussion": await timeline(v, document, back)}


@router.post("/comments")
async def post_comment(v: PosterDep, document: Annotated[str, Form(max_length=60)] = "",
                       text: Annotated[str, Form(max_length=MAX_TEXT)] = "",
                       back: Annotated[str, Form(max_length=300)] = "") -> Response:
    where = safe_next(back.strip()) or "/inbox"
    try:
        row = await v.platform.write(lambda s: comments.add(s, v.user.username, v.user.roles, document, text))
    except DomainError as e:
        return redirect(where, error=_("The comment was not posted: %(reason)s", reason=e.message))
    told = ", ".join(row.mentions)
    where += "#comments" if "#" not in where else ""
    return redirect(where, msg=_("Comment posted; %(names)s told.", names=told) if told else _("Comment posted."))


async def _page(v: Viewer, status: int = 200, **ctx: Any) -> Response:
    permissions.check(v.user.roles, Action.WEBHOOK_MANAGE, _("the webhooks are admin's"))

    def load(s: Session) -> dict[str, Any]:
        return {"hooks": notifications.webhooks(s),
                "undelivered": notifications.undelivered(s, timedelta(days=1))}

    return await render(v, "webhooks.html", status, section="admin", events=notifications.EVENTS,
                        min_secret=notifications.MIN_SECRET, **await v.platform.read(load), **ctx)


@router.get("/webhooks")
async def webhooks_page(v: ViewerDep) -> Response:
    return await _page(v)


@router.post("/webhooks")
async def add_webhook(v: PosterDep, url: Annotated[str, Form(max_length=500)] = "",
                      events: Annotated[list[str] | None, Form(max_length=20)] = None,
                      secret: Annotated[str, Form(max_length=200)] = "") -> Response:
    try:
        permissions.check(v.user.roles, Action.WEBHOOK_MANAGE, _("the webhooks are admin's"))
        w = notifications.WebhookIn.model_construct(url=url, events=events or [], secret=secret)
        if not w.events:
            raise Invalid("choose at least one event")
        hook_id = await v.platform.write(lambda s: notifications.add_webhook(s, v.user.username, w))
    except DomainError as e:
        return await _page(v, error_status(e), error=e.message, form={"url": url, "events": events or []})
    return redirect("/webhooks", msg=_("Webhook %(id)s registered.", id=str(hook_id)))


@router.post("/webhooks/{webhook_id}/delete")
async def remove_webhook(webhook_id: Annotated[int, Path(gt=0, le=2**31 - 1)], v: PosterDep) -> Response:
    try:
        permissions.check(v.user.roles, Action.WEBHOOK_MANAGE, _("the webhooks are admin's"))
        await v.platform.write(lambda s: notifications.remove_webhook(s, v.user.username, webhook_id))
    except DomainError as e:
        return await _page(v, error_status(e), error=e.message)
    return redirect("/webhooks", msg=_("Webhook %(id)s removed: nothing more is posted to it.", id=str(webhook_id)))
