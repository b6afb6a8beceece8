"""The attachments panel's upload form: a file posted (multipart) from a document's page, attached to that
document, and back to the page with a message (or the reason it was refused: too large, a type not accepted)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import Response

from api import attachments
from api.i18n import _
from api.routes.ui.pages import PosterDep, Viewer, page_router, redirect, safe_next
from domain.approvals import access
from domain.attachments import services
from domain.core.errors import DomainError
from domain.permissions import Action

router = page_router()


async def panel(v: Viewer, document: str, back: str) -> dict[str, Any]:
    """What a document page passes to attachments_macros.attachments_panel (the page has checked the viewer may
    see the document): {document, files (also as items), may_upload, csrf, back}; the template shows it with
    {% import "attachments_macros.html" as att %}{{ att.panel(attachments) }}."""
    items = await v.platform.read(services.for_document, document)
    may = v.user.may(Action.ATTACHMENT_UPLOAD)
    return {"document": document, "files": items, "items": items, "may_upload": may, "csrf": v.csrf, "back": back}


async def visible_panel(v: Viewer, document: str, back: str) -> dict[str, Any] | None:
    """The panel of `document` when the viewer may see it (a task's page: the document the task is on), else None."""
    if not document or not await v.platform.read(access.may_see_document, v.user.username, v.user.roles, document):
        return None
    return await panel(v, document, back)


@router.post("/attachments/upload")
async def upload(v: PosterDep) -> Response:
    assert v.request is not None
    form = await v.request.form()  # parsed already by the CSRF check: the file is spooled, bounded by BodyLimit
    document, back, file = form.get("document"), form.get("back"), form.get("file")
    to = safe_next(back if isinstance(back, str) else "") or "/"
    if not isinstance(document, str) or not document.strip():
        return redirect(to, error=_("Say which document the file is for."))
    if not isinstance(file, UploadFile) or not file.filename:
        return redirect(to, error=_("Choose a file to attach."))
    try:
        a = await attachments.upload(v.platform, v.settings, v.user, file, document)
    except DomainError as e:
        return redirect(to, error=_("The file was not attached: %(reason)s", reason=e.message))
    return redirect(to + "#attachments", msg=_("%(file)s is attached to %(document)s.", file=a["filename"],
                                               document=a["document"]))
