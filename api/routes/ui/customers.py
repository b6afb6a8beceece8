"""Customer pages: the list (search, active / inactive / on credit hold, paging, CSV export, the default credit
limit of a customer created from a lead), a new customer, and one customer (credit limit and what is open,
terms, contacts, what happened with them newest first, lifetime revenue and margin, a link to their statement;
edit, credit limit, deactivate — refused while orders, invoices or quotations of theirs are open). A sales
order for the customer is entered from their page (prices left empty come from the price list).

Who may: customer.read to see, customer.create to add, customer.edit to change, credit_limit.edit for limits.
Every change is one domain function (domain.parties.master, domain.sales.customers) with its audit line."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Form, Query, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.i18n import _
from api.routes.ui.pages import (
    HEADERS,
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
from api.starters import change_approval, order_fulfilment
from domain import permissions
from domain.core.errors import DomainError, Forbidden, Invalid
from domain.core.numbers import read_number, read_whole
from domain.inventory.tables import Item
from domain.parties import master, prices
from domain.parties.tables import Customer
from domain.permissions import Action
from domain.sales import customers
from domain.sales import rules as sales

router = page_router()
ORDER_ROWS = 4
MAX_LINES = 50



def read_party_form(name: str, currency: str, terms: str) -> dict[str, Any]:
    """The fields a customer and a supplier share, as typed (422 with a sentence)."""
    if not name.strip():
        raise Invalid("the name is required")
    days = read_whole(terms, "the payment terms")
    return master.check_party_fields({"name": name.strip(), "currency": currency or "USD",
                                      "payment_terms_days": 30 if days is None else days})


def credit_amount(typed: str) -> Decimal:
    value = read_number(typed, "the credit limit")
    if value is None:
        raise Invalid("the credit limit is required (0 for none)")
    return value


def csv_response(rows: list[dict[str, Any]], columns: list[str], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("'" + str(v) if str(v)[:1] in "=+-@" else v) for k, v in row.items()})
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={**HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})


# --- the list ---------------------------------------------------------------------------------------

async def _list(v: Viewer, q: str = "", status: str = "all", page: int = 1, *, code: int = 200,
                **ctx: Any) -> Response:
    permissions.check(v.user.roles, Action.CUSTOMER_READ, "the customers are for sales, finance, the cfo and admin")
    if status not in customers.FILTERS:
        status = "all"
    data = await v.platform.read(lambda s: {**customers.listing(s, q, status, page),
                                            "default_credit_limit": master.settings(s).default_credit_limit})
    return await render(v, "customers.html", code, section="customers", q=q, show=status,
                        filters=customers.FILTERS, **data, **ctx)


@router.get("/customers")
async def customers_page(v: ViewerDep, q: Annotated[str, Query(max_length=100)] = "",
                         status: Annotated[str, Query(max_length=20)] = "all",
                         page: Annotated[int, Query(ge=1, le=100000)] = 1) -> Response:
    return await _list(v, q.strip(), status, page)


@router.get("/customers.csv")
async def customers_csv(v: ViewerDep) -> Response:
    permissions.check(v.user.roles, Action.CUSTOMER_READ, "the customers are for sales, finance, the cfo and admin")
    rows = await v.platform.read(customers.export_rows)
    return csv_response(rows, ["name", "currency", "credit_limit", "payment_terms_days", "active"], "customers.csv")


@router.post("/customers/default-credit-limit")
async def set_default_credit(v: PosterDep, amount: Annotated[str, Form(max_length=40)] = "") -> Response:
    permissions.check(v.user.roles, Action.CREDIT_LIMIT_EDIT, "credit limits are set by finance, the cfo or admin")
    try:
        value = credit_amount(amount)
        await v.platform.write(lambda s: master.set_default_credit_limit(s, value, v.user.username))
    except DomainError as e:
        return await _list(v, code=error_status(e), error=_("Nothing was changed: %(reason)s", reason=e.message),
                           typed_default=amount)
    return redirect("/customers", msg=_("A customer created from a lead now starts with a credit limit of "
                                        "%(amount)s.", amount=money_text(value)))


# --- a new customer ---------------------------------------------------------------------------------

async def _new(v: Viewer, *, code: int = 200, form: dict[str, str] | None = None, **ctx: Any) -> Response:
    permissions.check(v.user.roles, Action.CUSTOMER_CREATE, "customers are added by finance, a sales manager or admin")
    default = await v.platform.read(lambda s: master.settings(s).default_credit_limit)
    return await render(v, "customer_form.html", code, section="customers",
                        form=form or {"currency": "USD", "payment_terms_days": "30",
                                      "credit_limit": money_text(default)}, **ctx)


@router.get("/customers/new")
async def new_customer(v: ViewerDep) -> Response:
    return await _new(v)


@router.post("/customers")
async def create_customer(v: PosterDep, name: Annotated[str, Form(max_length=200)] = "",
                          currency: Annotated[str, Form(max_length=10)] = "",
                          payment_terms_days: Annotated[str, Form(max_length=20)] = "",
                          credit_limit: Annotated[str, Form(max_length=40)] = "") -> Response:
    form = {"name": name, "currency": currency, "payment_terms_days": payment_terms_days,
            "credit_limit": credit_limit}
    try:
        permissions.check(v.user.roles, Action.CUSTOMER_CREATE, "customers are added by finance, a sales manager or admin")
        data = read_party_form(name, currency, payment_terms_days)
        limit = credit_amount(credit_limit) if credit_limit.strip() else None
        if limit is not None and limit != 0 and not v.user.may(Action.CREDIT_LIMIT_EDIT):
            raise Forbidden("a credit limit is set by finance, the cfo or admin: leave it at 0")

        if limit is not None:
            master.check_credit(limit)
        cid = await v.platform.write(lambda s: master.create_party(s, Customer, data, v.user.username).id)
    except DomainError as e:
        return await _new(v, code=error_status(e), form=form,
                          error=_("The customer was not saved: %(reason)s", reason=e.message))
    if limit:
        try:
            done = await change_approval.set_credit_limit(v.platform, v.user.username, cid, limit)
        except DomainError as e:
            return redirect(f"/customers/{cid}", error=_("Customer %(name)s is saved, but not its credit limit: "
                                                         "%(reason)s", name=data["name"], reason=e.message))
        if done.get("status") != "applied":
            return redirect(f"/customers/{cid}", msg=_("Customer %(name)s is saved. Its credit limit of %(amount)s "
                                                       "waits for a second approval.", name=data["name"],
                                                       amount=money_text(limit)))
    return redirect(f"/customers/{cid}", msg=_("Customer %(name)s is saved.", name=data["name"]))


# --- one customer -----------------------------------------------------------------------------------

async def _customer(v: Viewer, cid: int, *, code: int = 200, form: dict[str, str] | None = None,
                    **ctx: Any) -> Response:
    try:
        permissions.check(v.user.roles, Action.CUSTOMER_READ, "the customers are for sales, finance, the cfo and admin")
        data = await v.platform.read(lambda s: customers.page(s, cid, (v.user.username, v.user.roles)))
    except DomainError as e:
        return await not_possible(v, e)
    c = data["customer"]
    base = {"name": c["name"], "currency": c["currency"], "payment_terms_days": str(c["payment_terms_days"]),
            "credit_limit": money_text(c["credit_limit"])}
    return await render(v, "customer.html", code, section="customers", form={**base, **(form or {})},
                        contact_form=ctx.pop("contact_form", {}), **data, **ctx)


@router.get("/customers/{cid}")
async def customer_page(cid: int, v: ViewerDep) -> Response:
    return await _customer(v, cid)


@router.post("/customers/{cid}")
async def edit_customer(cid: int, v: PosterDep, name: Annotated[str, Form(max_length=200)] = "",
                        currency: Annotated[str, Form(max_length=10)] = "",
                        payment_terms_days: Annotated[str, Form(max_length=20)] = "") -> Response:
    form = {"name": name, "currency": currency, "payment_terms_days": payment_terms_days}
    try:
        permissions.check(v.user.roles, Action.CUSTOMER_EDIT, "customers are changed by finance, a sales manager or admin")
        data = read_party_form(name, currency, payment_terms_days)
        await v.platform.write(lambda s: master.update_party(s, master.customer(s, cid), data, v.user.username))
    except DomainError as e:
        return await _customer(v, cid, code=error_status(e), form=form,
                               error=_("Nothing was changed: %(reason)s", reason=e.message))
    return redirect(f"/customers/{cid}", msg=_("Customer %(name)s is saved.", name=data["name"]))


@router.post("/customers/{cid}/credit-limit")
async def credit_limit(cid: int, v: PosterDep, credit_limit: Annotated[str, Form(max_length=40)] = "") -> Response:
    try:
        permissions.check(v.user.roles, Action.CREDIT_LIMIT_EDIT, "credit limits are set by finance, the cfo or admin")
        amount = credit_amount(credit_limit)
        master.check_credit(amount)
        # At or under the threshold (or lowered) it is stored now; above it a second admin or the cfo approves.
        done = await change_approval.set_credit_limit(v.platform, v.user.username, cid, amount)
    except DomainError as e:
        return await _customer(v, cid, code=error_status(e), form={"credit_limit": credit_limit},
                               error=_("The credit limit was not changed: %(reason)s", reason=e.message))
    if done.get("status") != "applied":
        return redirect(f"/customers/{cid}", msg=_("The new credit limit of %(amount)s waits for a second approval.",
                                                   amount=money_text(amount)))
    return redirect(f"/customers/{cid}", msg=_("The credit limit is now %(amount)s.", amount=money_text(amount)))


@router.post("/customers/{cid}/deactivate")
async def deactivate(cid: int, v: PosterDep) -> Response:
    try:
        permissions.check(v.user.roles, Action.CUSTOMER_EDIT, "customers are changed by finance, a sales manager or admin")
        await v.platform.write(lambda s: customers.deactivate(s, cid, v.user.username))
    except DomainError as e:
        return await _customer(v, cid, code=error_status(e),
                               error=_("The customer was not deactivated: %(reason)s", reason=e.message))
    return redirect(f"/customers/{cid}", msg=_("The customer is deactivated."))


@router.post("/customers/{cid}/reactivate")
async def reactivate(cid: int, v: PosterDep) -> Response:
    try:
        permissions.check(v.user.roles, Action.CUSTOMER_EDIT, "customers are changed by finance, a sales manager or admin")
        await v.platform.write(lambda s: customers.reactivate(s, cid, v.user.username))
    except DomainError as e:
        return await _customer(v, cid, code=error_status(e), error=e.message)
    return redirect(f"/customers/{cid}", msg=_("The customer is active again."))


@router.post("/customers/{cid}/contacts")
async def add_contact(cid: int, v: PosterDep, name: Annotated[str, Form(max_length=200)] = "",
                      email: Annotated[str, Form(max_length=254)] = "",
                      phone: Annotated[str, Form(max_length=40)] = "") -> Response:
    try:
        permissions.check(v.user.roles, Action.CUSTOMER_EDIT, "customers are changed by finance, a sales manager or admin")
        await v.platform.write(lambda s: customers.add_contact(s, cid, name, email, phone, v.user.username))
    except DomainError as e:
        return await _customer(v, cid, code=error_status(e),
                               contact_form={"name": name, "email": email, "phone": phone},
                               error=_("The contact was not added: %(reason)s", reason=e.message))
    return redirect(f"/customers/{cid}", msg=_("Contact %(name)s is added.", name=name.strip()))


@router.post("/customers/{cid}/contacts/{contact_id}/delete")
async def remove_contact(cid: int, contact_id: int, v: PosterDep) -> Response:
    try:
        permissions.check(v.user.roles, Action.CUSTOMER_EDIT, "customers are changed by finance, a sales manager or admin")
        await v.platform.write(lambda s: customers.remove_contact(s, cid, contact_id, v.user.username))
    except DomainError as e:
        return await _customer(v, cid, code=error_status(e), error=e.message)
    return redirect(f"/customers/{cid}", msg=_("The contact is removed."))


# --- a sales order for the customer -------------------------------------------------------------------

def order_lines(skus: list[str], qtys: list[str], typed_prices: list[str],
                listed: dict[str, Decimal]) -> list[sales.OrderLineIn]:
    """The form's rows as order lines; a row's empty unit price is the price list's (refused, naming the row, when
    the item has none)."""
    lines = []
    for i in range(max(len(skus), len(qtys), len(typed_prices))):
        sku, qty, price = [(col[i] if i < len(col) else "").strip() for col in (skus, qtys, typed_prices)]
        if not (sku or qty or price):
            continue
        row = f"line {i + 1}"
        if not sku or not qty:
            raise Invalid(f"{row}: the SKU and the quantity are required")
        unit = read_number(price, f"{row}: the unit price")
        if unit is None:
            unit = listed.get(sku)
            if unit is None:
                raise Invalid(f"{row}: {sku} has no price on the price list for this customer: type the unit price")
        quantity = read_number(qty, f"{row}: the quantity")
        try:
            lines.append(sales.OrderLineIn(sku=sku, qty=quantity, unit_price=unit))
        except ValidationError as e:
            raise Invalid(f"{row}: " + "; ".join(str(x.get("msg", "")) for x in e.errors()[:2])) from None
    if not lines:
        raise Invalid("an order needs at least one line: fill in the SKU and the quantity")
    if len(lines) > MAX_LINES:
        raise Invalid(f"an order from this form has at most {MAX_LINES} lines")
    return lines


async def _order_form(v: Viewer, cid: int, *, code: int = 200, form: dict[str, Any] | None = None,
                      **ctx: Any) -> Response:
    def load(s: Session) -> dict[str, Any]:
        c = master.customer(s, cid)
        items = s.execute(select(Item.sku, Item.name).order_by(Item.sku)
                          .limit(500)).all()
        listed = prices.list_prices(s, [i.sku for i in items], c.id)
        return {"customer": customers.row_view(c),
                "items": [{"sku": i.sku, "name": i.name, "price": listed.get(i.sku)} for i in items]}

    try:
        permissions.check(v.user.roles, Action.SALES_ORDER_CREATE, "sales orders are entered by sales, a sales manager or admin")
        data = await v.platform.read(load)
    except DomainError as e:
        return await not_possible(v, e)
    rows = (form or {}).get("lines") or []
    rows = rows + [{}] * max(ORDER_ROWS - len(rows), 1 if not rows else 0)
    return await render(v, "customer_order.html", code, section="customers",
                        form={**(form or {}), "lines": rows}, **data, **ctx)


@router.get("/new-sales-order")
async def pick_customer(v: ViewerDep, customer_id: Annotated[str, Query(max_length=12)] = "") -> Response:
    """A new sales order starts with its customer: chosen here (active customers), then the customer's order form."""
    permissions.check(v.user.roles, Action.SALES_ORDER_CREATE, "sales orders are entered by sales, a sales manager or admin")
    try:
        cid = read_whole(customer_id, "the customer")
    except Invalid:
        cid = None
    if cid is not None:
        return redirect(f"/customers/{cid}/orders/new")
    rows = await v.platform.read(lambda s: [{"id": i, "name": n} for i, n in s.execute(
        select(Customer.id, Customer.name).where(Customer.active.is_(True)).order_by(Customer.name).limit(1000))])
    return await render(v, "customer_pick.html", section="orders", customers=rows)


@router.get("/customers/{cid}/orders/new")
async def new_order(cid: int, v: ViewerDep) -> Response:
    return await _order_form(v, cid)


@router.post("/customers/{cid}/orders")
async def create_order(cid: int, request: Request, v: PosterDep) -> Response:
    raw = await request.form()

    def col(name: str) -> list[str]:
        return [str(x)[:100] for x in raw.getlist(name)][:MAX_LINES + 1]

    skus, qtys, typed = col("sku"), col("qty"), col("unit_price")
    form = {"lines": [{"sku": s, "qty": q, "unit_price": p} for s, q, p in zip(skus, qtys, typed, strict=False)
                      if s or q or p]}
    try:
        permissions.check(v.user.roles, Action.SALES_ORDER_CREATE, "sales orders are entered by sales, a sales manager or admin")

        def priced(s: Session) -> dict[str, Decimal]:
            c = master.customer(s, cid)
            if not c.active:
                raise Invalid(f"{c.name} is inactive: reactivate the customer before taking an order")
            return prices.list_prices(s, skus, c.id)

        lines = order_lines(skus, qtys, typed, await v.platform.read(priced))
        out = await order_fulfilment.create(v.platform, v.user.username, cid, lines, None)
    except DomainError as e:
        return await _order_form(v, cid, code=error_status(e), form=form,
                                 error=_("The order was not created: %(reason)s", reason=e.message))
    number = out.get("sales_order_id") or out.get("id") or ""
    return redirect(f"/sales-orders/{number}" if number else f"/customers/{cid}",
                    msg=_("Sales order %(number)s is created.", number=number))
