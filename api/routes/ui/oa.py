"""The OA approval actions from the pages (issue 19): send back, add approver, copy to (the approver's task page),
resubmit (the requester's "resubmit" task) and urge (the requester's document pages). Each goes through the same
Approval Update as the API; a refusal shows the page again with the reason, and nothing is recorded."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Form
from starlette.responses import Response

from api.deps import as_actor
from api.i18n import _
from api.processes import visible_process
from api.routes.ui.inbox import _refused
from api.routes.ui.pages import PosterDep, page_router, redirect, safe_next
from api.starters import approval
from domain.core.errors import DomainError, Invalid

router = page_router()

Text = Annotated[str, Form(max_length=2000)]
Name = Annotated[str, Form(max_length=60)]


@router.post("/inbox/{task_id}/send-back")
async def send_back(task_id: str, v: PosterDep, comment: Text = "") -> Response:
    try:
        task = await approval.send_back(v.platform, as_actor(v.user), task_id, comment.strip())
    except DomainError as e:
        return await _refused(v, task_id, "task", e)
    return redirect("/inbox", msg=_("Sent back to %(requester)s: %(title)s", requester=task.requester,
                                    title=task.title))


@router.post("/inbox/{task_id}/add-approver")
async def add_approver(task_id: str, v: PosterDep, username: Name = "", position: Name = "after",
                       comment: Text = "") -> Response:
    try:
        if not username.strip():
            raise Invalid("name the user to add as an approver")
        task = await approval.add_approver(v.platform, as_actor(v.user), task_id, username.strip(), position,
                                           comment.strip())
    except DomainError as e:
        return await _refused(v, task_id, "task", e)
    if position == "before":
        return redirect("/inbox", msg=_("%(who)s decides first; the task comes back to you afterwards.",
                                        who=username.strip()))
    return redirect(f"/tasks/{task.id}", msg=_("%(who)s approves after you.", who=username.strip()))


@router.post("/inbox/{task_id}/copy-to")
async def copy_to(task_id: str, v: PosterDep, usernames: Annotated[str, Form(max_length=1000)] = "") -> Response:
    names = [u for u in re.split(r"[\s,;，、]+", usernames) if u]
    try:
        if not names:
            raise Invalid("name at least one user to copy to")
        added = await approval.copy_to(v.platform, as_actor(v.user), task_id, names)
    except DomainError as e:
        return await _refused(v, task_id, "task", e)
    return redirect(f"/tasks/{task_id}", msg=_("Copied to %(names)s.", names=", ".join(added)))


@router.post("/inbox/{task_id}/resubmit")
async def resubmit(task_id: str, v: PosterDep, comment: Text = "") -> Response:
    try:
        task = await approval.resubmit(v.platform, as_actor(v.user), task_id, comment.strip())
    except DomainError as e:
        return await _refused(v, task_id, "task", e)
    return redirect("/inbox", msg=_("Resubmitted: %(title)s", title=task.title))


@router.post("/processes/{process_id:path}/urge")
async def urge(process_id: str, v: PosterDep, back: Annotated[str, Form(max_length=300)] = "/requests") -> Response:
    """催办 from a document page: back to it with what happened (a refusal's sentence as the error)."""
    where = safe_next(back.strip()) or "/requests"  # "/\\evil.example" is another site to a browser
    try:
        await v.platform.glance(lambda s: visible_process(s, v.user, process_id))
        await approval.urge(v.platform, as_actor(v.user), process_id)
    except DomainError as e:
        return redirect(where, error=e.message)
    return redirect(where, msg=_("Urged: the approvers were reminded."))
