"""An expense claim's page: its lines, status and approvals, and its receipts (the attachments panel), for
whoever may see the claim (its requester, its approvers, finance); 404 for anyone else."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.responses import Response

from api.routes.ui.attachments import panel
from api.routes.ui.notifications import timeline
from api.routes.ui.pages import ViewerDep, not_possible, page_router, render
from domain.approvals import services as approvals
from domain.core.errors import DomainError
from domain.expenses import services as expense_svc

router = page_router()


@router.get("/requests/expense-claims/{number}")
async def claim_page(number: str, v: ViewerDep) -> Response:
    def load(s: Session) -> dict[str, Any]:
        return expense_svc.view(s, expense_svc.visible_claim(s, number, (v.user.username, v.user.roles)))
    try:
        claim = await v.platform.read(load)
    except DomainError as e:
        return await not_possible(v, e)
    sent_back = await v.platform.read(lambda s: approvals.sent_back(s, claim["process_id"]))
    return await render(v, "expense_claim.html", section="requests", claim=claim, sent_back=sent_back,
                        attachments=await panel(v, claim["number"], f"/requests/expense-claims/{claim['number']}"),
                        discussion=await timeline(v, claim["number"], f"/requests/expense-claims/{claim['number']}"))
