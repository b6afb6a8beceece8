"""The quotation pages: a new quotation from the opportunity page's line rows, and a quotation with its
lines, totals, margin at standard cost, the customer's credit, its approvals and the customer's answer.
Every change goes to the quotation's process through the platform; a refusal shows the page again with
the reason and changes nothing. Who sees a quotation is the JSON API's rule; anyone else gets a 404."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Form, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.deps import as_actor
from api.i18n import _, label
from api.routes.ui.crm import (
    LINE_FIELDS,
    MAX_LINES,
    form_errors,
    may_quote,
    render_opportunity,
)
from api.routes.ui.inbox import task_row
from api.routes.ui.notifications import document_panels
from api.routes.ui.pages import (
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    money_text,
    not_possible,
    page_router,
    redirect,
    render,
)
from api.starters import quotation
from domain.approvals import services as approvals
from domain.approvals.rules import TaskStatus
from domain.approvals.tables import Task
from domain.core.errors import DomainError, Forbidden, Invalid
from domain.core.numbers import read_number, read_whole
from domain.core.types import utcnow
from domain.crm.tables import Opportunity
from domain.parties import prices as price_list
from domain.parties.tables import Customer
from domain.sales import rules as sales
from domain.sales import services as sales_svc
from domain.sales.tables import SalesOrder

router = page_router()


def _number(text: str, what: str) -> Decimal:
    """A number as typed (domain.numbers.read_number: 1,250.50 or １２５０．５０), required."""
    value = read_number(text, what)
    if value is None:
        raise Invalid(f"{what} is missing")
    return value


def quotation_lines(skus: list[str], qtys: list[str], prices: list[str],
                    discounts: list[str], listed: Mapping[str, Decimal] | None = None) -> list[sales.QuotationLineIn]:
    """The form's line rows as quotation lines; a wholly empty row is skipped, anything else must be a
    complete, valid line (Invalid names the row and the field). A unit price left empty is the price list's
    (`listed`: SKU → the customer's list price, domain.parties.prices.list_prices)."""
    n = max(len(skus), len(qtys), len(prices), len(discounts))
    if n > MAX_LINES:
        raise Invalid(f"a quotation from this form has at most {MAX_LINES} lines")
    lines = []
    for i in range(n):
        cells = [(col[i] if i < len(col) else "").strip() for col in (skus, qtys, prices, discounts)]
        if not any(cells):
            continue
        sku, qty, price, discount = cells
        row = f"Line {i + 1}"
        if not price and sku and (listed or {}).get(sku) is not None:
            price = str((listed or {})[sku])  # left empty: the price list's
        missing = [name for name, cell in zip(("SKU", "quantity", "unit price"), (sku, qty, price), strict=True)
                   if not cell]
        if missing == ["unit price"]:
            raise Invalid(f"{row}: the unit price is missing, and {sku} has no price on the price list for this "
                          "customer")
        if missing:
            raise Invalid(f"{row}: the {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing")
        try:
            lines.append(sales.QuotationLineIn(sku=sku, qty=_number(qty, "the quantity"),
                                               unit_price=_number(price, "the unit price"),
                                               discount_pct=_number(discount, "the discount") if discount else 0))
        except ValidationError as e:
            msg = form_errors(e, LINE_FIELDS)
            raise Invalid(f"{row}: {msg[:1].lower()}{msg[1:]}") from None
        except Invalid as e:
            raise Invalid(f"{row}: {e.message}") from None
    if not lines:
        raise Invalid("a quotation needs at least one line: fill in the SKU, quantity and unit price")
    return lines


def _valid_days(typed: str) -> int:
    """The days a quotation is valid, as typed in the form: a whole number from 1 to 365 (full-width digits read)."""
    try:
        days = read_whole(typed, "the days")
    except Invalid:
        days = None
    if days is None or not 1 <= days <= 365:
        raise Invalid("a quotation is valid for 1 to 365 days: give a whole number of days")
    return days


def _requested(typed: str) -> date | None:
    """The customer's requested date as the form's date field sends it (YYYY-MM-DD); empty: none."""
    if not typed:
        return None
    try:
        return date.fromisoformat(typed)
    except ValueError:
        raise Invalid(f"the requested date {typed!r} is not a date: give it as YYYY-MM-DD") from None


@router.post("/opportunities/{number}/quotations")
async def create_quotation(number: str, request: Request, v: PosterDep) -> Response:
    raw = await request.form()

    def col(name: str) -> list[str]:
        return [str(x)[:100] for x in raw.getlist(name)][:MAX_LINES + 1]

    skus, qtys, prices, discounts = col("sku"), col("qty"), col("unit_price"), col("discount_pct")
    valid_days, tax_rate = str(raw.get("valid_days", ""))[:10].strip(), str(raw.get("tax_rate", ""))[:10].strip()
    requested = str(raw.get("requested_date", ""))[:20].strip()
    form = {"valid_days": valid_days, "tax_rate": tax_rate, "requested_date": requested,
            "lines": [{"sku": s, "qty": q, "unit_price": p, "discount_pct": d}
                      for s, q, p, d in zip(skus, qtys, prices, discounts, strict=False) if s or q or p or d]}
    try:
        may = await v.platform.read(lambda s: (sales_svc.visible_opportunity(s, number, (v.user.username, v.user.roles)),
                                               may_quote(s, v.user, number))[1])
    except DomainError as e:
        return await not_possible(v, e)
    try:
        if not may:
            raise Forbidden("only the opportunity's salesperson, their manager or an admin can quote on it")
        listed = await v.platform.read(lambda s: price_list.list_prices(
            s, skus, sales_svc.opportunity(s, number).customer_id))
        lines = quotation_lines(skus, qtys, prices, discounts, listed)
        days = _valid_days(valid_days)
        tax = _number(tax_rate or "0", "the tax rate")
        if not 0 <= tax <= 100 or tax != round(tax, 2):
            raise Invalid("the tax rate is a percentage from 0 to 100, with at most two decimals")
        out = await quotation.create(v.platform, v.user.username, number, lines, days, tax, _requested(requested))
    except DomainError as e:
        return await render_opportunity(v, number, status=error_status(e), form=form,
                                  error=_("The quotation was not created. %(reason)s", reason=e.message))
    facts = {"number": out["quotation_id"], "total": money_text(out["total"])}
    msg = (_("Quotation %(number)s of %(total)s is created. A line ships after the requested date, so it waits for the "
             "sales manager's approval before it goes to the customer.", **facts)
           if out["status"] == sales.QuotationStatus.PENDING_APPROVAL and out.get("late") else
           _("Quotation %(number)s of %(total)s is created. It waits for the sales manager's approval of the discount "
             "before it goes to the customer.", **facts)
           if out["status"] == sales.QuotationStatus.PENDING_APPROVAL else
           _("Quotation %(number)s of %(total)s is created. It is sent to the customer.", **facts))
    return redirect(f"/quotations/{out['quotation_id']}", msg=msg)


# --- a quotation ------------------------------------------------------------------------------------

async def render_quotation(v: Viewer, number: str, *, status: int = 200, **ctx: Any) -> Response:
    now = utcnow()

    def load(s: Session) -> dict[str, Any]:
        q = sales_svc.visible_quotation(s, number, (v.user.username, v.user.roles))
        opp = s.get(Opportunity, q.opportunity_id)
        customer = s.get(Customer, q.customer_id)
        order = s.execute(select(SalesOrder).where(SalesOrder.number == q.sales_order_number)
                          ).scalar_one_or_none() if q.sales_order_number else None
        tasks = s.execute(select(Task).where(Task.process_id == q.process_id, Task.status == TaskStatus.OPEN)
                          .order_by(Task.created_at).limit(20)).scalars()
        return {"q": sales_svc.quotation_view(s, q), "margin": sales_svc.margin(s, q),
                "credit": sales_svc.credit_position(s, q.customer_id, q.total, excluding=q.sales_order_number,
                                                    excluding_quotation=q.number),
                "customer": customer.name if customer else "", "opp_name": opp.name if opp else "",
                "owner": opp.owner if opp else q.created_by,
                "order": {"number": order.number, "status": order.status, "process_id": order.process_id,
                          "total": order.total} if order else None,
                "trail": approvals.trail(s, q.process_id), "open_tasks": [task_row(t, now) for t in tasks]}

    try:
        data = await v.platform.read(load)
    except DomainError as e:
        return await not_possible(v, e)
    # The Quotation process's own rule (sales.may_answer): the salesperson or quotation.answer_any, on a quotation
    # sent and still valid today.
    may_answer = sales.may_answer(as_actor(v.user), data["owner"], data["q"]["status"], data["q"]["valid_until"],
                                  now.date())
    return await render(v, "quotation.html", status, section="sales", may_answer=may_answer,
                        panels=await document_panels(v, number, f"/quotations/{number}"), **data, **ctx)


@router.get("/quotations/{number}")
async def quotation_page(number: str, v: ViewerDep) -> Response:
    return await render_quotation(v, number)


@router.post("/quotations/{number}/answer")
async def answer(number: str, v: PosterDep, answer: Annotated[str, Form(max_length=10)] = "",
                 reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    try:
        await v.platform.glance(lambda s: sales_svc.visible_quotation(s, number, (v.user.username, v.user.roles)))
    except DomainError as e:
        return await not_possible(v, e)
    if answer not in ("accept", "reject"):
        return await render_quotation(v, number, status=422, error=_("Record either the customer's acceptance or their "
                                                                "rejection. Nothing was changed."))
    if answer == "reject" and not reason.strip():
        return await render_quotation(v, number, status=422, error=_("Say why the customer rejected the quotation. Nothing "
                                                                "was changed."))
    try:
        out = await quotation.answer(v.platform, as_actor(v.user), number, accept=answer == "accept",
                                                reason=reason.strip())
    except DomainError as e:
        return await render_quotation(v, number, status=error_status(e), error=e.message)
    msg = {"accepted": _("The customer accepted quotation %(number)s: sales order %(order)s is created.",
                         number=number, order=out.sales_order_id),
           "pending_credit_approval": _("The customer accepted quotation %(number)s. The order takes the customer over "
                                        "their credit limit, so it waits for finance's approval.", number=number),
           "rejected": _("The customer's rejection of quotation %(number)s is recorded.", number=number)}
    return redirect(f"/quotations/{number}", msg=msg.get(out.status, _("Quotation %(number)s is %(status)s.",
                                                                       number=number, status=label(out.status))))
