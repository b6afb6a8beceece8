"""The pages' side of make to stock and batch release (issue 20): the "New production order" form of the
production list (an order for stock) and the Release form of an MRP run's page (the planned orders ticked, or
all). A refusal shows the page again with the reason and creates nothing."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Form, Request
from starlette.responses import Response

from api.deps import as_actor
from api.i18n import _
from api.routes.ui.pages import PosterDep, error_status, not_possible, page_router, redirect
from api.routes.ui.production import _number, _sentence, render_mrp_run, render_production_orders
from api.starters import mrp_release
from api.starters import production_order as production_starter
from domain.core.errors import DomainError, Forbidden, Invalid
from domain.core.limits import MAX_QTY
from domain.permissions import Action

router = page_router()


@router.post("/production-orders")
async def new_stock_order(v: PosterDep, sku: Annotated[str, Form(max_length=60)] = "",
                          qty: Annotated[str, Form(max_length=40)] = "",
                          due_date: Annotated[str, Form(max_length=20)] = "") -> Response:
    form = {"sku": sku, "qty": qty, "due_date": due_date}
    try:
        if not v.user.may(Action.PRODUCTION_CREATE):
            raise Forbidden("only a planner or an admin can make a production order for stock")
        if not sku.strip():
            raise Invalid("type the item's SKU")
        amount = _number(qty, "the quantity")
        if amount is None or amount <= 0 or amount > MAX_QTY or amount != round(amount, 4):
            raise Invalid("the quantity must be a number above zero, with at most 4 decimal places")
        try:
            due = date.fromisoformat(due_date.strip())
        except ValueError:
            raise Invalid(f"the due date must be a date such as 2030-01-31, not {due_date.strip()!r}") from None
        made = await production_starter.for_stock(v.platform, as_actor(v.user), sku.strip(), amount, due)
    except DomainError as e:
        return await render_production_orders(v, code=error_status(e), new=form, error=_(
            "The production order was not made; nothing was changed. %(reason)s", reason=_sentence(e.message)))
    return redirect(f"/production-orders/{made['production_order_id']}",
                    msg=_("Production order %(number)s for stock is made: %(qty)s %(sku)s due %(due)s. It is released "
                          "once its kit is in stock.", number=made["production_order_id"], qty=qty.strip(),
                          sku=sku.strip(), due=due.isoformat()))


@router.post("/planning/mrp-runs/{number}/release")
async def release_run(number: str, v: PosterDep, request: Request) -> Response:
    """`action` all: every planned order not yet released; otherwise the ticked ones (`planned` checkboxes)."""
    form = await request.form()
    ticked = [str(x) for x in form.getlist("planned")][:1000]
    try:
        if not v.user.may(Action.MRP_RELEASE):
            raise Forbidden("only a planner or an admin can release planned orders")
        if form.get("action") != "all" and not ticked:
            raise Invalid("tick at least one planned order to release (or release all)")
        _pid, progress = await mrp_release.release_run(v.platform, as_actor(v.user), number,
                                                    None if form.get("action") == "all" else ticked)
    except DomainError as e:
        if e.kind == "not_found" and "MRP run" in e.message:
            return await not_possible(v, e)
        return await render_mrp_run(v, number, status=error_status(e), ticked=ticked, error=_(
            "Nothing was released. %(reason)s", reason=_sentence(e.message)))
    return redirect(f"/planning/mrp-runs/{number}", msg=_(
        "Release %(release)s of run %(run)s: %(total)s planned order(s) are being made into production orders and "
        "requisitions (%(made)s of %(total)s created so far).", release=progress.release_id, run=number,
        total=progress.total, made=progress.made))
