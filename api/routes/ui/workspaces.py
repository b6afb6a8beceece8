"""Where each user lands (`/` sends them to their own work: an employee to the inbox's "My tasks", a buyer to
purchasing, the warehouse to its goods in and out, finance to finance, a planner to planning, sales to the pipeline,
approvers to their inbox, admin to the back office's home), the admin home's links, and finance's Pay of an approved
expense claim (the claim's Pay task in the inbox, through the claim process's own pay Update)."""

from __future__ import annotations

from collections.abc import Collection

from starlette.responses import Response

from api.deps import as_actor
from api.i18n import _
from api.routes.ui.pages import PosterDep, ViewerDep, not_possible, page_router, redirect, render
from api.starters import expense_claim
from domain import permissions
from domain.core.errors import DomainError, Forbidden
from domain.expenses import services as expenses
from domain.permissions import Action

router = page_router()

MY_TASKS = "/inbox?view=mine"  # an employee's own work: the tasks named for them (api/routes/ui/inbox.py VIEW_LABELS)


def landing(roles: Collection[str]) -> str:
    """The page a user with `roles` starts on."""
    return next((path for role, path in permissions.LANDINGS if role in roles), MY_TASKS)


@router.get("/admin")
async def admin_home(v: ViewerDep) -> Response:
    if not v.user.may(Action.USER_CREATE):
        return await not_possible(v, Forbidden(_("the back office is for admin")))
    return await render(v, "workspace_admin.html", section="admin")


@router.post("/expense-claims/{number}/pay")
async def pay_claim(number: str, v: PosterDep) -> Response:
    """Finance pays an approved claim (the Pay task's button): the claim process's pay Update, as the API's."""
    number = number[:30]
    try:
        await v.platform.glance(lambda s: expenses.visible_claim(s, number, (v.user.username, v.user.roles)))
        await expense_claim.pay(v.platform, as_actor(v.user), number)
    except DomainError as e:
        return await not_possible(v, e)
    return redirect("/inbox", msg=_("Expense claim %(n)s is paid.", n=number))
