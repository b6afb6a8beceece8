"""The requester's own documents ("my requests"): expense claims and purchase requisitions with the step
each waits on, filing an expense claim, and cancelling one that is still pending."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Form
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.deps import as_actor
from api.i18n import _
from api.processes import cancellable
from api.routes.ui import form_requests
from api.routes.ui.pages import (
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    money_text,
    page_router,
    redirect,
    render,
    sentence,
)
from api.starters import expense_claim
from domain.approvals import rules as approval_rules
from domain.approvals.tables import Task
from domain.core.errors import DomainError, Invalid
from domain.core.numbers import read_number
from domain.expenses import rules as expense_rules
from domain.expenses import services as expense_svc
from domain.expenses.tables import ExpenseClaim
from domain.purchasing.tables import PurchaseRequisition

router = page_router()


async def _requests(v: Viewer, *, status: int = 200, form: dict[str, str] | None = None, **ctx: Any) -> Response:
    me = v.user.username

    def load(s: Session) -> dict[str, Any]:
        claims = list(s.execute(select(ExpenseClaim).where(ExpenseClaim.requester == me)
                                .order_by(ExpenseClaim.id.desc()).limit(100)).scalars())
        reqs = list(s.execute(select(PurchaseRequisition).where(PurchaseRequisition.requester == me)
                              .order_by(PurchaseRequisition.id.desc()).limit(100)).scalars())
        pids = [c.process_id for c in claims] + [r.process_id for r in reqs]
        waiting: dict[str, str] = {}
        for t in s.execute(select(Task).where(Task.process_id.in_(pids), Task.status == approval_rules.TaskStatus.OPEN,
                                              Task.kind.in_(("approval", "pay")))).scalars():  # pay: finance's, once approved
            who = t.assignee or t.candidate_user or (f"any {t.candidate_role}" if t.candidate_role else "")
            step = t.step_label or ("payment" if t.kind == "pay" else "approval")
            waiting[t.process_id] = f"{step}: {who}" if who else step
        return {
            "claims": [{"number": c.number, "created_at": c.created_at, "total": c.total, "currency": c.currency,
                        "status": c.status, "process_id": c.process_id,
                        "waiting": waiting.get(c.process_id) or (
                            "approval starting" if c.status == expense_rules.ClaimStatus.PENDING_APPROVAL else ""),
                        "description": "; ".join(ln.description for ln in c.lines if ln.description)}
                       for c in claims],
            "requisitions": [{"number": r.number, "created_at": r.created_at, "total": r.total, "status": r.status,
                              "justification": r.justification, "process_id": r.process_id,
                              "waiting": waiting.get(r.process_id, "")} for r in reqs],
        }

    data = await v.platform.read(load)
    data["form_requests"] = await v.platform.read(form_requests.mine, me)
    data["trips"] = await v.platform.read(form_requests.open_advances, me)
    data["leave"] = await v.platform.read(form_requests.leave_of, me)
    # Cancel is offered where the claim's process would take it, on the state it holds (its row may still say
    # pending approval of a claim the process has approved: the activity recording that is the one failing).
    pending = [{"type": "expense_claim", "process_id": c["process_id"], "business_key": c["number"], "owner": me}
               for c in data["claims"] if c["status"] in approval_rules.WITHDRAWABLE]
    offered = await cancellable(v.platform, v.user, pending)
    for c in data["claims"]:
        c["may_cancel"] = c["process_id"] in offered
    form = form or {"category": "travel", "currency": "USD", "date": date.today().isoformat()}
    return await render(v, "requests.html", status, section="requests", categories=list(
        expense_rules.CATEGORY_ACCOUNTS), form=form, **data, **ctx)


@router.get("/requests")
async def my_requests(v: ViewerDep) -> Response:
    return await _requests(v)


@router.post("/requests/expense-claims")
async def file_expense_claim(v: PosterDep, category: Annotated[str, Form(max_length=40)] = "",
                             amount: Annotated[str, Form(max_length=40)] = "",
                             currency: Annotated[str, Form(max_length=3)] = "USD",
                             date_: Annotated[str, Form(alias="date", max_length=20)] = "",
                             description: Annotated[str, Form(max_length=500)] = "",
                             trip: Annotated[str, Form(max_length=30)] = "") -> Response:
    form = {"category": category, "amount": amount, "currency": currency, "date": date_, "description": description,
            "trip": trip}
    try:
        typed = read_number(amount, "the amount")  # as a person types it: 1,250.50, １２５０．５０
    except Invalid as e:
        return await _requests(v, status=422, form=form, error=_("The claim was not filed. %(reason)s.", reason=e.message[:1].upper() + e.message[1:]))
    try:
        line = expense_rules.ExpenseLineIn.model_validate({
            "category": category, **({"amount": typed} if typed is not None else {}),
            "currency": currency.strip().upper() or "USD", "date": date_, "description": description.strip()})
    except ValidationError as e:
        return await _requests(v, status=422, form=form, error=_("The claim was not filed. %(reason)s", reason=sentence(e.errors())))
    try:
        out = await expense_claim.submit(v.platform, v.user.username, [line], trip.strip() or None)
    except DomainError as e:
        return await _requests(v, status=error_status(e), form=form, error=e.message)
    return redirect("/requests", msg=_("Expense claim %(number)s filed for %(amount)s %(currency)s; it now waits for approval.",
                                       number=out["claim_id"], amount=money_text(out["total"]), currency=line.currency))


@router.post("/requests/expense-claims/{number}/cancel")
async def cancel_expense_claim(number: str, v: PosterDep) -> Response:
    try:
        await v.platform.glance(lambda s: expense_svc.visible_claim(s, number, (v.user.username, v.user.roles)))
        await expense_claim.cancel(v.platform, as_actor(v.user), number)
    except DomainError as e:
        return await _requests(v, status=error_status(e), error=e.message)
    return redirect("/requests", msg=_("Expense claim %(number)s is cancelled.", number=number))
